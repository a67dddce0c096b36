#pragma once

// The TLS flags shared by the example programs:
//   servers: --tls-cert=FILE --tls-key=FILE [--tls-ca=FILE --tls-verify-clients]
//   clients: --tls [--tls-ca=FILE] [--tls-cert=FILE --tls-key=FILE]
//            [--tls-server-name=NAME] [--tls-insecure]
// Giving any of --tls-cert, --tls-key or --tls-ca turns TLS on.

#include <string>

#include <caf/config_option_adder.hpp>

#include "tao/options.hpp"

namespace tao::examples {

/// TLS command-line flags of an example program; plain values read by CAF's
/// option parser.
struct tls_flags {
  /// Turn TLS on (clients; implied by the other flags).
  bool tls = false;
  /// Our certificate chain (PEM).
  std::string cert;
  /// Our private key (PEM).
  std::string key;
  /// CA certificates to trust (PEM).
  std::string ca;
  /// Clients: name to send as SNI and to verify.
  std::string server_name;
  /// Servers: require client certificates signed by --tls-ca.
  bool verify_clients = false;
  /// Clients: skip certificate verification (testing only).
  bool insecure = false;

  /// Adds the server flags to `group`.
  void add_server_flags(caf::config_option_adder& group) {
    group.add(cert, "tls-cert", "serve TLS with this certificate chain (PEM)")
      .add(key, "tls-key", "private key of --tls-cert (PEM)")
      .add(ca, "tls-ca", "CA certificates for client certificates (PEM)")
      .add(verify_clients, "tls-verify-clients", "require client certificates (mutual TLS)");
  }

  /// Adds the client flags to `group`.
  void add_client_flags(caf::config_option_adder& group) {
    group.add(tls, "tls", "connect with TLS (implied by the other --tls-* flags)")
      .add(ca, "tls-ca", "CA certificates to trust (PEM; default: the system's)")
      .add(cert, "tls-cert", "client certificate for mutual TLS (PEM)")
      .add(key, "tls-key", "private key of --tls-cert (PEM)")
      .add(server_name, "tls-server-name", "name to send as SNI and verify (default: --host)")
      .add(insecure, "tls-insecure", "do not verify the server's certificate (testing only)");
  }

  /// TLS options of a server (disabled without --tls-cert/--tls-key).
  tao::tls_options server_options() const {
    tao::tls_options o;
    o.enabled = !cert.empty() || !key.empty();
    o.certificate_file = cert;
    o.private_key_file = key;
    o.ca_file = ca;
    if (verify_clients)
      o.client_auth = tao::tls_client_auth::required;
    return o;
  }

  /// TLS options of a client.
  tao::tls_options client_options() const {
    tao::tls_options o;
    o.enabled = tls || !ca.empty() || !cert.empty() || !server_name.empty() || insecure;
    o.ca_file = ca;
    o.certificate_file = cert;
    o.private_key_file = key;
    o.server_name = server_name;
    o.verify_peer = !insecure;
    return o;
  }
};

} // namespace tao::examples
