#pragma once

// Throwaway TLS material for tests, made once per test process by
// tests/support/make_test_certs.sh (the openssl command line) in a fresh
// temporary directory that is removed at exit. Nothing secret is committed.

#include <cstdlib>
#include <stdexcept>
#include <string>

#include "tao/net/tls_options.hpp"

namespace tao::test {

/// The directory holding ca.pem, server.pem/.key, client.pem/.key, ... (see
/// make_test_certs.sh).
class test_certs {
public:
  /// The certificates of this process; generated on first use.
  static const test_certs& get() {
    static const test_certs instance;
    return instance;
  }

  /// Path of `file` (e.g. "server.pem").
  std::string operator()(const std::string& file) const {
    return dir_ + "/" + file;
  }

  /// The directory.
  const std::string& dir() const noexcept {
    return dir_;
  }

  /// TLS options of a server presenting `name`.pem / `name`.key.
  net::tls_options server(const std::string& name = "server") const {
    net::tls_options o;
    o.enabled = true;
    o.certificate_file = (*this)(name + ".pem");
    o.private_key_file = (*this)(name + ".key");
    return o;
  }

  /// TLS options of a client trusting `ca`.pem.
  net::tls_options client(const std::string& ca = "ca") const {
    net::tls_options o;
    o.enabled = true;
    o.ca_file = (*this)(ca + ".pem");
    return o;
  }

  test_certs(const test_certs&) = delete;
  test_certs& operator=(const test_certs&) = delete;

private:
  test_certs() {
    char tmpl[] = "/tmp/tao-certs-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    auto cmd = std::string{TAO_SOURCE_DIR} + "/tests/support/make_test_certs.sh '" + dir_ + "'";
    if (std::system(cmd.c_str()) != 0)
      throw std::runtime_error("make_test_certs.sh failed (is openssl installed?)");
  }

  ~test_certs() {
    auto cmd = "rm -rf '" + dir_ + "'";
    [[maybe_unused]] auto rc = std::system(cmd.c_str());
  }

  std::string dir_;
};

} // namespace tao::test
