#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "tao/net/tls_context.hpp"
#include "tao/net/tls_session.hpp"
#include "tao/protocol/frame.hpp"

struct ssl_st;
struct bio_st;

namespace tao::net {

/// One TLS session over memory BIOs: ciphertext goes in and out as plain
/// bytes, so the connection broker can drive it from `new_data_msg` without
/// OpenSSL ever touching the socket (CAF 0.17 gives brokers no TLS).
///
/// The caller moves bytes: what it reads from the socket goes to `read`,
/// what it wants to send goes to `write`, and every call may append bytes
/// for the peer to `cipher_out` (handshake records, alerts, encrypted data),
/// which the caller must send in order. Plaintext written before the
/// handshake completed is held and encrypted once it does.
///
/// Not thread-safe: one owner (the connection broker) at a time.
class tls_channel {
public:
  /// A session from `ctx` (a server or client session, as the context's
  /// role says). `peer_name` is the host name or address a client connects
  /// to (SNI and certificate check); servers pass an empty string.
  static caf::expected<std::unique_ptr<tls_channel>> make(const tls_context& ctx,
                                                          const std::string& peer_name);

  ~tls_channel();

  tls_channel(const tls_channel&) = delete;
  tls_channel& operator=(const tls_channel&) = delete;

  /// Clients: starts the handshake (appends the ClientHello to
  /// `cipher_out`). Servers: does nothing; they wait for the client.
  caf::error start(protocol::byte_buffer& cipher_out);

  /// Consumes `n` bytes read from the peer. Decrypted application bytes are
  /// appended to `plain_out`. Fails with `errc::tls_failure` (the reason
  /// names OpenSSL's complaint, e.g. the certificate verification error); a
  /// failed channel stays failed, and `cipher_out` may then hold an alert
  /// for the peer.
  caf::error read(const char* data, size_t n, protocol::byte_buffer& plain_out,
                  protocol::byte_buffer& cipher_out);

  /// Encrypts `n` plaintext bytes (or holds them until the handshake is
  /// done).
  caf::error write(const char* data, size_t n, protocol::byte_buffer& cipher_out);

  /// Sends close_notify once, if the handshake completed.
  void shutdown(protocol::byte_buffer& cipher_out);

  /// Plaintext bytes that `write` accepted and that left as ciphertext since
  /// the last call (for byte accounting: the caller reserved plaintext
  /// sizes, the socket acknowledges ciphertext sizes).
  size_t take_encrypted_plaintext() noexcept {
    auto n = encrypted_plaintext_;
    encrypted_plaintext_ = 0;
    return n;
  }

  /// Plaintext bytes held until the handshake completes.
  size_t held_plaintext() const noexcept {
    return held_.size();
  }

  /// Drops the plaintext held until the handshake completes (for a close
  /// before it did); returns its size.
  size_t discard_held() noexcept {
    auto n = held_.size();
    held_.clear();
    return n;
  }

  /// True once the handshake completed.
  bool established() const noexcept {
    return established_;
  }

  /// True once the peer sent close_notify.
  bool peer_closed() const noexcept {
    return peer_closed_;
  }

  /// The negotiated protocol, e.g. "TLSv1.3" (empty before the handshake).
  std::string protocol_version() const;

  /// The negotiated cipher suite (empty before the handshake).
  std::string cipher() const;

  /// The subject of the peer's certificate in RFC 2253 form, or empty.
  std::string peer_subject() const;

  /// The DNS names and IP addresses in the peer certificate's subject
  /// alternative names, or empty.
  std::vector<std::string> peer_names() const;

  /// Protocol, cipher and peer identity of the session (all empty before the
  /// handshake completed).
  tls_session session() const;

private:
  explicit tls_channel(ssl_st* ssl) noexcept;

  caf::error handshake(protocol::byte_buffer& cipher_out);
  caf::error encrypt(const char* data, size_t n, protocol::byte_buffer& cipher_out);
  caf::error fail(const char* what, int ret, protocol::byte_buffer& cipher_out);
  void drain(protocol::byte_buffer& cipher_out);

  ssl_st* ssl_;
  bio_st* in_;
  bio_st* out_;
  bool established_ = false;
  bool peer_closed_ = false;
  bool shut_down_ = false;
  caf::error failure_;
  protocol::byte_buffer held_;
  size_t encrypted_plaintext_ = 0;
};

} // namespace tao::net
