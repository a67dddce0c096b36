#include "tao/net/socket_dealer.hpp"

#include <cerrno>
#include <cstring>
#include <system_error>

#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tao/protocol/error.hpp"

namespace tao::net {

namespace {

using protocol::errc;

/// How long the dealer pauses after an accept failed for lack of resources.
constexpr int resource_pause_ms = 50;

uint16_t bound_port(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    return 0;
  if (addr.ss_family == AF_INET6)
    return ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
}

} // namespace

caf::expected<listening_socket> listen_tcp(const std::string& host, uint16_t port,
                                           bool reuse_address) {
  auto where = host + ":" + std::to_string(port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  auto service = std::to_string(port);
  if (int rc =
        ::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &found);
      rc != 0)
    return protocol::make_error(errc::network_failure,
                                "cannot listen on " + where + ": " + ::gai_strerror(rc));
  std::string reason = "no address";
  for (auto* ai = found; ai != nullptr; ai = ai->ai_next) {
    int fd =
      ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      reason = std::strerror(errno);
      continue;
    }
    int one = 1;
    if (reuse_address)
      ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && ::listen(fd, SOMAXCONN) == 0) {
      ::freeaddrinfo(found);
      return listening_socket{fd, bound_port(fd)};
    }
    reason = std::strerror(errno);
    ::close(fd);
  }
  ::freeaddrinfo(found);
  return protocol::make_error(errc::network_failure, "cannot listen on " + where + ": " + reason);
}

socket_dealer::socket_dealer(std::vector<int> listeners, deal_fn deal)
  : listeners_(std::move(listeners)), deal_(std::move(deal)) {
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0)
    throw std::system_error(errno, std::generic_category(), "socket_dealer: eventfd");
}

void socket_dealer::start() {
  thread_ = std::thread([this] { run(); });
}

socket_dealer::~socket_dealer() {
  stop();
}

void socket_dealer::stop() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
    thread_.join();
  }
  for (auto fd : listeners_)
    ::close(fd);
  listeners_.clear();
  if (wake_fd_ >= 0) {
    ::close(wake_fd_);
    wake_fd_ = -1;
  }
}

bool socket_dealer::drain(size_t listener) {
  for (;;) {
    int fd = ::accept4(listeners_[listener], nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      deal_(fd, listener);
      continue;
    }
    switch (errno) {
    case EAGAIN:
#if EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK:
#endif
      return true;
    case EINTR:
    case ECONNABORTED:
    case EPROTO:
      continue; // This connection is gone; others may wait.
    default:
      // EMFILE, ENFILE, ENOBUFS, ENOMEM: the connection stays queued in
      // the kernel; try again after a pause rather than spin on it.
      accept_failures_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
  }
}

void socket_dealer::run() {
  std::vector<pollfd> fds;
  for (auto fd : listeners_)
    fds.push_back(pollfd{fd, POLLIN, 0});
  fds.push_back(pollfd{wake_fd_, POLLIN, 0});
  for (;;) {
    if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR)
      return;
    if (fds.back().revents != 0)
      return; // stop()
    bool starved = false;
    for (size_t i = 0; i + 1 < fds.size(); ++i)
      if (fds[i].revents != 0 && !drain(i))
        starved = true;
    if (starved) {
      // The listener stays readable: wait for stop() only, for a while.
      pollfd wake{wake_fd_, POLLIN, 0};
      if (::poll(&wake, 1, resource_pause_ms) > 0)
        return;
    }
  }
}

} // namespace tao::net
