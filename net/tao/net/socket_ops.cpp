#include "tao/net/socket_ops.hpp"

#include <cerrno>
#include <cstddef>

#include <arpa/inet.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace tao::net {

std::string to_string(const endpoint& x) {
  if (x.host.find(':') != std::string::npos)
    return "[" + x.host + "]:" + std::to_string(x.port);
  return x.host + ":" + std::to_string(x.port);
}

namespace socket_ops {

namespace {

endpoint to_endpoint(const sockaddr_storage& addr) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &in->sin_addr, buf, sizeof(buf));
    return {buf, ntohs(in->sin_port)};
  }
  if (addr.ss_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof(buf));
    return {buf, ntohs(in6->sin6_port)};
  }
  return {};
}

} // namespace

void set_nodelay(int64_t fd) noexcept {
  if (fd < 0)
    return;
  int on = 1;
  setsockopt(static_cast<int>(fd), IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

void abort(int64_t fd) noexcept {
  if (fd < 0)
    return;
  linger lg{1, 0};
  setsockopt(static_cast<int>(fd), SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
  shutdown(static_cast<int>(fd), SHUT_RDWR);
}

ptrdiff_t send_some(int64_t fd, const void* data, size_t size) noexcept {
  if (fd < 0)
    return -1;
  for (;;) {
    auto n = ::send(static_cast<int>(fd), data, size, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0)
      return n;
    if (errno == EINTR)
      continue;
    return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
  }
}

size_t readable_bytes(int64_t fd) noexcept {
  int n = 0;
  if (fd < 0 || ioctl(static_cast<int>(fd), FIONREAD, &n) != 0 || n < 0)
    return 0;
  return static_cast<size_t>(n);
}

tcp_end end_of(int64_t fd) noexcept {
  // The kernel's TCP_CLOSE state (include/net/tcp_states.h), which no
  // userspace header next to linux/tcp.h's tcp_info defines.
  constexpr uint8_t tcp_close_state = 7;
  tcp_end result;
  if (fd < 0)
    return result;
  tcp_info info{};
  socklen_t len = sizeof(info);
  if (getsockopt(static_cast<int>(fd), IPPROTO_TCP, TCP_INFO, &info, &len) != 0)
    return result;
  result.reset = info.tcpi_state == tcp_close_state;
  // Kernels before 4.1 return a shorter structure without the counter.
  if (len >= offsetof(tcp_info, tcpi_bytes_acked) + sizeof(info.tcpi_bytes_acked))
    result.bytes_acked = info.tcpi_bytes_acked;
  return result;
}

endpoint local_endpoint(int64_t fd) {
  if (fd < 0)
    return {};
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  if (getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    return {};
  return to_endpoint(addr);
}

endpoint remote_endpoint(int64_t fd) {
  if (fd < 0)
    return {};
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  if (getpeername(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    return {};
  return to_endpoint(addr);
}

} // namespace socket_ops

} // namespace tao::net
