#include "tao/net/tls_context.hpp"

#include <utility>

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tao/protocol/error.hpp"

namespace tao::net {

using protocol::errc;

caf::error make_tls_error(const std::string& what) {
  std::string reasons;
  while (auto code = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof(buf));
    if (!reasons.empty())
      reasons += "; ";
    reasons += buf;
  }
  if (reasons.empty())
    return protocol::make_error(errc::tls_failure, what);
  return protocol::make_error(errc::tls_failure, what + ": " + reasons);
}

namespace {

bool is_ip_literal(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

caf::error invalid(std::string what) {
  return protocol::make_error(errc::invalid_argument, std::move(what));
}

} // namespace

tls_context::tls_context(tls_role role, tls_options options)
  : role_(role), options_(std::move(options)) {
}

tls_context::~tls_context() = default;

caf::expected<std::shared_ptr<tls_context>> tls_context::make(tls_role role, tls_options options) {
  if (role == tls_role::server
      && (options.certificate_file.empty() || options.private_key_file.empty()))
    return invalid("a TLS server needs certificate_file and private_key_file");
  if (role == tls_role::server && options.client_auth != tls_client_auth::none
      && options.ca_file.empty() && options.ca_path.empty())
    return invalid("client certificates (client_auth) need ca_file or ca_path");
  if (options.certificate_file.empty() != options.private_key_file.empty())
    return invalid("certificate_file and private_key_file go together");
  auto ctx = build(role, options);
  if (!ctx)
    return ctx.error();
  std::shared_ptr<tls_context> result{new tls_context(role, std::move(options))};
  result->ctx_ = std::move(*ctx);
  return result;
}

caf::expected<std::shared_ptr<tls_context>>
tls_context::make_if_enabled(tls_role role, const tls_options& options) {
  if (!options.enabled)
    return std::shared_ptr<tls_context>{};
  return make(role, options);
}

caf::expected<std::shared_ptr<ssl_ctx_st>> tls_context::build(tls_role role, const tls_options& o) {
  ERR_clear_error();
  std::shared_ptr<SSL_CTX> ctx{
    SSL_CTX_new(role == tls_role::server ? TLS_server_method() : TLS_client_method()),
    SSL_CTX_free};
  if (!ctx)
    return make_tls_error("SSL_CTX_new failed");
  auto* c = ctx.get();
  SSL_CTX_set_min_proto_version(c, o.min_version == tls_version::v1_3 ? TLS1_3_VERSION
                                                                      : TLS1_2_VERSION);
  // Idle connections keep no read/write buffers (16+ KiB each otherwise).
  SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION);
  if (!o.cipher_list.empty() && SSL_CTX_set_cipher_list(c, o.cipher_list.c_str()) != 1)
    return make_tls_error("invalid cipher_list '" + o.cipher_list + "'");
  if (!o.ciphersuites.empty() && SSL_CTX_set_ciphersuites(c, o.ciphersuites.c_str()) != 1)
    return make_tls_error("invalid ciphersuites '" + o.ciphersuites + "'");
  if (!o.certificate_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(c, o.certificate_file.c_str()) != 1)
      return make_tls_error("cannot load certificate_file " + o.certificate_file);
    if (SSL_CTX_use_PrivateKey_file(c, o.private_key_file.c_str(), SSL_FILETYPE_PEM) != 1)
      return make_tls_error("cannot load private_key_file " + o.private_key_file);
    if (SSL_CTX_check_private_key(c) != 1)
      return make_tls_error("private_key_file " + o.private_key_file
                            + " does not match certificate_file " + o.certificate_file);
  }
  bool verify = role == tls_role::client ? o.verify_peer : o.client_auth != tls_client_auth::none;
  if (verify) {
    if (!o.ca_file.empty() || !o.ca_path.empty()) {
      if (SSL_CTX_load_verify_locations(c, o.ca_file.empty() ? nullptr : o.ca_file.c_str(),
                                        o.ca_path.empty() ? nullptr : o.ca_path.c_str())
          != 1)
        return make_tls_error("cannot load CA " + (o.ca_file.empty() ? o.ca_path : o.ca_file));
    } else if (SSL_CTX_set_default_verify_paths(c) != 1) {
      return make_tls_error("cannot load the system's trust store");
    }
  }
  if (role == tls_role::client) {
    SSL_CTX_set_verify(c, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  } else {
    int mode = SSL_VERIFY_NONE;
    if (o.client_auth == tls_client_auth::optional)
      mode = SSL_VERIFY_PEER;
    else if (o.client_auth == tls_client_auth::required)
      mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(c, mode, nullptr);
    if (mode != SSL_VERIFY_NONE && !o.ca_file.empty()) {
      if (auto* names = SSL_load_client_CA_file(o.ca_file.c_str()))
        SSL_CTX_set_client_CA_list(c, names);
    }
    static const unsigned char session_id[] = "tao";
    SSL_CTX_set_session_id_context(c, session_id, sizeof(session_id) - 1);
  }
  ERR_clear_error();
  return ctx;
}

caf::expected<ssl_st*> tls_context::new_session(const std::string& peer_name) const {
  std::shared_ptr<SSL_CTX> ctx;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    ctx = ctx_;
  }
  ERR_clear_error();
  // SSL_new takes its own reference on the context: a later reload does not
  // affect this session.
  auto* ssl = SSL_new(ctx.get());
  if (ssl == nullptr)
    return make_tls_error("SSL_new failed");
  if (role_ == tls_role::server) {
    SSL_set_accept_state(ssl);
    return ssl;
  }
  SSL_set_connect_state(ssl);
  const auto& name = options_.server_name.empty() ? peer_name : options_.server_name;
  if (!name.empty()) {
    bool ip = is_ip_literal(name);
    // SNI carries host names only (RFC 6066).
    if (!ip && SSL_set_tlsext_host_name(ssl, name.c_str()) != 1) {
      SSL_free(ssl);
      return make_tls_error("cannot set SNI name '" + name + "'");
    }
    if (options_.verify_peer && options_.verify_hostname) {
      auto ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str())
                   : SSL_set1_host(ssl, name.c_str());
      if (ok != 1) {
        SSL_free(ssl);
        return make_tls_error("cannot set the expected peer name '" + name + "'");
      }
    }
  }
  return ssl;
}

caf::error tls_context::reload() {
  auto ctx = build(role_, options_);
  if (!ctx)
    return ctx.error();
  std::lock_guard<std::mutex> guard{mtx_};
  ctx_ = std::move(*ctx);
  return {};
}

} // namespace tao::net
