#pragma once

// A blocking TLV client socket for loopback tests: connect, send frames,
// read frames with a receive timeout (never hangs a test).

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "tao/protocol/byte_order.hpp"

namespace tao::test {

/// One frame as the socket read it.
struct raw_frame {
  int32_t type = 0;
  std::string payload;
};

/// How a read ended when it returned no frame.
enum class read_end { eof, reset, timeout };

/// A blocking client socket on 127.0.0.1. Not thread-safe.
class tlv_socket {
public:
  /// Connects to 127.0.0.1:`port`; `fd() < 0` on failure.
  explicit tlv_socket(uint16_t port, int timeout_ms = 10000) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      ::close(fd_);
      fd_ = -1;
      return;
    }
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }

  tlv_socket(const tlv_socket&) = delete;
  tlv_socket& operator=(const tlv_socket&) = delete;

  ~tlv_socket() {
    if (fd_ >= 0)
      ::close(fd_);
  }

  int fd() const noexcept {
    return fd_;
  }

  /// Sends raw bytes; false on error.
  bool send_raw(const std::string& bytes) {
    size_t pos = 0;
    while (pos < bytes.size()) {
      auto n = ::send(fd_, bytes.data() + pos, bytes.size() - pos, MSG_NOSIGNAL);
      if (n <= 0)
        return false;
      pos += static_cast<size_t>(n);
    }
    return true;
  }

  /// Sends one TLV frame.
  bool send(int32_t type, const std::string& payload) {
    std::string hdr(8, '\0');
    protocol::store_le32(hdr.data(), static_cast<uint32_t>(type));
    protocol::store_le32(hdr.data() + 4, static_cast<uint32_t>(payload.size()));
    return send_raw(hdr + payload);
  }

  /// Reads one frame, or nothing with the reason in `end()`.
  std::optional<raw_frame> read() {
    char hdr[8];
    if (!read_exactly(hdr, 8))
      return std::nullopt;
    raw_frame f;
    f.type = static_cast<int32_t>(protocol::load_le32(hdr));
    f.payload.resize(protocol::load_le32(hdr + 4));
    if (!read_exactly(f.payload.data(), f.payload.size()))
      return std::nullopt;
    return f;
  }

  /// Why the last read returned nothing.
  read_end end() const noexcept {
    return end_;
  }

  /// Half-closes (FIN) the sending side.
  void shutdown_write() {
    ::shutdown(fd_, SHUT_WR);
  }

private:
  bool read_exactly(char* out, size_t n) {
    size_t got = 0;
    while (got < n) {
      auto r = ::recv(fd_, out + got, n - got, 0);
      if (r == 0) {
        end_ = read_end::eof;
        return false;
      }
      if (r < 0) {
        end_ = (errno == EAGAIN || errno == EWOULDBLOCK) ? read_end::timeout : read_end::reset;
        return false;
      }
      got += static_cast<size_t>(r);
    }
    return true;
  }

  int fd_ = -1;
  read_end end_ = read_end::eof;
};

} // namespace tao::test
