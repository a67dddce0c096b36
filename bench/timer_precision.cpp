// tao-timer-precision: how late connection timers fire. One connection
// arms --timers run_at timers spread over --spread-ms; each callback records
// its lateness (fire time - due time). Prints p50 / p99 / max.
//
//   tao-timer-precision --timers=100000 --spread-ms=2000 [--dispatch=inline]

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tao/all.hpp"

#include "cli.hpp"

using start_message = tao::protocol::text_message<1>;

int main(int argc, char** argv) {
  int timers = 100000;
  int spread_ms = 2000;
  std::string dispatch = "scheduled";
  CLI::App app{"tao-timer-precision: lateness of connection timers"};
  app.add_option("--timers", timers, "timers")->check(CLI::Range(1, 10000000));
  app.add_option("--spread-ms", spread_ms, "timers are due within this span")
    ->check(CLI::Range(1, 3600000));
  app.add_option("--dispatch", dispatch, "where handlers run: scheduled or inline (or inline_io)")
    ->check(CLI::IsMember({"scheduled", "inline", "inline_io"}));
  if (auto exit_code = tao::bench::parse_cli(app, argc, argv))
    return *exit_code;
  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  caf::actor_system sys{cfg};
  std::mutex mtx;
  std::condition_variable cv;
  std::vector<double> late_us;
  late_us.reserve(static_cast<size_t>(timers));
  bool finished = false;
  double arm_us = 0;
  tao::server_options opts;
  opts.dispatch =
    dispatch != "scheduled" ? tao::dispatch_mode::inline_io : tao::dispatch_mode::scheduled;
  opts.handlers.on<start_message>([&](tao::connection& c, const start_message&) {
    std::mt19937 rng{42};
    std::uniform_int_distribution<int> offset{1, spread_ms * 1000};
    // Due times start 500 ms out, so that arming (measured separately)
    // does not count as lateness.
    auto armed_at = std::chrono::steady_clock::now();
    auto base = c.now() + std::chrono::milliseconds(500);
    for (int i = 0; i < timers; ++i) {
      auto due = base + std::chrono::microseconds(offset(rng));
      c.run_at(due, [&, timers](tao::connection& x, tao::time_point when) {
        late_us.push_back(std::chrono::duration<double, std::micro>(x.now() - when).count());
        if (static_cast<int>(late_us.size()) == timers) {
          std::lock_guard<std::mutex> guard{mtx};
          finished = true;
          cv.notify_all();
        }
      });
    }
    arm_us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - armed_at)
               .count();
  });
  auto srv = *tao::server::start(sys, opts);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(srv.port());
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  const char frame[] = {1, 0, 0, 0, 0, 0, 0, 0};
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0
      || write(fd, frame, sizeof(frame)) != sizeof(frame))
    return 1;
  {
    std::unique_lock<std::mutex> guard{mtx};
    cv.wait_for(guard, std::chrono::milliseconds(spread_ms + 500) + std::chrono::seconds(30),
                [&] { return finished; });
  }
  std::sort(late_us.begin(), late_us.end());
  auto pct = [&](double p) {
    return late_us.empty()
             ? 0.0
             : late_us[std::min(late_us.size() - 1, static_cast<size_t>(p * late_us.size()))];
  };
  std::printf("dispatch=%s timers=%d over %d ms: armed in %.0f ms (%.2f us each), fired %zu, "
              "late p50 %.0f us, p99 %.0f us, max %.0f us\n",
              dispatch.c_str(), timers, spread_ms, arm_us / 1000, arm_us / timers, late_us.size(),
              pct(0.5), pct(0.99), late_us.empty() ? 0.0 : late_us.back());
  close(fd);
  caf::scoped_actor self{sys};
  self->request(srv.actor(), caf::infinite, tao::stop_atom::value)
    .receive([] {}, [](caf::error&) {});
  return static_cast<int>(late_us.size()) == timers ? 0 : 1;
}
