#pragma once

// Tools for peers that vanish in loopback tests: RST closes, forked peers
// that are SIGKILLed, a raw listening socket standing in for a server, a
// real TLS ClientHello, and the Prometheus sample reader of the reliability
// suites. Nothing here is thread-safe unless stated.

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <sstream>
#include <string>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tao/protocol/byte_order.hpp"
#include "tao/protocol/error.hpp"

namespace tao::test {

/// A TLV header for `type` announcing `length` payload bytes.
inline std::string header(int32_t type, uint32_t length) {
  std::string hdr(8, '\0');
  protocol::store_le32(hdr.data(), static_cast<uint32_t>(type));
  protocol::store_le32(hdr.data() + 4, length);
  return hdr;
}

/// A complete TLV frame.
inline std::string frame(int32_t type, const std::string& payload) {
  return header(type, static_cast<uint32_t>(payload.size())) + payload;
}

/// The name of `err`'s tao error code, "none" for no error, "other" for
/// errors of other categories.
inline std::string code_name(const caf::error& err) {
  if (!err)
    return "none";
  if (err.category() != protocol::error_category())
    return "other";
  return protocol::to_string(static_cast<protocol::errc>(err.code()));
}

/// The value of the sample `series` (name plus labels, as printed) in the
/// Prometheus text `text`, 0 if absent.
inline double sample(const std::string& text, const std::string& series) {
  std::istringstream in{text};
  std::string line;
  while (std::getline(in, line))
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0
        && line[series.size()] == ' ')
      return std::stod(line.substr(series.size() + 1));
  return 0;
}

/// The sum of every sample of `family` (all label sets) in `text`.
inline double sample_sum(const std::string& text, const std::string& family) {
  std::istringstream in{text};
  std::string line;
  double sum = 0;
  while (std::getline(in, line))
    if (line.compare(0, family.size() + 1, family + "{") == 0)
      sum += std::stod(line.substr(line.rfind(' ') + 1));
  return sum;
}

/// Makes the next close of `fd` send an RST instead of a FIN (SO_LINGER 0).
inline void arm_reset(int fd) {
  linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
}

/// Waits (at most `timeout`) until `fd` is readable; false on timeout.
inline bool await_readable(int fd, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(timeout.count())) > 0;
}

/// Reads until `n` bytes arrived or the peer ended (bounded by `timeout`
/// per read); returns the bytes read.
inline std::string read_some(int fd, size_t n, std::chrono::milliseconds timeout) {
  std::string out;
  char buf[16384];
  while (out.size() < n && await_readable(fd, timeout)) {
    auto got = ::recv(fd, buf, std::min(sizeof(buf), n - out.size()), 0);
    if (got <= 0)
      break;
    out.append(buf, static_cast<size_t>(got));
  }
  return out;
}

/// Sends all of `bytes`; false on error.
inline bool send_all(int fd, const std::string& bytes) {
  size_t pos = 0;
  while (pos < bytes.size()) {
    auto n = ::send(fd, bytes.data() + pos, bytes.size() - pos, MSG_NOSIGNAL);
    if (n <= 0)
      return false;
    pos += static_cast<size_t>(n);
  }
  return true;
}

/// A forked peer process that connects to 127.0.0.1:`port`, sends `bytes`,
/// reads `await` bytes, reports that on a pipe and waits to be killed. The
/// child only makes system calls (the test process has threads: no
/// allocation after fork). The destructor kills and reaps it.
class forked_peer {
public:
  forked_peer(uint16_t port, const std::string& bytes, size_t await) {
    int fds[2];
    if (::pipe(fds) != 0)
      return;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    const char* data = bytes.data();
    size_t size = bytes.size();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(fds[0]);
      int s = ::socket(AF_INET, SOCK_STREAM, 0);
      if (::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
        ::_exit(1);
      for (size_t pos = 0; pos < size;) {
        auto n = ::send(s, data + pos, size - pos, MSG_NOSIGNAL);
        if (n <= 0)
          ::_exit(2);
        pos += static_cast<size_t>(n);
      }
      char buf[4096];
      for (size_t got = 0; got < await;) {
        auto want = await - got < sizeof(buf) ? await - got : sizeof(buf);
        auto n = ::recv(s, buf, want, 0);
        if (n <= 0)
          ::_exit(3);
        got += static_cast<size_t>(n);
      }
      char ready = 'r';
      if (::write(fds[1], &ready, 1) != 1)
        ::_exit(4);
      for (;;)
        ::pause();
    }
    ::close(fds[1]);
    ready_ = fds[0];
  }

  forked_peer(const forked_peer&) = delete;
  forked_peer& operator=(const forked_peer&) = delete;

  ~forked_peer() {
    kill();
    if (ready_ >= 0)
      ::close(ready_);
  }

  /// Waits (bounded) until the child read what it awaited; false if it
  /// failed or timed out.
  bool await_ready(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    if (pid_ <= 0 || !await_readable(ready_, timeout))
      return false;
    char c = 0;
    return ::read(ready_, &c, 1) == 1 && c == 'r';
  }

  /// SIGKILLs and reaps the child: the kernel closes its socket (FIN, or RST
  /// if data it never read is pending).
  void kill() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }

private:
  pid_t pid_ = -1;
  int ready_ = -1;
};

/// A listening socket on 127.0.0.1 (ephemeral port) that plays a server
/// with raw bytes, for client-side tests.
class raw_listener {
public:
  raw_listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    socklen_t len = sizeof(addr);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(fd_, 16) != 0
        || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ::close(fd_);
      fd_ = -1;
      return;
    }
    port_ = ntohs(addr.sin_port);
  }

  raw_listener(const raw_listener&) = delete;
  raw_listener& operator=(const raw_listener&) = delete;

  ~raw_listener() {
    if (fd_ >= 0)
      ::close(fd_);
  }

  /// The port, 0 if the socket could not listen.
  uint16_t port() const noexcept {
    return port_;
  }

  /// Accepts one connection within `timeout`; -1 on timeout. The caller
  /// owns the descriptor.
  int accept(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    if (!await_readable(fd_, timeout))
      return -1;
    return ::accept(fd_, nullptr, nullptr);
  }

private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

/// The first flight of a real TLS client (a ClientHello record), made by
/// OpenSSL with memory BIOs.
inline std::string client_hello() {
  std::string out;
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = SSL_new(ctx);
  BIO* in = BIO_new(BIO_s_mem());
  BIO* wire = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl, in, wire);
  SSL_set_connect_state(ssl);
  SSL_do_handshake(ssl); // wants the server's reply; the hello is in `wire`
  char* data = nullptr;
  auto n = BIO_get_mem_data(wire, &data);
  if (n > 0)
    out.assign(data, static_cast<size_t>(n));
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  return out;
}

} // namespace tao::test
