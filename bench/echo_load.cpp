// The tlv, ws and pingpong modes of tao-bench: level-triggered epoll, write
// interest only while a write is pending, so the client sleeps when the
// server is the bottleneck and its CPU share says how close it is to being
// one itself. With --threads=N the connections are split over N such loops,
// one per thread, which share nothing until their figures are merged.

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "load.hpp"

namespace tao::bench {

namespace {

using clock_type = std::chrono::steady_clock;

/// Bytes of a WebSocket frame header (without a mask key) for `n` payload
/// bytes.
size_t ws_header(size_t n) {
  return n < 126 ? 2 : n < 65536 ? 4 : 10;
}

/// Writes a WebSocket frame header: binary, final, `masked`, length `n`.
size_t put_ws_header(char* out, size_t n, bool masked) {
  auto bit = static_cast<uint8_t>(masked ? 0x80 : 0);
  out[0] = static_cast<char>(0x82);
  if (n < 126) {
    out[1] = static_cast<char>(bit | n);
    return 2;
  }
  if (n < 65536) {
    out[1] = static_cast<char>(bit | 126);
    out[2] = static_cast<char>(n >> 8);
    out[3] = static_cast<char>(n & 0xff);
    return 4;
  }
  out[1] = static_cast<char>(bit | 127);
  for (int i = 0; i < 8; ++i)
    out[2 + i] = static_cast<char>((static_cast<uint64_t>(n) >> (8 * (7 - i))) & 0xff);
  return 10;
}

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now().time_since_epoch())
    .count();
}

/// One client connection.
struct conn {
  int fd = -1;
  /// Offset into the payload pattern, so that connections differ.
  size_t shift = 0;
  std::vector<char> in;
  std::vector<char> out;
  size_t out_pos = 0;
  bool want_out = false;
  /// Send times of the frames (blocks) in flight, oldest at `sent_head`.
  std::vector<int64_t> sent;
  size_t sent_head = 0;
  /// tlv: frames queued and received; pingpong: bytes queued and received.
  uint64_t seq_out = 0;
  uint64_t seq_in = 0;
};

/// The state of one run (of one thread), shared by the per-mode handlers.
class echo_load {
public:
  /// Drives `args.conns` connections, numbered from `first` among all the
  /// run's connections, into `res`.
  echo_load(const load_args& args, load_result& res, size_t first = 0)
    : a_(args), r_(res), first_(first), ws_(args.mode == "ws"),
      frame_(ws_ ? ws_header(args.size + 4) + 4 + args.size : args.size + 8),
      tlv_(args.mode == "tlv" || ws_) {
    // Payload of frame n: pattern_[n % 26 ...], `size` bytes; pingpong blocks
    // start at the connection's shift.
    pattern_.resize(a_.size + 26);
    for (size_t i = 0; i < pattern_.size(); ++i)
      pattern_[i] = static_cast<char>('a' + i % 26);
  }

  bool connect_all() {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(a_.port));
    if (inet_pton(AF_INET, a_.host.c_str(), &addr.sin_addr) != 1)
      return fail("bad host " + a_.host);
    ep_ = epoll_create1(0);
    conns_.resize(static_cast<size_t>(a_.conns));
    for (size_t i = 0; i < conns_.size(); ++i) {
      auto& c = conns_[i];
      c.shift = (first_ + i) % 26;
      c.fd = socket(AF_INET, SOCK_STREAM, 0);
      if (c.fd < 0 || connect(c.fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
        return fail(std::string{"connect: "} + std::strerror(errno));
      int one = 1;
      setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      if (ws_ && !upgrade(c.fd))
        return false;
      fcntl(c.fd, F_SETFL, fcntl(c.fd, F_GETFL) | O_NONBLOCK);
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = i;
      epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
    }
    return true;
  }

  void run() {
    auto t = now_ns();
    for (auto& c : conns_) {
      c.out.reserve(static_cast<size_t>(a_.window) * frame_);
      for (int w = 0; w < a_.window; ++w)
        tlv_ ? put_frame(c, t) : put_block(c, t);
      flush(c);
    }
    t = now_ns();
    const auto warm_end = t + static_cast<int64_t>(a_.warmup * 1e9);
    bool measuring = a_.warmup <= 0;
    int64_t start = t, cpu_start_t = t;
    double cpu_start = process_cpu_seconds();
    double srv_start = process_cpu_seconds(a_.server_pid);
    auto end = start + static_cast<int64_t>((a_.warmup + a_.duration) * 1e9);
    const bool progress = !a_.quiet && a_.duration > 3;
    int64_t next_report = t + 1'000'000'000;
    uint64_t reported = 0;
    std::vector<epoll_event> events(512);
    while (r_.failure.empty()) {
      t = now_ns();
      if (!measuring && t >= warm_end) {
        measuring = true;
        r_.units = r_.bytes = 0;
        r_.latency.clear();
        cpu_start = process_cpu_seconds();
        srv_start = process_cpu_seconds(a_.server_pid);
        cpu_start_t = start = t;
        reported = 0;
      }
      if (t >= end)
        break;
      if (progress && t >= next_report) {
        report(t, start, reported);
        next_report += 1'000'000'000;
      }
      int n = epoll_wait(ep_, events.data(), static_cast<int>(events.size()), 50);
      for (int k = 0; k < n && r_.failure.empty(); ++k)
        on_event(events[static_cast<size_t>(k)]);
    }
    if (progress)
      std::fputc('\n', stderr);
    r_.seconds = static_cast<double>(now_ns() - cpu_start_t) / 1e9;
    r_.cpu_seconds = process_cpu_seconds() - cpu_start;
    r_.server_cpu_seconds = process_cpu_seconds(a_.server_pid) - srv_start;
    if (r_.units == 0)
      fail("no echo arrived");
  }

  void close_all() {
    for (auto& c : conns_) {
      if (c.fd < 0)
        continue;
      // Reset instead of a FIN: thousands of runs leave no TIME_WAIT behind.
      linger l{1, 0};
      setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
      close(c.fd);
    }
    if (ep_ >= 0)
      close(ep_);
  }

private:
  bool fail(std::string what) {
    if (r_.failure.empty())
      r_.failure = std::move(what);
    return false;
  }

  void report(int64_t t, int64_t start, uint64_t& reported) {
    double secs = static_cast<double>(t - start) / 1e9;
    std::fprintf(stderr, "%s%6.1f s  %10llu msgs/s  %8.1f MB/s total so far %llu%s",
                 isatty(2) ? "\r" : "", secs, static_cast<unsigned long long>(r_.units - reported),
                 secs > 0 ? static_cast<double>(r_.bytes) / secs / 1e6 : 0.0,
                 static_cast<unsigned long long>(r_.units), isatty(2) ? "" : "\n");
    reported = r_.units;
  }

  /// The WebSocket upgrade of one connection, blocking (before the run).
  bool upgrade(int fd) {
    std::string req = "GET / HTTP/1.1\r\nHost: " + a_.host
                      + "\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                        "Sec-WebSocket-Version: 13\r\n\r\n";
    if (send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size()))
      return fail("upgrade: send failed");
    std::string head;
    char ch;
    while (head.size() < 4096 && head.find("\r\n\r\n") == std::string::npos) {
      if (recv(fd, &ch, 1, 0) != 1)
        return fail("upgrade: the server closed");
      head += ch;
    }
    if (head.rfind("HTTP/1.1 101 ", 0) != 0)
      return fail("upgrade refused: " + head.substr(0, head.find('\r')));
    return true;
  }

  /// A masked binary message: type 1, the payload. The mask key is 0, so
  /// the client spends nothing on masking (a benchmark shortcut; the server
  /// unmasks as for any key).
  void put_ws_frame(conn& c, int64_t t) {
    char hdr[14];
    auto n = put_ws_header(hdr, a_.size + 4, true);
    std::memset(hdr + n, 0, 4);
    n += 4;
    uint32_t type = 1;
    c.out.insert(c.out.end(), hdr, hdr + n);
    c.out.insert(c.out.end(), reinterpret_cast<char*>(&type), reinterpret_cast<char*>(&type) + 4);
    const char* p = pattern_.data() + c.seq_out++ % 26;
    c.out.insert(c.out.end(), p, p + a_.size);
    c.sent.push_back(t);
  }

  void put_frame(conn& c, int64_t t) {
    if (ws_) {
      put_ws_frame(c, t);
      return;
    }
    char hdr[8];
    uint32_t type = 1, len = static_cast<uint32_t>(a_.size);
    std::memcpy(hdr, &type, 4); // little-endian host (x86_64, aarch64)
    std::memcpy(hdr + 4, &len, 4);
    c.out.insert(c.out.end(), hdr, hdr + 8);
    const char* p = pattern_.data() + c.seq_out++ % 26;
    c.out.insert(c.out.end(), p, p + a_.size);
    c.sent.push_back(t);
  }

  void put_block(conn& c, int64_t t) {
    const char* p = pattern_.data() + c.shift;
    c.out.insert(c.out.end(), p, p + a_.size);
    c.seq_out += a_.size;
    c.sent.push_back(t);
  }

  void on_event(const epoll_event& ev) {
    auto& c = conns_[ev.data.u64];
    if (ev.events & EPOLLIN) {
      auto r = read(c.fd, rbuf_.data(), rbuf_.size());
      if (r == 0) {
        fail("the server closed a connection");
        return;
      }
      if (r > 0) {
        auto t = now_ns();
        tlv_ ? on_frames(c, static_cast<size_t>(r), t) : on_blocks(c, static_cast<size_t>(r), t);
      } else if (errno != EAGAIN && errno != EINTR) {
        fail(std::string{"read: "} + std::strerror(errno));
        return;
      }
    } else if (ev.events & (EPOLLERR | EPOLLHUP)) {
      fail("connection error");
      return;
    }
    flush(c);
  }

  void on_frames(conn& c, size_t n, int64_t t) {
    const char* data = rbuf_.data();
    if (!c.in.empty()) {
      // Complete the frame that spans reads, then parse the rest in place.
      size_t take = std::min(n, frame_ - c.in.size());
      c.in.insert(c.in.end(), data, data + take);
      data += take;
      n -= take;
      if (c.in.size() < frame_ || !on_frame(c, c.in.data(), t))
        return;
      c.in.clear();
    }
    size_t pos = 0;
    for (; n - pos >= frame_; pos += frame_)
      if (!on_frame(c, data + pos, t))
        return;
    c.in.assign(data + pos, data + n);
  }

  bool on_frame(conn& c, const char* f, int64_t t) {
    if (ws_) {
      char hdr[10];
      auto n = put_ws_header(hdr, a_.size + 4, false);
      uint32_t type;
      std::memcpy(&type, f + n, 4);
      const char* expect = pattern_.data() + c.seq_in++ % 26;
      if (std::memcmp(f, hdr, n) != 0 || type != 1 || std::memcmp(f + n + 4, expect, a_.size) != 0)
        return fail("bad echo: wrong frame header, type or payload");
      arrived(c, t, frame_);
      put_frame(c, t);
      return true;
    }
    uint32_t type, plen;
    std::memcpy(&type, f, 4);
    std::memcpy(&plen, f + 4, 4);
    const char* expect = pattern_.data() + c.seq_in++ % 26;
    if (type != 1 || plen != a_.size || std::memcmp(f + 8, expect, a_.size) != 0)
      return fail("bad echo: wrong type, length or payload");
    arrived(c, t, frame_);
    put_frame(c, t);
    return true;
  }

  void on_blocks(conn& c, size_t n, int64_t t) {
    const char* data = rbuf_.data();
    for (size_t i = 0; i < n;) {
      size_t off = c.seq_in % a_.size;
      size_t k = std::min(n - i, a_.size - off);
      if (std::memcmp(data + i, pattern_.data() + c.shift + off, k) != 0) {
        fail("bad echo: wrong bytes");
        return;
      }
      i += k;
      c.seq_in += k;
      if (c.seq_in % a_.size == 0)
        arrived(c, t, a_.size);
    }
    // Echo what came back (straight from the read buffer when nothing is
    // queued); a block counts as sent once all of it is queued.
    size_t before = c.seq_out / a_.size;
    c.seq_out += n;
    if (c.out.empty()) {
      auto w = send(c.fd, data, n, MSG_NOSIGNAL);
      if (w < 0 && errno != EAGAIN && errno != EINTR) {
        fail(std::string{"send: "} + std::strerror(errno));
        return;
      }
      if (w > 0) {
        data += w;
        n -= static_cast<size_t>(w);
      }
    }
    c.out.insert(c.out.end(), data, data + n);
    for (size_t b = before; b < c.seq_out / a_.size; ++b)
      c.sent.push_back(t);
  }

  void arrived(conn& c, int64_t t, size_t bytes) {
    r_.latency.record(static_cast<uint64_t>(t - c.sent[c.sent_head++]));
    ++r_.units;
    r_.bytes += bytes;
    if (c.sent_head >= 4096) {
      c.sent.erase(c.sent.begin(), c.sent.begin() + static_cast<long>(c.sent_head));
      c.sent_head = 0;
    }
  }

  void flush(conn& c) {
    if (c.out_pos < c.out.size()) {
      auto w = send(c.fd, c.out.data() + c.out_pos, c.out.size() - c.out_pos, MSG_NOSIGNAL);
      if (w > 0)
        c.out_pos += static_cast<size_t>(w);
      else if (w < 0 && errno != EAGAIN && errno != EINTR) {
        fail(std::string{"send: "} + std::strerror(errno));
        return;
      }
    }
    if (c.out_pos == c.out.size()) {
      c.out.clear();
      c.out_pos = 0;
    } else if (c.out_pos > (1u << 20)) {
      c.out.erase(c.out.begin(), c.out.begin() + static_cast<long>(c.out_pos));
      c.out_pos = 0;
    }
    bool want = !c.out.empty();
    if (want != c.want_out) {
      epoll_event ev{};
      ev.events = EPOLLIN | (want ? static_cast<uint32_t>(EPOLLOUT) : 0u);
      ev.data.u64 = static_cast<uint64_t>(&c - conns_.data());
      epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
      c.want_out = want;
    }
  }

  const load_args a_;
  load_result& r_;
  const size_t first_;
  const bool ws_;
  const size_t frame_;
  const bool tlv_;
  std::vector<char> pattern_;
  std::vector<conn> conns_;
  std::vector<char> rbuf_ = std::vector<char>(256 * 1024);
  int ep_ = -1;
};

/// Adds the counts and latencies of `parts` to `out`; the interval and CPU
/// times are those of the first part (CPU times are process-wide, and the
/// threads measure nearly the same interval). The first failure wins.
void merge_results(const std::vector<load_result>& parts, load_result& out) {
  out.seconds = parts.front().seconds;
  out.cpu_seconds = parts.front().cpu_seconds;
  out.server_cpu_seconds = parts.front().server_cpu_seconds;
  for (const auto& p : parts) {
    out.units += p.units;
    out.bytes += p.bytes;
    out.latency.merge(p.latency);
    if (out.failure.empty())
      out.failure = p.failure;
  }
}

/// Splits the connections over `threads` loops. They connect one after the
/// other on this thread, in the same order as a single loop would, then
/// all run at once, one thread each.
void run_threaded(const load_args& args, size_t threads, load_result& out) {
  std::vector<load_result> parts(threads);
  std::vector<std::unique_ptr<echo_load>> loads;
  auto conns = static_cast<size_t>(args.conns);
  bool connected = true;
  for (size_t i = 0, first = 0; i < threads && connected; ++i) {
    load_args share = args;
    share.conns = static_cast<int>(conns / threads + (i < conns % threads ? 1 : 0));
    share.quiet = true; // one progress line per thread would interleave
    loads.push_back(std::make_unique<echo_load>(share, parts[i], first));
    first += static_cast<size_t>(share.conns);
    connected = loads.back()->connect_all();
  }
  if (connected) {
    std::vector<std::thread> workers;
    for (auto& l : loads)
      workers.emplace_back([&l] { l->run(); });
    for (auto& w : workers)
      w.join();
  }
  for (auto& l : loads)
    l->close_all();
  merge_results(parts, out);
}

} // namespace

void run_echo_load(const load_args& args, load_result& out) {
  auto threads = static_cast<size_t>(std::min(args.threads, args.conns));
  if (threads > 1) {
    run_threaded(args, threads, out);
    return;
  }
  echo_load load{args, out};
  if (load.connect_all())
    load.run();
  load.close_all();
}

} // namespace tao::bench
