#pragma once

#include <chrono>
#include <string>

#include <caf/timespan.hpp>

namespace tao::net {

/// Lowest TLS protocol version a connection accepts.
enum class tls_version {
  /// TLS 1.2 (the default floor; TLS 1.3 is negotiated whenever both sides
  /// have it).
  v1_2,
  /// TLS 1.3 only.
  v1_3,
};

/// Whether a TLS server asks its clients for a certificate (mutual TLS).
enum class tls_client_auth {
  /// No client certificate is requested.
  none,
  /// A client certificate is requested and verified if sent; clients
  /// without one are still served.
  optional,
  /// Clients must present a certificate that verifies against `ca_file` /
  /// `ca_path`; the handshake fails otherwise.
  required,
};

/// TLS settings of a server or client (Tao's `TLSCredsOption`). Plain values:
/// copy them freely. Files are read when the server or client starts (and
/// when a server reloads its certificates), never per connection.
struct tls_options {
  /// Turns TLS on. Everything else is ignored while this is false.
  bool enabled = false;

  /// PEM file with our certificate, followed by its intermediates. Required
  /// on servers; on clients only for mutual TLS.
  std::string certificate_file;

  /// PEM file with the private key of `certificate_file`.
  std::string private_key_file;

  /// PEM file with the certificates we trust to sign the peer's certificate.
  std::string ca_file;

  /// Directory of hashed CA certificates (`openssl rehash`), in addition to
  /// `ca_file`.
  std::string ca_path;

  /// Clients: verify the server's certificate chain (and, with
  /// `verify_hostname`, its name). On by default; turning it off makes the
  /// connection encrypted but unauthenticated. Ignored by servers (see
  /// `client_auth`). Without `ca_file` and `ca_path` the system's default
  /// trust store is used.
  bool verify_peer = true;

  /// Clients: check that the server's certificate names `server_name` (DNS
  /// name or IP address in its subjectAltName).
  bool verify_hostname = true;

  /// Clients: the name sent as SNI and checked against the certificate.
  /// Empty means the host the client connects to.
  std::string server_name;

  /// Servers: client certificates (mutual TLS).
  tls_client_auth client_auth = tls_client_auth::none;

  /// Lowest protocol version accepted.
  tls_version min_version = tls_version::v1_2;

  /// OpenSSL cipher list for TLS 1.2 (`SSL_CTX_set_cipher_list`); empty keeps
  /// OpenSSL's default.
  std::string cipher_list;

  /// OpenSSL cipher suites for TLS 1.3 (`SSL_CTX_set_ciphersuites`); empty
  /// keeps OpenSSL's default.
  std::string ciphersuites;

  /// A connection whose handshake did not complete within this time is
  /// closed with `errc::tls_failure` (against peers that never speak).
  caf::timespan handshake_timeout = std::chrono::seconds(10);
};

} // namespace tao::net
