#include "probe.hpp"

#include <cerrno>
#include <cstring>
#include <memory>

#include <caf/sec.hpp>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace chat_node {

namespace {

caf::error failed(const std::string& host, uint16_t port, const std::string& why) {
  return caf::make_error(caf::sec::cannot_connect_to_node,
                         "probe " + host + ":" + std::to_string(port) + ": " + why);
}

/// Closes a descriptor when it goes out of scope.
struct fd_guard {
  int fd;
  ~fd_guard() {
    if (fd >= 0)
      ::close(fd);
  }
};

} // namespace

caf::error tcp_probe(const std::string& host, uint16_t port, std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  auto service = std::to_string(port);
  if (auto rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0)
    return failed(host, port, gai_strerror(rc));
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard{found, freeaddrinfo};
  fd_guard fd{::socket(found->ai_family, found->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                       found->ai_protocol)};
  if (fd.fd < 0)
    return failed(host, port, std::strerror(errno));
  if (::connect(fd.fd, found->ai_addr, found->ai_addrlen) == 0)
    return caf::none;
  if (errno != EINPROGRESS)
    return failed(host, port, std::strerror(errno));
  pollfd p{fd.fd, POLLOUT, 0};
  auto rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
  if (rc == 0)
    return failed(host, port, "no answer within " + std::to_string(timeout.count()) + " ms");
  if (rc < 0)
    return failed(host, port, std::strerror(errno));
  int err = 0;
  socklen_t len = sizeof(err);
  if (::getsockopt(fd.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
    err = errno;
  if (err != 0)
    return failed(host, port, std::strerror(err));
  return caf::none;
}

} // namespace chat_node
