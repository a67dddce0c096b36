#pragma once

// The I/O threads of the loopback suites. CTest runs each of them twice:
// as is (one I/O thread) and with TAO_TEST_IO_THREADS=2 (a server and its
// clients on two shards of a process-wide pool), so that every capability
// is checked in both configurations.

#include <cstdlib>
#include <string>

#include <openssl/ssl.h>

#include "tao/io_pool.hpp"
#include "tao/options.hpp"

namespace tao::test {

/// TAO_TEST_IO_THREADS, or 1.
inline size_t test_io_threads() {
  static const size_t n = [] {
    auto* text = std::getenv("TAO_TEST_IO_THREADS");
    auto value = text ? std::strtoul(text, nullptr, 10) : 1ul;
    return value > 1 ? static_cast<size_t>(value) : size_t{1};
  }();
  return n;
}

/// The pool for `test_io_threads`, made on first use and destroyed at the
/// process's exit, after every suite's actor system (null with 1 thread).
inline io_pool* test_io_pool() {
  if (test_io_threads() == 1)
    return nullptr;
  // OpenSSL frees the thread-local state of threads still running at its
  // atexit cleanup never (LeakSanitizer reports it): initialise it before
  // the pool, so that its cleanup is registered first and runs after the
  // pool joined the shard threads. (A program's pool, declared in main,
  // is gone long before exit.)
  static const bool openssl_first = OPENSSL_init_ssl(0, nullptr) == 1;
  (void)openssl_first;
  static io_pool pool{test_io_threads()};
  return &pool;
}

/// `opts` on the suite's I/O threads.
template <class Options>
Options with_test_io_threads(Options opts) {
  opts.io_threads = test_io_threads();
  opts.io_pool = test_io_pool();
  return opts;
}

} // namespace tao::test
