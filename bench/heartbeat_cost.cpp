// tao-heartbeat-cost: what per-connection liveness timers cost. Opens N idle
// loopback connections to an in-process server that sends Tao heartbeats
// every P ms, and reports the server process's CPU time per heartbeat,
// against the same run with heartbeats off.
//
//   tao-heartbeat-cost --conns=2000 --period-ms=100 --seconds=5

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tao/all.hpp"

#include "cli.hpp"

namespace {

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec)
         + static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/// Runs one measurement; returns CPU seconds spent while `conns` sockets sat
/// idle for `seconds` (their heartbeats are drained by a reader thread).
double measure(int conns, int period_ms, int seconds, uint64_t& heartbeats) {
  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  caf::actor_system sys{cfg};
  tao::server_options opts;
  opts.max_connections = static_cast<size_t>(conns) + 10;
  opts.heartbeat_period = std::chrono::milliseconds(period_ms);
  opts.heartbeat_misses = 1'000'000; // peers stay silent; only sending is measured
  auto srv = *tao::server::start(sys, opts);
  // The peers live in a child process, so that only the server's CPU time is
  // measured here. The child connects, drains every socket until told to
  // stop, and reports the bytes it read through a pipe.
  int report[2];
  if (pipe(report) != 0)
    std::abort();
  pid_t child = fork();
  if (child == 0) {
    std::vector<int> fds;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(srv.port());
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    for (int i = 0; i < conns; ++i) {
      int fd = socket(AF_INET, SOCK_STREAM, 0);
      connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
      fcntl(fd, F_SETFL, O_NONBLOCK);
      fds.push_back(fd);
    }
    uint64_t bytes = 0;
    char buf[4096];
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(500)
               + std::chrono::seconds(seconds);
    while (std::chrono::steady_clock::now() < end) {
      for (int fd : fds)
        for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0;)
          bytes += static_cast<uint64_t>(n);
      usleep(10'000);
    }
    if (write(report[1], &bytes, sizeof(bytes)) != sizeof(bytes))
      _exit(1);
    _exit(0);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500)); // let accepts settle
  auto before = cpu_seconds();
  uint64_t bytes = 0;
  if (read(report[0], &bytes, sizeof(bytes)) != sizeof(bytes))
    bytes = 0;
  auto used = cpu_seconds() - before;
  heartbeats = bytes / 16;
  waitpid(child, nullptr, 0);
  caf::scoped_actor self{sys};
  self->request(srv.actor(), caf::infinite, tao::stop_atom::value)
    .receive([] {}, [](caf::error&) {});
  return used;
}

} // namespace

int main(int argc, char** argv) {
  int conns = 2000;
  int period_ms = 100;
  int seconds = 5;
  CLI::App app{"tao-heartbeat-cost: CPU per Tao heartbeat on idle connections"};
  app.add_option("--conns", conns, "connections")->check(CLI::Range(1, 1000000));
  app.add_option("--period-ms", period_ms, "heartbeat period")->check(CLI::Range(1, 3600000));
  app.add_option("--seconds", seconds, "length of each measurement")->check(CLI::Range(1, 3600));
  if (auto exit_code = tao::bench::parse_cli(app, argc, argv))
    return *exit_code;
  uint64_t beats = 0;
  uint64_t none = 0;
  auto idle = measure(conns, 0, seconds, none);
  auto busy = measure(conns, period_ms, seconds, beats);
  std::printf("conns=%d period=%d ms over %d s: %llu heartbeats received, CPU %.3f s "
              "(heartbeats off: %.3f s): %.2f us per heartbeat, %.1f%% of one core\n",
              conns, period_ms, seconds, static_cast<unsigned long long>(beats), busy, idle,
              beats > 0 ? (busy - idle) * 1e6 / static_cast<double>(beats) : 0.0,
              (busy - idle) * 100.0 / seconds);
  return 0;
}
