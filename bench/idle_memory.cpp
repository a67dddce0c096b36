// tao-idle-memory: resident memory per idle connection, the accept rate on
// the way, and what the operations that visit every connection cost. Starts
// a tao echo server in this process, lets a child process open N
// connections that each exchange one frame and then sit idle, and reports
// the growth of this process's RSS divided by N. Then it times, with all N
// connections open, a broadcast of one 64-byte frame (request to reply: the
// frame queued on every connection), a stats request, a count request and,
// with --metrics, rendering the Prometheus text (medians of --ops each).
//
//   tao-idle-memory --conns=10000 [--dispatch=scheduled|inline]
//                   [--io-threads=N] [--ops=20] [--metrics]
//
// Without --dispatch it measures the library's default (inline).

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tao/all.hpp"

#include "cli.hpp"

using echo_message = tao::protocol::text_message<1>;

namespace {

long rss_kib() {
  std::ifstream in{"/proc/self/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::atol(line.c_str() + 6);
  return 0;
}

/// Child: opens `n` connections, exchanges one frame on each, reports, waits.
[[noreturn]] void run_peers(uint16_t port, int n, int ready_fd, int done_fd) {
  std::vector<int> fds;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  const char frame[] = {1, 0, 0, 0, 2, 0, 0, 0, 'h', 'i'};
  for (int i = 0; i < n; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0
        || write(fd, frame, sizeof(frame)) != sizeof(frame))
      _exit(1);
    fds.push_back(fd);
  }
  char buf[16];
  for (int fd : fds)
    if (recv(fd, buf, sizeof(frame), MSG_WAITALL) != sizeof(frame))
      _exit(2);
  char ok = 1;
  if (write(ready_fd, &ok, 1) != 1)
    _exit(3);
  if (read(done_fd, &ok, 1) < 0)
    _exit(4);
  _exit(0);
}

/// The median of `n` runs of `f`, in microseconds.
template <class F>
double median_us(int n, F f) {
  std::vector<double> us;
  for (int i = 0; i < n; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    us.push_back(
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(us.begin(), us.end());
  return us[us.size() / 2];
}

} // namespace

int main(int argc, char** argv) {
  int conns = 10000;
  std::string dispatch = "default";
  size_t io_threads = 1;
  int ops = 20;
  bool metrics = false;
  CLI::App app{"tao-idle-memory: memory per idle tao connection"};
  app.add_option("--conns", conns, "connections")->check(CLI::Range(1, 1000000));
  app
    .add_option("--dispatch", dispatch,
                "where handlers run: scheduled or inline (or inline_io); default: the "
                "library's default")
    ->check(CLI::IsMember({"default", "scheduled", "inline", "inline_io"}));
  app.add_option("--io-threads", io_threads, "I/O threads of the server")
    ->check(CLI::Range(1, 256));
  app.add_option("--ops", ops, "timed runs of each operation (odd: a true median)")
    ->check(CLI::Range(1, 10000));
  app.add_flag("--metrics", metrics, "count into Prometheus metrics (and time rendering them)");
  if (auto exit_code = tao::bench::parse_cli(app, argc, argv))
    return *exit_code;
  rlimit lim{static_cast<rlim_t>(conns) * 2 + 100, static_cast<rlim_t>(conns) * 2 + 100};
  setrlimit(RLIMIT_NOFILE, &lim);
  // The pool before the system: it must outlive it.
  tao::io_pool pool{io_threads};
  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  caf::actor_system sys{cfg};
  tao::server_options opts;
  opts.io_threads = io_threads;
  opts.io_pool = &pool;
  if (metrics)
    opts.metrics = std::make_shared<tao::metrics>();
  opts.max_connections = static_cast<size_t>(conns) + 10;
  if (dispatch != "default")
    opts.dispatch =
      dispatch != "scheduled" ? tao::dispatch_mode::inline_io : tao::dispatch_mode::scheduled;
  opts.handlers.on<echo_message>([](tao::connection& c, const echo_message& m) { c.write(m); });
  auto srv = *tao::server::start(sys, opts);
  // Warm up the allocator and CAF with a first small batch, then measure.
  int ready[2], done[2];
  if (pipe(ready) != 0 || pipe(done) != 0)
    return 1;
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto before = rss_kib();
  auto started = std::chrono::steady_clock::now();
  pid_t child = fork();
  if (child == 0)
    run_peers(srv.port(), conns, ready[1], done[0]);
  char ok = 0;
  if (read(ready[0], &ok, 1) != 1) {
    std::fprintf(stderr, "peers failed\n");
    return 1;
  }
  // The peers connect one after the other and each gets one echo: the time
  // until all are served gives the accept (and first-frame) rate.
  auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto after = rss_kib();
  std::printf("dispatch=%s io_threads=%zu conns=%d: accepted and served in %.2f s (%.0f "
              "connections/s), RSS %ld KiB -> %ld KiB, %.2f KiB per idle connection\n",
              (opts.dispatch == tao::dispatch_mode::inline_io ? "inline" : "scheduled"), io_threads,
              conns, took, conns / took, before, after,
              static_cast<double>(after - before) / conns);
  {
    caf::scoped_actor self{sys};
    tao::protocol::byte_buffer frame;
    if (auto err =
          tao::protocol::encode_message(*opts.codec, echo_message{std::string(56, 'b')}, frame))
      return 1;
    uint64_t delivered = 0;
    auto broadcast = median_us(ops, [&] {
      self->request(srv.actor(), caf::infinite, tao::broadcast_atom::value, frame)
        .receive([&](tao::broadcast_result& r) { delivered = r.delivered; }, [](caf::error&) {});
    });
    auto stats = median_us(ops, [&] {
      self->request(srv.actor(), caf::infinite, tao::stats_atom::value)
        .receive([](tao::server_stats&) {}, [](caf::error&) {});
    });
    auto count = median_us(ops, [&] {
      self->request(srv.actor(), caf::infinite, tao::count_atom::value)
        .receive([](uint64_t) {}, [](caf::error&) {});
    });
    std::printf("io_threads=%zu conns=%d: broadcast of 64 B to %llu connections %.0f us "
                "(%.1f ns per connection), stats %.0f us, count %.0f us",
                io_threads, conns, static_cast<unsigned long long>(delivered), broadcast,
                broadcast * 1000 / std::max<uint64_t>(delivered, 1), stats, count);
    if (metrics) {
      size_t bytes = 0;
      auto scrape = median_us(ops, [&] { bytes = opts.metrics->text().size(); });
      std::printf(", metrics text %.0f us (%zu bytes)", scrape, bytes);
    }
    std::printf(" (medians of %d)\n", ops);
  }
  if (write(done[1], &ok, 1) != 1)
    return 1;
  waitpid(child, nullptr, 0);
  caf::scoped_actor self{sys};
  self->request(srv.actor(), caf::infinite, tao::stop_atom::value)
    .receive([] {}, [](caf::error&) {});
  return 0;
}
