// tao-soak-load: the load generator of bench/soak. Opens N Tao connections
// to 127.0.0.1:PORT from one epoll thread, then for a duration sends on each
// a heartbeat (type 0, int64 LE nanoseconds) every heartbeat period and an
// echo frame (type 1) every echo period, staggered over the period. It checks
// every echo reply (order and bytes), counts the server's heartbeats per
// connection and treats any connection the server ends as a failure. Then it
// closes every connection.
//
//   tao-soak-load --port=P --conns=10000 --duration=120 --heartbeat-ms=5000
//                 --echo-ms=10000 --server-heartbeat-ms=5000
//
// Prints `key=value` lines; "midpoint" at half the duration (bench/soak
// samples the server then); exits 1 if a check failed.

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <queue>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct args {
  uint16_t port = 0;
  int conns = 10000;
  int duration_s = 120;
  int heartbeat_ms = 5000;
  int echo_ms = 10000;
  int server_heartbeat_ms = 0;
  int payload = 64;
};

/// One connection's state.
struct peer {
  int fd = -1;
  std::string in;                  ///< bytes read, not yet parsed
  std::deque<std::string> pending; ///< echo payloads awaiting their reply
  std::deque<clock_type::time_point> sent_at;
  uint64_t echo_seq = 0;
  uint64_t heartbeats_in = 0;
  bool lost = false;
};

struct totals {
  uint64_t heartbeats_out = 0;
  uint64_t heartbeats_in = 0;
  uint64_t echoes_out = 0;
  uint64_t echoes_in = 0;
  uint64_t mismatches = 0;
  uint64_t bad_frames = 0;
  uint64_t lost = 0;
  uint64_t send_failures = 0;
  double max_rtt_ms = 0;
};

void put_le32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    p[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

uint32_t get_le32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= static_cast<uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

std::string frame(int32_t type, const std::string& payload) {
  std::string out(8, '\0');
  put_le32(out.data(), static_cast<uint32_t>(type));
  put_le32(out.data() + 4, static_cast<uint32_t>(payload.size()));
  return out + payload;
}

std::string heartbeat_frame() {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
              std::chrono::system_clock::now().time_since_epoch())
              .count();
  std::string payload(8, '\0');
  for (int i = 0; i < 8; ++i)
    payload[static_cast<size_t>(i)] =
      static_cast<char>((static_cast<uint64_t>(ns) >> (8 * i)) & 0xFF);
  return frame(0, payload);
}

class soak_load {
public:
  explicit soak_load(const args& a) : a_(a), peers_(static_cast<size_t>(a.conns)) {
    ep_ = epoll_create1(0);
  }

  ~soak_load() {
    close_all();
    ::close(ep_);
  }

  soak_load(const soak_load&) = delete;
  soak_load& operator=(const soak_load&) = delete;

  /// Opens every connection; false if one failed.
  bool connect_all() {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(a_.port);
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    auto began = clock_type::now();
    for (size_t i = 0; i < peers_.size(); ++i) {
      int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        std::printf("error=connect %zu failed: %s\n", i, std::strerror(errno));
        if (fd >= 0)
          ::close(fd);
        return false;
      }
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      peers_[i].fd = fd;
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = i;
      epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
      if (i % 256 == 255)
        poll_once(0);
    }
    auto took = std::chrono::duration_cast<milliseconds>(clock_type::now() - began).count();
    std::printf("connected=%zu\nconnect_ms=%lld\n", peers_.size(), static_cast<long long>(took));
    std::fflush(stdout);
    return true;
  }

  /// Heartbeats and echoes for the duration, then waits (at most 10 s) for
  /// the outstanding echo replies.
  void run() {
    using event = std::pair<clock_type::time_point, uint64_t>; // (due, peer*2 + kind)
    std::priority_queue<event, std::vector<event>, std::greater<>> due;
    auto start = clock_type::now();
    auto n = peers_.size();
    for (size_t i = 0; i < n; ++i) {
      auto hb_off = milliseconds(static_cast<int64_t>(a_.heartbeat_ms) * static_cast<int64_t>(i)
                                 / static_cast<int64_t>(n));
      auto echo_off = milliseconds(static_cast<int64_t>(a_.echo_ms) * static_cast<int64_t>(i)
                                   / static_cast<int64_t>(n));
      due.emplace(start + hb_off, i * 2);
      due.emplace(start + echo_off, i * 2 + 1);
    }
    auto end = start + std::chrono::seconds(a_.duration_s);
    auto mid = start + std::chrono::seconds(a_.duration_s) / 2;
    bool mid_printed = false;
    while (clock_type::now() < end) {
      auto now = clock_type::now();
      while (!due.empty() && due.top().first <= now) {
        auto [when, what] = due.top();
        due.pop();
        auto& p = peers_[what / 2];
        if (p.lost)
          continue;
        if (what % 2 == 0) {
          send(p, heartbeat_frame());
          ++t_.heartbeats_out;
          due.emplace(when + milliseconds(a_.heartbeat_ms), what);
        } else {
          auto payload = "echo " + std::to_string(what / 2) + " " + std::to_string(p.echo_seq++);
          payload.resize(static_cast<size_t>(a_.payload), '.');
          p.pending.push_back(payload);
          p.sent_at.push_back(clock_type::now());
          send(p, frame(1, payload));
          ++t_.echoes_out;
          due.emplace(when + milliseconds(a_.echo_ms), what);
        }
      }
      if (!mid_printed && now >= mid) {
        std::printf("midpoint\n");
        std::fflush(stdout);
        mid_printed = true;
      }
      auto wait = due.empty() ? milliseconds(10)
                              : std::chrono::duration_cast<milliseconds>(due.top().first - now);
      poll_once(static_cast<int>(std::clamp<int64_t>(wait.count(), 0, 10)));
    }
    auto drain_end = clock_type::now() + std::chrono::seconds(10);
    while (outstanding() > 0 && clock_type::now() < drain_end)
      poll_once(10);
  }

  /// Closes every connection gracefully: sends FIN (shutdown SHUT_WR), then
  /// reads and discards until the server's FIN (at most 10 s), and only then
  /// closes the socket. Closing with the server's last heartbeat still unread
  /// would make the kernel answer with RST, which the server rightly counts
  /// as a network failure rather than a clean close. Returns how many
  /// connections closed that way.
  size_t close_all() {
    closing_ = true;
    open_ = 0;
    aborted_ = 0;
    for (auto& p : peers_)
      if (p.fd >= 0) {
        if (!p.lost && ::shutdown(p.fd, SHUT_WR) == 0)
          ++open_;
        else
          finish(p);
      }
    size_t waiting = open_;
    auto deadline = clock_type::now() + std::chrono::seconds(10);
    while (open_ > 0 && clock_type::now() < deadline)
      poll_once(10);
    for (auto& p : peers_)
      if (p.fd >= 0)
        finish(p);
    size_t graceful = waiting - open_ - aborted_;
    open_ = 0;
    return graceful;
  }

  /// Prints the totals; true if every check passed.
  bool report() {
    uint64_t min_hb = UINT64_MAX;
    for (auto& p : peers_) {
      min_hb = std::min(min_hb, p.heartbeats_in);
      t_.heartbeats_in += p.heartbeats_in;
    }
    auto unanswered = outstanding();
    std::printf("heartbeats_sent=%llu\nserver_heartbeats_received=%llu\n"
                "server_heartbeats_min_per_conn=%llu\nechoes_sent=%llu\nechoes_answered=%llu\n"
                "echoes_unanswered=%llu\nechoes_mismatched=%llu\nbad_frames=%llu\n"
                "conns_lost=%llu\nsend_failures=%llu\necho_rtt_max_ms=%.1f\n",
                ull(t_.heartbeats_out), ull(t_.heartbeats_in), ull(min_hb), ull(t_.echoes_out),
                ull(t_.echoes_in), ull(unanswered), ull(t_.mismatches), ull(t_.bad_frames),
                ull(t_.lost), ull(t_.send_failures), t_.max_rtt_ms);
    bool ok = t_.lost == 0 && t_.mismatches == 0 && t_.bad_frames == 0 && unanswered == 0
              && t_.send_failures == 0 && t_.echoes_in == t_.echoes_out;
    if (a_.server_heartbeat_ms > 0) {
      // Every connection lived the whole duration: it must have seen all but
      // the first and the last period's heartbeat.
      auto expected =
        static_cast<uint64_t>(a_.duration_s) * 1000 / static_cast<uint64_t>(a_.server_heartbeat_ms);
      auto floor = expected > 2 ? expected - 2 : 0;
      std::printf("server_heartbeats_expected_min=%llu\n", ull(floor));
      ok = ok && min_hb >= floor;
    }
    std::printf("result=%s\n", ok ? "ok" : "FAILED");
    std::fflush(stdout);
    return ok;
  }

private:
  static unsigned long long ull(uint64_t x) {
    return static_cast<unsigned long long>(x);
  }

  uint64_t outstanding() const {
    uint64_t n = 0;
    for (auto& p : peers_)
      if (!p.lost)
        n += p.pending.size();
    return n;
  }

  void send(peer& p, const std::string& bytes) {
    auto n = ::send(p.fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n != static_cast<ssize_t>(bytes.size()))
      ++t_.send_failures;
  }

  void lose(peer& p) {
    if (!p.lost) {
      p.lost = true;
      ++t_.lost;
      epoll_ctl(ep_, EPOLL_CTL_DEL, p.fd, nullptr);
    }
  }

  void poll_once(int timeout_ms) {
    epoll_event events[512];
    int n = epoll_wait(ep_, events, 512, timeout_ms);
    for (int i = 0; i < n; ++i)
      read_from(peers_[events[i].data.u64]);
  }

  /// Closes a peer's socket for good.
  void finish(peer& p) {
    epoll_ctl(ep_, EPOLL_CTL_DEL, p.fd, nullptr);
    ::close(p.fd);
    p.fd = -1;
  }

  void read_from(peer& p) {
    char buf[16384];
    auto n = ::recv(p.fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (closing_) {
      // During the graceful close: discard until the server's FIN.
      bool failed = n < 0 && errno != EAGAIN && errno != EWOULDBLOCK;
      if (n == 0 || failed) {
        aborted_ += failed ? 1 : 0;
        finish(p);
        --open_;
      }
      return;
    }
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
      lose(p);
      return;
    }
    if (n < 0)
      return;
    p.in.append(buf, static_cast<size_t>(n));
    size_t pos = 0;
    while (p.in.size() - pos >= 8) {
      auto type = static_cast<int32_t>(get_le32(p.in.data() + pos));
      auto len = get_le32(p.in.data() + pos + 4);
      if (p.in.size() - pos - 8 < len)
        break;
      std::string payload = p.in.substr(pos + 8, len);
      pos += 8 + len;
      if (type == 0 && len == 8) {
        ++p.heartbeats_in;
      } else if (type == 1 && !p.pending.empty()) {
        if (payload != p.pending.front())
          ++t_.mismatches;
        auto rtt =
          std::chrono::duration<double, std::milli>(clock_type::now() - p.sent_at.front()).count();
        t_.max_rtt_ms = std::max(t_.max_rtt_ms, rtt);
        p.pending.pop_front();
        p.sent_at.pop_front();
        ++t_.echoes_in;
      } else {
        ++t_.bad_frames;
      }
    }
    p.in.erase(0, pos);
  }

  args a_;
  std::vector<peer> peers_;
  totals t_;
  int ep_ = -1;
  bool closing_ = false; ///< in close_all: reads only wait for the FIN
  size_t open_ = 0;      ///< in close_all: sockets awaiting the server's FIN
  size_t aborted_ = 0;   ///< in close_all: sockets that failed instead
};

} // namespace

int main(int argc, char** argv) {
  args a;
  CLI::App app{"tao-soak-load: heartbeating Tao connections for bench/soak"};
  app.add_option("-p,--port", a.port, "server port on 127.0.0.1")->required();
  app.add_option("--conns", a.conns, "connections")->check(CLI::Range(1, 100000));
  app.add_option("--duration", a.duration_s, "seconds of heartbeats and echoes")
    ->check(CLI::Range(1, 86400));
  app.add_option("--heartbeat-ms", a.heartbeat_ms, "heartbeat period per connection")
    ->check(CLI::Range(10, 600000));
  app.add_option("--echo-ms", a.echo_ms, "echo period per connection")
    ->check(CLI::Range(10, 600000));
  app.add_option("--server-heartbeat-ms", a.server_heartbeat_ms,
                 "the server's heartbeat period, to check the counts (0: no check)");
  app.add_option("--payload", a.payload, "echo payload bytes")->check(CLI::Range(32, 65536));
  if (auto exit_code = tao::bench::parse_cli(app, argc, argv))
    return *exit_code;
  soak_load load{a};
  if (!load.connect_all())
    return 1;
  load.run();
  bool ok = load.report();
  auto graceful = load.close_all();
  std::printf("closed=%zu\n", graceful);
  return ok ? 0 : 1;
}
