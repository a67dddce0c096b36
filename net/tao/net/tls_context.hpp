#pragma once

#include <memory>
#include <mutex>
#include <string>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "tao/net/tls_options.hpp"

struct ssl_ctx_st;
struct ssl_st;

namespace tao::net {

/// Which side of the handshake a TLS context serves.
enum class tls_role { server, client };

/// Owns an `SSL_CTX` built once from `tls_options` (certificates, keys and
/// CA files are read here, not per connection) and hands out the sessions of
/// new connections. `reload` re-reads the files and swaps the context:
/// sessions made before keep the context they were made with, so established
/// connections are untouched.
///
/// Thread-safe: `new_session` and `reload` may be called from any thread.
class tls_context {
public:
  /// Builds a context. Fails with `errc::invalid_argument` for options that
  /// make no sense for `role` (e.g. a server without certificate or key,
  /// mutual TLS without a CA) and with `errc::tls_failure` when OpenSSL
  /// rejects a file (the message names the file and OpenSSL's reason).
  static caf::expected<std::shared_ptr<tls_context>> make(tls_role role, tls_options options);

  /// `make` if `options.enabled`, otherwise a null context (plain TCP).
  static caf::expected<std::shared_ptr<tls_context>> make_if_enabled(tls_role role,
                                                                     const tls_options& options);

  ~tls_context();

  tls_context(const tls_context&) = delete;
  tls_context& operator=(const tls_context&) = delete;

  /// A new `SSL` for one connection, owned by the caller (free it with
  /// `SSL_free`). Clients pass the name to send as SNI and to verify
  /// (`options().server_name` wins when set); servers pass an empty string.
  caf::expected<ssl_st*> new_session(const std::string& peer_name) const;

  /// Re-reads the certificate, key and CA files. On failure the current
  /// context stays in use and the error is returned.
  caf::error reload();

  /// The side this context serves.
  tls_role role() const noexcept {
    return role_;
  }

  /// The options the context was built from.
  const tls_options& options() const noexcept {
    return options_;
  }

private:
  tls_context(tls_role role, tls_options options);

  static caf::expected<std::shared_ptr<ssl_ctx_st>> build(tls_role role,
                                                          const tls_options& options);

  tls_role role_;
  tls_options options_;
  mutable std::mutex mtx_;
  std::shared_ptr<ssl_ctx_st> ctx_;
};

/// Drains OpenSSL's error queue of this thread into an `errc::tls_failure`
/// error that reads "`what`: <OpenSSL's reasons>".
caf::error make_tls_error(const std::string& what);

} // namespace tao::net
