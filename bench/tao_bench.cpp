// tao-bench: load generator for echo servers (see docs/benchmarks.md).
//
//   tao-bench --mode=tlv --port=P --conns=N --window=W --size=S --duration=SEC
//
// tlv: each connection keeps W frames of type 1 with S-byte payloads in
// flight and checks every echo (type, length, payload bytes). ws: the same
// over tao's WebSocket transport (tao-bench-server --transport=websocket):
// an upgrade per connection, then masked binary messages (mask key 0),
// type 1 + payload, each echo checked. pingpong:
// muduo/Asio's method: each session sends W blocks of S bytes on connect and
// echoes whatever comes back, no framing; every byte is checked. accept:
// parallel connectors open N connections, each exchanging one frame. Prints
// msgs/s, MB/s (received, headers included), round-trip percentiles and the
// client's own CPU use, so a saturated client shows. --threads=N splits the
// connections of tlv, ws and pingpong over N threads, each with its own epoll
// loop (the client's CPU share may then exceed 100%).

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>

#include <CLI/CLI.hpp>
#include <sys/resource.h>
#include <unistd.h>

#include "cli.hpp"
#include "load.hpp"

namespace {

using tao::bench::load_args;
using tao::bench::load_result;

void add_flags(CLI::App& app, load_args& a) {
  app
    .add_option("--mode", a.mode,
                "tlv (Tao frames), ws (Tao frames as WebSocket messages), pingpong (raw echo) "
                "or accept")
    ->check(CLI::IsMember({"tlv", "ws", "pingpong", "accept"}))
    ->capture_default_str();
  app.add_option("--host", a.host, "server address (IPv4)")->capture_default_str();
  app.add_option("-p,--port", a.port, "server port")->capture_default_str();
  app.add_option("--conns", a.conns, "connections")
    ->check(CLI::Range(1, 1000000))
    ->capture_default_str();
  app.add_option("--window", a.window, "frames (blocks) in flight per connection; 1: closed loop")
    ->check(CLI::Range(1, 100000))
    ->capture_default_str();
  app.add_option("--size", a.size, "payload (block) bytes")
    ->check(CLI::Range(size_t{1}, size_t{8} << 20))
    ->capture_default_str();
  app.add_option("--duration", a.duration, "measured seconds")
    ->check(CLI::PositiveNumber)
    ->capture_default_str();
  app.add_option("--warmup", a.warmup, "seconds run before measuring")
    ->check(CLI::NonNegativeNumber)
    ->capture_default_str();
  app.add_option("--connectors", a.connectors, "parallel connecting threads (accept)")
    ->check(CLI::Range(1, 256))
    ->capture_default_str();
  app
    .add_option("--threads", a.threads,
                "threads driving the connections, each with its own epoll loop and an equal "
                "share of them (tlv, ws, pingpong); no progress line with more than one")
    ->check(CLI::Range(1, 256))
    ->capture_default_str();
  app.add_option("--server-pid", a.server_pid, "also report this process's CPU share")
    ->check(CLI::NonNegativeNumber);
  app.add_flag("--json", a.json, "print one JSON object instead of a line");
  app.add_flag("--quiet", a.quiet, "no progress line");
}

void print(const load_args& a, const load_result& r) {
  double secs = r.seconds > 0 ? r.seconds : 1;
  double rate = static_cast<double>(r.units) / secs;
  double mbps = static_cast<double>(r.bytes) / secs / 1e6;
  double cpu = 100.0 * r.cpu_seconds / secs;
  double srv_cpu = 100.0 * r.server_cpu_seconds / secs;
  const auto& h = r.latency;
  if (a.json)
    std::printf("{\"mode\":\"%s\",\"conns\":%d,\"window\":%d,\"size\":%zu,\"seconds\":%.3f,"
                "\"msgs_per_s\":%.0f,\"mb_per_s\":%.2f,\"p50_us\":%.1f,\"p99_us\":%.1f,"
                "\"p999_us\":%.1f,\"client_cpu_pct\":%.0f,\"server_cpu_pct\":%.0f,\"ok\":%s}\n",
                a.mode.c_str(), a.conns, a.window, a.size, r.seconds, rate, mbps,
                h.quantile_us(0.5), h.quantile_us(0.99), h.quantile_us(0.999), cpu, srv_cpu,
                r.failure.empty() ? "true" : "false");
  else
    std::printf("%s conns=%d window=%d size=%zu: %.0f %s/s, %.2f MB/s, p50 %.1f us, p99 %.1f us, "
                "p99.9 %.1f us, client CPU %.0f%%, server CPU %.0f%%%s%s\n",
                a.mode.c_str(), a.conns, a.window, a.size, rate,
                a.mode == "accept" ? "conns" : "msgs", mbps, h.quantile_us(0.5),
                h.quantile_us(0.99), h.quantile_us(0.999), cpu, srv_cpu,
                r.failure.empty() ? "" : ": ", r.failure.c_str());
}

} // namespace

double tao::bench::process_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto secs = [](const timeval& tv) {
    return tv.tv_sec + tv.tv_usec / 1e6;
  };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

double tao::bench::process_cpu_seconds(int pid) {
  if (pid <= 0)
    return 0;
  std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
  std::string stat{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  // Fields after the command name (which may hold spaces): state is field 3,
  // utime and stime are fields 14 and 15.
  auto pos = stat.rfind(')');
  if (pos == std::string::npos)
    return 0;
  std::istringstream fields{stat.substr(pos + 2)};
  std::string skip;
  for (int i = 3; i < 14; ++i)
    fields >> skip;
  unsigned long long utime = 0, stime = 0;
  fields >> utime >> stime;
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

int main(int argc, char** argv) {
  CLI::App app{"tao-bench: load generator for TLV and raw echo servers"};
  load_args args;
  add_flags(app, args);
  if (auto exit_code = tao::bench::parse_cli(app, argc, argv))
    return *exit_code;
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);
  auto result = std::make_unique<load_result>();
  if (args.mode == "accept")
    tao::bench::run_accept_load(args, *result);
  else
    tao::bench::run_echo_load(args, *result);
  print(args, *result);
  if (!result->failure.empty())
    std::fprintf(stderr, "tao-bench: %s\n", result->failure.c_str());
  return result->failure.empty() ? 0 : 1;
}
