// epoll-echo-server: the physical-limit reference for tao's echo server. A
// level-triggered epoll loop that parses TLV frames (type 1 or any) and
// writes each frame back. Wire-compatible with tao-echo-server. With --raw it
// echoes whatever arrives, unframed (muduo's pingpong server).
//
// With --threads=N (default 1) it runs N such loops, gnet/muduo style: each
// thread has its own listening socket on the same port (SO_REUSEPORT, the
// kernel spreads new connections over them) and its own epoll loop, and
// nothing is shared on the per-frame path.
//
//   epoll-echo-server --port=P [--raw] [--threads=N]
//                                          (prints "listening on 127.0.0.1:P")

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli.hpp"

namespace {

struct client {
  std::vector<char> in; // bytes of an incomplete frame
  std::vector<char> out;
  size_t out_pos = 0;
  bool want_out = false;
};

/// Length of the complete TLV frames at the start of `data`.
size_t complete_frames(const char* data, size_t size) {
  size_t pos = 0;
  while (size - pos >= 8) {
    uint32_t plen;
    std::memcpy(&plen, data + pos + 4, 4);
    if (size - pos - 8 < plen)
      break;
    pos += 8 + plen;
  }
  return pos;
}

/// Sends `data` right away if nothing is queued before it; queues the rest.
/// Returns false if the connection is broken.
bool echo(int fd, client& c, const char* data, size_t size) {
  if (c.out_pos == c.out.size() && size > 0) {
    auto w = send(fd, data, size, MSG_NOSIGNAL);
    if (w < 0 && errno != EAGAIN)
      return false;
    if (w > 0) {
      data += w;
      size -= static_cast<size_t>(w);
    }
  }
  c.out.insert(c.out.end(), data, data + size);
  return true;
}

/// Sends queued bytes. Returns false if the connection is broken.
bool flush(int fd, client& c) {
  if (c.out_pos < c.out.size()) {
    auto w = send(fd, c.out.data() + c.out_pos, c.out.size() - c.out_pos, MSG_NOSIGNAL);
    if (w < 0 && errno != EAGAIN)
      return false;
    if (w > 0)
      c.out_pos += static_cast<size_t>(w);
  }
  if (c.out_pos == c.out.size()) {
    c.out.clear();
    c.out_pos = 0;
  }
  return true;
}

/// A listening socket on 127.0.0.1:`port` (0: the kernel picks), non-blocking;
/// with `reuse_port` other sockets may listen on the same port. -1 on failure
/// (printed).
int listen_on(uint16_t port, bool reuse_port) {
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (reuse_port)
    setsockopt(lfd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0
      || listen(lfd, SOMAXCONN) != 0) {
    std::perror("bind/listen");
    close(lfd);
    return -1;
  }
  return lfd;
}

/// The port `lfd` is bound to.
uint16_t bound_port(int lfd) {
  sockaddr_in addr{};
  socklen_t len = sizeof(addr);
  getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

/// Accepts every pending connection on `lfd` into `ep`.
void accept_all(int lfd, int ep, std::vector<client>& clients) {
  int one = 1;
  int cfd;
  while ((cfd = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK)) >= 0) {
    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (clients.size() <= static_cast<size_t>(cfd))
      clients.resize(static_cast<size_t>(cfd) + 1);
    epoll_event cev{};
    cev.events = EPOLLIN;
    cev.data.fd = cfd;
    epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &cev);
  }
}

/// Reads once from `fd` and echoes the complete frames (with `raw`, every
/// byte). Returns false if the connection is closed or broken.
bool on_readable(int fd, client& c, std::vector<char>& buf, bool raw) {
  auto r = read(fd, buf.data(), buf.size());
  if (r == 0 || (r < 0 && errno != EAGAIN))
    return false;
  if (r > 0 && raw)
    return echo(fd, c, buf.data(), static_cast<size_t>(r));
  if (r > 0) {
    const char* data = buf.data();
    size_t size = static_cast<size_t>(r);
    if (!c.in.empty()) {
      c.in.insert(c.in.end(), data, data + size);
      data = c.in.data();
      size = c.in.size();
    }
    size_t done = complete_frames(data, size);
    bool ok = echo(fd, c, data, done);
    if (data == buf.data())
      c.in.assign(data + done, data + size);
    else
      c.in.erase(c.in.begin(), c.in.begin() + static_cast<long>(done));
    return ok;
  }
  return true;
}

/// One event loop: accepts on `lfd` and echoes on the connections it
/// accepted, forever. Each thread runs one, with its own state.
void serve(int lfd, bool raw) {
  int ep = epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = lfd;
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  std::vector<client> clients; // indexed by file descriptor
  std::vector<epoll_event> events(256);
  std::vector<char> buf(64 * 1024);
  auto drop = [&](int fd) {
    close(fd);
    clients[static_cast<size_t>(fd)] = client{};
  };
  for (;;) {
    int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), -1);
    for (int k = 0; k < n; ++k) {
      int fd = events[static_cast<size_t>(k)].data.fd;
      if (fd == lfd) {
        accept_all(lfd, ep, clients);
        continue;
      }
      auto& c = clients[static_cast<size_t>(fd)];
      if ((events[static_cast<size_t>(k)].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
          && !on_readable(fd, c, buf, raw)) {
        drop(fd);
        continue;
      }
      if (!flush(fd, c)) {
        drop(fd);
        continue;
      }
      bool want = !c.out.empty();
      if (want != c.want_out) {
        epoll_event mev{};
        mev.events = EPOLLIN | (want ? static_cast<uint32_t>(EPOLLOUT) : 0u);
        mev.data.fd = fd;
        epoll_ctl(ep, EPOLL_CTL_MOD, fd, &mev);
        c.want_out = want;
      }
    }
  }
}

} // namespace

int main(int argc, char** argv) {
  uint16_t port = 0;
  bool raw = false;
  unsigned threads = 1;
  CLI::App app{"epoll-echo-server: the epoll baseline for tao's benchmarks"};
  app.add_option("-p,--port", port, "port on 127.0.0.1 (0: pick one)");
  app.add_flag("--raw", raw, "echo bytes as they come instead of TLV frames");
  app
    .add_option("--threads", threads,
                "event loops, one per thread, each with its own SO_REUSEPORT listener")
    ->check(CLI::Range(1u, 1024u))
    ->capture_default_str();
  if (auto exit_code = tao::bench::parse_cli(app, argc, argv))
    return *exit_code;
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);
  // The first listener picks the port, the others join it; all listen
  // before the port is printed, so no connection waits for a late one.
  std::vector<int> listeners{listen_on(port, threads > 1)};
  if (listeners[0] < 0)
    return 1;
  port = bound_port(listeners[0]);
  while (listeners.size() < threads) {
    listeners.push_back(listen_on(port, true));
    if (listeners.back() < 0)
      return 1;
  }
  std::printf("listening on 127.0.0.1:%d\n", port);
  std::fflush(stdout);
  std::vector<std::thread> loops;
  for (size_t i = 1; i < listeners.size(); ++i)
    loops.emplace_back(serve, listeners[i], raw);
  serve(listeners[0], raw); // never returns; the process ends on a signal
}
