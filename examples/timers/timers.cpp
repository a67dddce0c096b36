// tao-timers: Tao's timer example (examples/timer/time_display.go: a timer
// first due 2 s from now, then every 1 s, 20 callbacks, then Stop) done with
// connection timers, plus the server's Sched:
//
//   - the client connection: run_at(now + 2 s) for the first callback, which
//     starts run_every(1 s); the 20th callback cancels it (Tao's Stop). A
//     run_after(60 s) watchdog is cancelled before it fires.
//   - the server: sched(1 s) runs on every connection, current and future,
//     and writes it a tick (Tao's Server.Sched).
//
// Timers run in the connection's actor, one at a time with its handlers, so
// they may touch the connection's state without locks.
//
//   tao-timers              Tao's cadence (about 21 s)
//   tao-timers --fast       20 times faster (about 1 s), for tests
//   tao-timers --scale=0.5  any factor
//
// Exits 0 once all 20 callbacks ran, none early, the repeating timer and the
// watchdog were cancelled, and server ticks arrived.

#include <chrono>
#include <ctime>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>

#include "tao/all.hpp"

#include "common/waiter.hpp"

using tick_message = tao::protocol::text_message<2>;

namespace {

struct config : caf::actor_system_config {
  double scale = 1.0;
  bool fast = false;
  unsigned count = 20;
  config() {
    opt_group{custom_options_, "global"}
      .add(scale, "scale", "factor on every duration (1: Tao's 2 s + 1 s cadence)")
      .add(fast, "fast", "same as --scale=0.05")
      .add(count, "count", "callbacks before the timer is stopped");
  }
};

/// What main waits for.
struct outcome {
  unsigned callbacks = 0;
  unsigned early = 0;
  unsigned ticks = 0;
  bool stopped = false;
  bool watchdog_fired = false;
};

/// Wall-clock time of day with milliseconds, as Tao's example printed it.
std::string wall_clock() {
  auto now = std::chrono::system_clock::now();
  auto t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  std::tm tm{};
  localtime_r(&t, &tm);
  std::ostringstream os;
  os << std::put_time(&tm, "%H:%M:%S") << '.' << std::setfill('0') << std::setw(3) << ms.count();
  return os.str();
}

double seconds(caf::timespan d) {
  return std::chrono::duration<double>(d).count();
}

caf::timespan scaled(double factor, std::chrono::milliseconds d) {
  return std::chrono::duration_cast<caf::timespan>(d * factor);
}

/// The time display of one connection: state owned by the connection's
/// timers, which run one at a time in its actor.
struct display {
  tao::time_point start;
  caf::timespan delay;
  caf::timespan period;
  unsigned count = 0;
  unsigned seen = 0;
  tao::timer_id every = 0;
  tao::timer_id watchdog = 0;
};

/// Tao's time_display: first callback at start + delay, then every period;
/// the last one stops the repeating timer and the watchdog.
void start_display(tao::connection& c, std::shared_ptr<display> d,
                   tao::examples::waiter<outcome>& out) {
  auto on_time = [d, &out](tao::connection& conn, tao::time_point) {
    auto now = conn.now();
    ++d->seen;
    auto expected = d->delay + (d->seen - 1) * d->period;
    bool early = now - d->start < expected;
    std::cout << "TimeDisplay " << d->seen << ": " << wall_clock() << " (+" << std::fixed
              << std::setprecision(3) << seconds(now - d->start) << " s)" << std::endl;
    out.update([&](outcome& x) {
      ++x.callbacks;
      x.early += early ? 1 : 0;
    });
    if (d->seen == d->count) {
      // Tao's Stop: cancel what is still pending on this connection.
      bool stopped = conn.cancel_timer(d->every) && conn.cancel_timer(d->watchdog);
      std::cout << "stopped after " << d->seen << " callbacks; timers left: " << conn.timer_count()
                << std::endl;
      out.update([&](outcome& x) { x.stopped = stopped && conn.timer_count() == 0; });
    }
  };
  d->start = c.now();
  // The first at an absolute time, which then starts the repeating one.
  c.run_at(d->start + d->delay, [d, on_time](tao::connection& conn, tao::time_point due) {
    on_time(conn, due);
    if (d->seen < d->count)
      d->every = conn.run_every(d->period, on_time);
  });
  // Fires only if the display never finishes.
  d->watchdog =
    c.run_after(d->delay + d->period * (d->count + 40), [&out](tao::connection&, tao::time_point) {
      std::cout << "watchdog: the display did not finish" << std::endl;
      out.update([](outcome& x) { x.watchdog_fired = true; });
    });
}

} // namespace

int main(int argc, char** argv) {
  config cfg;
  cfg.load<caf::io::middleman>();
  if (auto exit_code = tao::parse_command_line(cfg, argc, argv))
    return *exit_code;
  double factor = cfg.fast ? 0.05 : cfg.scale;
  if (factor <= 0 || cfg.count == 0) {
    std::cerr << "error: --scale and --count must be positive\n";
    return 1;
  }
  caf::actor_system sys{cfg};
  auto delay = scaled(factor, std::chrono::milliseconds(2000));
  auto period = scaled(factor, std::chrono::milliseconds(1000));
  tao::examples::waiter<outcome> out;

  // The server: Sched writes every connection a tick each period.
  auto srv = tao::server::start(sys, tao::server_options{});
  if (!srv) {
    std::cerr << "error: " << tao::protocol::render(srv.error()) << '\n';
    return 1;
  }
  srv->sched(period, [](tao::connection& c, tao::time_point) {
    c.write(tick_message{"tick from the server"});
  });

  // The client: the time display runs on its connection.
  tao::client_options copts;
  copts.port = srv->port();
  copts.on_connect = [&out, delay, period, &cfg](tao::connection& c) {
    auto d = std::make_shared<display>();
    d->delay = delay;
    d->period = period;
    d->count = cfg.count;
    start_display(c, d, out);
    return true;
  };
  copts.handlers.on<tick_message>(
    [&out](tao::connection&, const tick_message&) { out.update([](outcome& x) { ++x.ticks; }); });
  auto cli = tao::client::start(sys, std::move(copts));
  if (!cli) {
    std::cerr << "error: " << tao::protocol::render(cli.error()) << '\n';
    tao::stop_gracefully(sys, *srv);
    return 1;
  }
  auto bound =
    std::chrono::duration_cast<std::chrono::milliseconds>((delay + period * cfg.count) * 3)
    + std::chrono::seconds(10);
  out.wait_for(bound, [](const outcome& x) { return x.stopped || x.watchdog_fired; });
  tao::stop_gracefully(sys, *cli);
  tao::stop_gracefully(sys, *srv);
  auto x = out.get();
  std::cout << x.callbacks << " callbacks (" << x.early << " early), " << x.ticks
            << " server ticks, stopped: " << (x.stopped ? "yes" : "no") << std::endl;
  bool ok =
    x.callbacks == cfg.count && x.early == 0 && x.stopped && !x.watchdog_fired && x.ticks >= 1;
  return ok ? 0 : 1;
}
