// tao-bench: TLV echo load generator (first cut; see issue "Benchmarks").
//
//   tao-bench --host=127.0.0.1 --port=P --conns=N --window=W --size=S --duration=SEC
//
// Each connection keeps W frames of type 1 with S-byte payloads in flight and
// checks every echo (type, length, payload bytes). Single-threaded epoll, so
// one core drives the load. Prints msgs/s, MB/s (payload+header, one
// direction) and, per round trip, latency percentiles.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

using clock_type = std::chrono::steady_clock;

struct args {
  std::string host = "127.0.0.1";
  int port = 12345;
  int conns = 1;
  int window = 1;
  size_t size = 64;
  double duration = 5;
  bool json = false;
};

struct conn {
  int fd = -1;
  std::vector<char> out;
  size_t out_pos = 0;
  std::vector<char> in;
  std::vector<clock_type::time_point> sent_at; // FIFO of in-flight frames
  size_t sent_head = 0;
  uint64_t seq_out = 0;
  uint64_t seq_in = 0;
};

bool parse(int argc, char** argv, args& a) {
  for (int i = 1; i < argc; ++i) {
    std::string x = argv[i];
    auto val = [&](const char* key) -> const char* {
      auto k = std::string{"--"} + key + "=";
      return x.rfind(k, 0) == 0 ? argv[i] + k.size() : nullptr;
    };
    const char* v = nullptr;
    if ((v = val("host")))
      a.host = v;
    else if ((v = val("port")))
      a.port = std::atoi(v);
    else if ((v = val("conns")))
      a.conns = std::atoi(v);
    else if ((v = val("window")))
      a.window = std::atoi(v);
    else if ((v = val("size")))
      a.size = std::strtoul(v, nullptr, 10);
    else if ((v = val("duration")))
      a.duration = std::atof(v);
    else if (x == "--json")
      a.json = true;
    else {
      std::fprintf(stderr, "usage: tao-bench --host=H --port=P --conns=N --window=W --size=BYTES "
                           "--duration=SECONDS [--json]\n");
      return false;
    }
  }
  return a.conns > 0 && a.window > 0;
}

void put_frame(conn& c, size_t size) {
  char hdr[8];
  uint32_t type = 1, len = static_cast<uint32_t>(size);
  std::memcpy(hdr, &type, 4); // little-endian host assumed (x86_64)
  std::memcpy(hdr + 4, &len, 4);
  c.out.insert(c.out.end(), hdr, hdr + 8);
  auto fill = static_cast<char>('a' + c.seq_out++ % 26);
  c.out.insert(c.out.end(), size, fill);
  c.sent_at.push_back(clock_type::now());
}

} // namespace

int main(int argc, char** argv) {
  args a;
  if (!parse(argc, argv, a))
    return 2;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(a.port));
  inet_pton(AF_INET, a.host.c_str(), &addr.sin_addr);
  int ep = epoll_create1(0);
  std::vector<conn> conns(static_cast<size_t>(a.conns));
  for (size_t i = 0; i < conns.size(); ++i) {
    auto& c = conns[i];
    c.fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(c.fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      std::perror("connect");
      return 1;
    }
    int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
    for (int w = 0; w < a.window; ++w)
      put_frame(c, a.size);
  }
  std::vector<double> lat_us;
  lat_us.reserve(1 << 20);
  uint64_t msgs = 0;
  const size_t frame = a.size + 8;
  auto start = clock_type::now();
  auto deadline =
    start
    + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(a.duration));
  std::vector<epoll_event> events(256);
  std::vector<char> rbuf(256 * 1024);
  bool failed = false;
  while (!failed && clock_type::now() < deadline) {
    int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 100);
    for (int k = 0; k < n && !failed; ++k) {
      auto& c = conns[events[static_cast<size_t>(k)].data.u64];
      if (events[static_cast<size_t>(k)].events & (EPOLLERR | EPOLLHUP)) {
        std::fprintf(stderr, "connection error\n");
        failed = true;
        break;
      }
      if (events[static_cast<size_t>(k)].events & EPOLLIN) {
        auto r = read(c.fd, rbuf.data(), rbuf.size());
        if (r <= 0) {
          std::fprintf(stderr, "server closed the connection\n");
          failed = true;
          break;
        }
        c.in.insert(c.in.end(), rbuf.data(), rbuf.data() + r);
        size_t pos = 0;
        auto now = clock_type::now();
        while (c.in.size() - pos >= frame) {
          uint32_t type, len;
          std::memcpy(&type, c.in.data() + pos, 4);
          std::memcpy(&len, c.in.data() + pos + 4, 4);
          auto fill = static_cast<char>('a' + c.seq_in++ % 26);
          if (type != 1 || len != a.size
              || std::any_of(c.in.data() + pos + 8, c.in.data() + pos + frame,
                             [fill](char ch) { return ch != fill; })) {
            std::fprintf(stderr, "bad echo\n");
            failed = true;
            break;
          }
          pos += frame;
          ++msgs;
          lat_us.push_back(
            std::chrono::duration<double, std::micro>(now - c.sent_at[c.sent_head++]).count());
          put_frame(c, a.size);
        }
        c.in.erase(c.in.begin(), c.in.begin() + static_cast<long>(pos));
        if (c.sent_head > 4096) {
          c.sent_at.erase(c.sent_at.begin(), c.sent_at.begin() + static_cast<long>(c.sent_head));
          c.sent_head = 0;
        }
      }
      if (c.out_pos < c.out.size()) {
        auto w = write(c.fd, c.out.data() + c.out_pos, c.out.size() - c.out_pos);
        if (w > 0)
          c.out_pos += static_cast<size_t>(w);
        if (c.out_pos == c.out.size()) {
          c.out.clear();
          c.out_pos = 0;
        }
      }
    }
  }
  double secs = std::chrono::duration<double>(clock_type::now() - start).count();
  std::sort(lat_us.begin(), lat_us.end());
  auto pct = [&](double p) {
    return lat_us.empty()
             ? 0.0
             : lat_us[std::min(lat_us.size() - 1, static_cast<size_t>(p * lat_us.size()))];
  };
  double rate = msgs / secs;
  double mbps = rate * frame / 1e6;
  if (a.json)
    std::printf("{\"conns\":%d,\"window\":%d,\"size\":%zu,\"seconds\":%.2f,\"msgs_per_s\":%.0f,"
                "\"mb_per_s\":%.2f,\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"ok\":%s}\n",
                a.conns, a.window, a.size, secs, rate, mbps, pct(0.5), pct(0.99), pct(0.999),
                failed ? "false" : "true");
  else
    std::printf("conns=%d window=%d size=%zu: %.0f msgs/s, %.2f MB/s, p50 %.1f us, p99 %.1f us, "
                "p99.9 %.1f us%s\n",
                a.conns, a.window, a.size, rate, mbps, pct(0.5), pct(0.99), pct(0.999),
                failed ? " (FAILED)" : "");
  for (auto& c : conns)
    close(c.fd);
  return failed ? 1 : 0;
}
