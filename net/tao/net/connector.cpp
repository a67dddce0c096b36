#include "tao/net/connector.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tao/protocol/error.hpp"

namespace tao::net {

using protocol::errc;

namespace {

/// Waits until `fd` finished connecting or `deadline` passed.
caf::error await_connect(int fd, std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return protocol::make_error(errc::connect_timeout, "connect timed out");
    pollfd pfd{fd, POLLOUT, 0};
    auto n = poll(&pfd, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return protocol::make_error(errc::network_failure, std::strerror(errno));
    if (n == 0)
      continue;
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0)
      return protocol::make_error(errc::network_failure, std::strerror(err));
    return {};
  }
}

} // namespace

caf::expected<int64_t> connect_socket(const std::string& host, uint16_t port,
                                      caf::timespan timeout) {
  auto deadline = std::chrono::steady_clock::now()
                  + std::chrono::duration_cast<std::chrono::steady_clock::duration>(timeout);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  auto port_str = std::to_string(port);
  if (auto rc = getaddrinfo(host.c_str(), port_str.c_str(), &hints, &res); rc != 0)
    return protocol::make_error(errc::network_failure,
                                "cannot resolve " + host + ": " + gai_strerror(rc));
  caf::error last = protocol::make_error(errc::network_failure, "no address for " + host);
  for (auto* ai = res; ai != nullptr; ai = ai->ai_next) {
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last = protocol::make_error(errc::network_failure, std::strerror(errno));
      continue;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
      freeaddrinfo(res);
      return static_cast<int64_t>(fd);
    }
    if (errno == EINPROGRESS) {
      last = await_connect(fd, deadline);
      if (!last) {
        freeaddrinfo(res);
        return static_cast<int64_t>(fd);
      }
    } else {
      last = protocol::make_error(errc::network_failure, std::strerror(errno));
    }
    close(fd);
    if (protocol::is(last, errc::connect_timeout))
      break;
  }
  freeaddrinfo(res);
  auto code = static_cast<errc>(last.code());
  return protocol::make_error(code, "connecting to " + host + ":" + port_str + ": "
                                      + last.context().get_as<std::string>(0));
}

caf::behavior connector(caf::event_based_actor* self, std::string host, uint16_t port,
                        caf::timespan timeout) {
  return {
    [self, host, port, timeout](connect_atom) -> caf::result<int64_t> {
      self->quit();
      auto fd = connect_socket(host, port, timeout);
      if (!fd)
        return std::move(fd.error());
      return *fd;
    },
  };
}

} // namespace tao::net
