// epoll-echo-server: the physical-limit reference for tao's echo server. A
// single-threaded, level-triggered epoll loop that parses TLV frames (type 1
// or any) and writes each frame back. Wire-compatible with tao-echo-server.
//
//   epoll-echo-server --port=P     (prints "listening on 127.0.0.1:P")

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

struct client {
  std::vector<char> in;
  std::vector<char> out;
  size_t out_pos = 0;
};

} // namespace

int main(int argc, char** argv) {
  int port = 0;
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], "--port=", 7) == 0)
      port = std::atoi(argv[i] + 7);
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(lfd, 1024) != 0) {
    std::perror("bind/listen");
    return 1;
  }
  socklen_t len = sizeof(addr);
  getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::printf("listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));
  std::fflush(stdout);
  int ep = epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = lfd;
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  std::unordered_map<int, client> clients;
  std::vector<epoll_event> events(256);
  std::vector<char> buf(64 * 1024);
  for (;;) {
    int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), -1);
    for (int k = 0; k < n; ++k) {
      int fd = events[static_cast<size_t>(k)].data.fd;
      if (fd == lfd) {
        int cfd = accept(lfd, nullptr, nullptr);
        if (cfd < 0)
          continue;
        setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        epoll_event cev{};
        cev.events = EPOLLIN;
        cev.data.fd = cfd;
        epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &cev);
        clients[cfd];
        continue;
      }
      auto& c = clients[fd];
      if (events[static_cast<size_t>(k)].events & EPOLLIN) {
        auto r = read(fd, buf.data(), buf.size());
        if (r <= 0) {
          close(fd);
          clients.erase(fd);
          continue;
        }
        c.in.insert(c.in.end(), buf.data(), buf.data() + r);
        size_t pos = 0;
        while (c.in.size() - pos >= 8) {
          uint32_t plen;
          std::memcpy(&plen, c.in.data() + pos + 4, 4);
          if (c.in.size() - pos < 8 + plen)
            break;
          c.out.insert(c.out.end(), c.in.data() + pos, c.in.data() + pos + 8 + plen);
          pos += 8 + plen;
        }
        c.in.erase(c.in.begin(), c.in.begin() + static_cast<long>(pos));
      }
      if (c.out_pos < c.out.size()) {
        auto w = write(fd, c.out.data() + c.out_pos, c.out.size() - c.out_pos);
        if (w > 0)
          c.out_pos += static_cast<size_t>(w);
        if (c.out_pos == c.out.size()) {
          c.out.clear();
          c.out_pos = 0;
        }
        epoll_event mev{};
        mev.events = EPOLLIN | (c.out.empty() ? 0u : static_cast<uint32_t>(EPOLLOUT));
        mev.data.fd = fd;
        epoll_ctl(ep, EPOLL_CTL_MOD, fd, &mev);
      } else if (events[static_cast<size_t>(k)].events & EPOLLOUT) {
        epoll_event mev{};
        mev.events = EPOLLIN;
        mev.data.fd = fd;
        epoll_ctl(ep, EPOLL_CTL_MOD, fd, &mev);
      }
    }
  }
}
