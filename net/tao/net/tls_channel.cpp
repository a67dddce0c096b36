#include "tao/net/tls_channel.hpp"

#include <algorithm>
#include <climits>
#include <string>

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tao/protocol/error.hpp"

namespace tao::net {

using protocol::errc;

namespace {

/// Bytes decrypted per SSL_read call: one full TLS record.
constexpr size_t read_step = 16 * 1024;

} // namespace

caf::expected<std::unique_ptr<tls_channel>> tls_channel::make(const tls_context& ctx,
                                                              const std::string& peer_name) {
  auto ssl = ctx.new_session(peer_name);
  if (!ssl)
    return ssl.error();
  return std::unique_ptr<tls_channel>{new tls_channel(*ssl)};
}

tls_channel::tls_channel(ssl_st* ssl) noexcept
  : ssl_(ssl), in_(BIO_new(BIO_s_mem())), out_(BIO_new(BIO_s_mem())) {
  // An empty memory BIO reports "retry" rather than EOF.
  BIO_set_mem_eof_return(in_, -1);
  BIO_set_mem_eof_return(out_, -1);
  SSL_set_bio(ssl_, in_, out_); // the session owns both BIOs now
}

tls_channel::~tls_channel() {
  SSL_free(ssl_);
}

caf::error tls_channel::start(protocol::byte_buffer& cipher_out) {
  if (!SSL_is_server(ssl_))
    return handshake(cipher_out);
  return {};
}

caf::error tls_channel::fail(const char* what, int ret, protocol::byte_buffer& cipher_out) {
  auto code = SSL_get_error(ssl_, ret);
  std::string context = what;
  auto verify = SSL_get_verify_result(ssl_);
  if (verify != X509_V_OK)
    context +=
      std::string{": certificate verification failed: "} + X509_verify_cert_error_string(verify);
  else if (code == SSL_ERROR_SYSCALL || code == SSL_ERROR_SSL)
    context += code == SSL_ERROR_SSL ? "" : " (unexpected end of stream)";
  failure_ = make_tls_error(context);
  drain(cipher_out); // the alert, if OpenSSL wrote one
  return failure_;
}

caf::error tls_channel::handshake(protocol::byte_buffer& cipher_out) {
  ERR_clear_error();
  auto ret = SSL_do_handshake(ssl_);
  if (ret == 1) {
    established_ = true;
    drain(cipher_out);
    if (!held_.empty()) {
      protocol::byte_buffer held;
      held.swap(held_);
      return encrypt(held.data(), held.size(), cipher_out);
    }
    return {};
  }
  auto code = SSL_get_error(ssl_, ret);
  if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) {
    drain(cipher_out);
    return {};
  }
  return fail("TLS handshake failed", ret, cipher_out);
}

caf::error tls_channel::read(const char* data, size_t n, protocol::byte_buffer& plain_out,
                             protocol::byte_buffer& cipher_out) {
  if (failure_)
    return failure_;
  while (n > 0) {
    auto chunk = static_cast<int>(std::min<size_t>(n, INT_MAX));
    if (BIO_write(in_, data, chunk) != chunk)
      return failure_ = make_tls_error("BIO_write failed");
    data += chunk;
    n -= static_cast<size_t>(chunk);
  }
  if (!established_) {
    if (auto err = handshake(cipher_out))
      return err;
    if (!established_)
      return {};
  }
  for (;;) {
    auto old = plain_out.size();
    plain_out.resize(old + read_step);
    ERR_clear_error();
    auto ret = SSL_read(ssl_, plain_out.data() + old, static_cast<int>(read_step));
    if (ret > 0) {
      plain_out.resize(old + static_cast<size_t>(ret));
      continue;
    }
    plain_out.resize(old);
    auto code = SSL_get_error(ssl_, ret);
    if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE)
      break;
    if (code == SSL_ERROR_ZERO_RETURN) {
      peer_closed_ = true;
      break;
    }
    return fail("TLS record failed", ret, cipher_out);
  }
  // Post-handshake messages (session tickets, key updates) may want out.
  drain(cipher_out);
  return {};
}

caf::error tls_channel::write(const char* data, size_t n, protocol::byte_buffer& cipher_out) {
  if (failure_)
    return failure_;
  if (!established_) {
    held_.insert(held_.end(), data, data + n);
    return {};
  }
  return encrypt(data, n, cipher_out);
}

caf::error tls_channel::encrypt(const char* data, size_t n, protocol::byte_buffer& cipher_out) {
  auto total = n;
  while (n > 0) {
    auto chunk = static_cast<int>(std::min<size_t>(n, INT_MAX / 2));
    ERR_clear_error();
    auto ret = SSL_write(ssl_, data, chunk);
    if (ret <= 0)
      return fail("TLS write failed", ret, cipher_out);
    data += ret;
    n -= static_cast<size_t>(ret);
  }
  encrypted_plaintext_ += total;
  drain(cipher_out);
  return {};
}

void tls_channel::shutdown(protocol::byte_buffer& cipher_out) {
  if (!established_ || shut_down_ || failure_)
    return;
  shut_down_ = true;
  ERR_clear_error();
  SSL_shutdown(ssl_);
  drain(cipher_out);
}

void tls_channel::drain(protocol::byte_buffer& cipher_out) {
  auto pending = BIO_ctrl_pending(out_);
  if (pending == 0)
    return;
  auto old = cipher_out.size();
  cipher_out.resize(old + pending);
  auto got = BIO_read(out_, cipher_out.data() + old, static_cast<int>(pending));
  cipher_out.resize(old + static_cast<size_t>(got > 0 ? got : 0));
}

std::string tls_channel::protocol_version() const {
  return established_ ? SSL_get_version(ssl_) : "";
}

std::string tls_channel::cipher() const {
  if (!established_)
    return {};
  auto* name = SSL_get_cipher_name(ssl_);
  return name != nullptr ? name : "";
}

std::string tls_channel::peer_subject() const {
  auto* cert = SSL_get0_peer_certificate(ssl_);
  if (cert == nullptr)
    return {};
  auto* bio = BIO_new(BIO_s_mem());
  X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
  char* text = nullptr;
  auto len = BIO_get_mem_data(bio, &text);
  std::string result{text, static_cast<size_t>(len > 0 ? len : 0)};
  BIO_free(bio);
  return result;
}

std::vector<std::string> tls_channel::peer_names() const {
  std::vector<std::string> result;
  auto* cert = SSL_get0_peer_certificate(ssl_);
  if (cert == nullptr)
    return result;
  auto* names =
    static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr)
    return result;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    auto* name = sk_GENERAL_NAME_value(names, i);
    if (name->type == GEN_DNS) {
      auto* data = ASN1_STRING_get0_data(name->d.dNSName);
      result.emplace_back(reinterpret_cast<const char*>(data),
                          static_cast<size_t>(ASN1_STRING_length(name->d.dNSName)));
    } else if (name->type == GEN_IPADD) {
      auto len = ASN1_STRING_length(name->d.iPAddress);
      auto* data = ASN1_STRING_get0_data(name->d.iPAddress);
      char text[INET6_ADDRSTRLEN] = {};
      if (len == 4)
        inet_ntop(AF_INET, data, text, sizeof(text));
      else if (len == 16)
        inet_ntop(AF_INET6, data, text, sizeof(text));
      if (text[0] != '\0')
        result.emplace_back(text);
    }
  }
  GENERAL_NAMES_free(names);
  return result;
}

tls_session tls_channel::session() const {
  if (!established_)
    return {};
  return {protocol_version(), cipher(), peer_subject(), peer_names()};
}

} // namespace tao::net
