// tao-soak-server: the server of bench/soak. An echo server (type 1) with
// every server option on the command line (heartbeats, timeouts, limits) and
// Prometheus metrics, plus gauges of its own for leak checks:
// `tao_soak_running_actors`, CAF's count of running actors
// (`actor_registry::running()`), and `tao_soak_heap_bytes`, the heap in use
// (mallinfo2), refreshed every 100 ms. `--trim-when-idle` returns freed heap
// to the kernel whenever the load is gone (see process_gauges).
//
//   tao-soak-server --port=0 --metrics=127.0.0.1:0 --heartbeat-period=5s
//                   --max-connections=11000 [any tao server flag]
//
// Prints "listening on 127.0.0.1:PORT" and "metrics on 127.0.0.1:PORT", then
// serves until SIGINT or SIGTERM.

#include <atomic>
#include <chrono>
#include <iostream>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <malloc.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "tao/all.hpp"

using echo_message = tao::protocol::text_message<1>;

namespace {

struct config : caf::actor_system_config {
  tao::server_options server;
  tao::option_flags flags;
  std::string metrics = "127.0.0.1:0";
  bool trim = false;
  config() {
    server.port = 0;
    opt_group group{custom_options_, "global"};
    flags.add_server(group, server);
    flags.add_logging(group);
    group.add(metrics, "metrics", "serve Prometheus metrics on this host:port")
      .add(trim, "trim-when-idle", "malloc_trim(0) whenever the load is gone (no extra actors)");
  }
};

/// Publishes the actor system's running-actor count and the heap in use
/// (glibc's mallinfo2) into gauges every 100 ms until destroyed. With
/// `trim`, hands free heap back to the kernel (malloc_trim) each time the
/// actor count falls back to its value at start, so that RSS after a load
/// shows live memory rather than glibc's cache of freed blocks; a leak stays
/// allocated and shows in both.
class process_gauges {
public:
  process_gauges(caf::actor_system& sys, prometheus::Registry& registry, bool trim)
    : actors_(prometheus::BuildGauge()
                .Name("tao_soak_running_actors")
                .Help("Running CAF actors (actor_registry::running)")
                .Register(registry)
                .Add({})),
      heap_(prometheus::BuildGauge()
              .Name("tao_soak_heap_bytes")
              .Help("Heap bytes in use (mallinfo2: uordblks + hblkhd)")
              .Register(registry)
              .Add({})),
      thread_([this, &sys, trim] { run(sys, trim); }) {
  }

  ~process_gauges() {
    done_ = true;
    thread_.join();
  }

  process_gauges(const process_gauges&) = delete;
  process_gauges& operator=(const process_gauges&) = delete;

private:
  void run(caf::actor_system& sys, bool trim) {
    auto idle = sys.registry().running();
    bool busy = false;
    while (!done_) {
      auto running = sys.registry().running();
      if (running > idle) {
        busy = true;
      } else if (busy && trim) {
        busy = false;
        ::malloc_trim(0);
      }
      auto info = ::mallinfo2();
      heap_.Set(static_cast<double>(info.uordblks + info.hblkhd));
      actors_.Set(static_cast<double>(running));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  prometheus::Gauge& actors_;
  prometheus::Gauge& heap_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

} // namespace

int main(int argc, char** argv) {
  tao::catch_stop_signals();
  config cfg;
  cfg.load<caf::io::middleman>();
  if (auto exit_code = tao::parse_command_line(cfg, argc, argv))
    return *exit_code;
  // The I/O shards for --io-threads, declared first: they must outlive sys.
  tao::io_pool pool{cfg.server.io_threads};
  caf::actor_system sys{cfg};
  auto opts = cfg.server;
  opts.io_pool = &pool;
  auto flag_err = cfg.flags.apply(opts);
  if (!flag_err)
    flag_err = cfg.flags.apply_logging();
  if (flag_err) {
    std::cerr << "error: " << tao::protocol::render(flag_err) << '\n';
    return tao::usage_error_exit_code;
  }
  opts.metrics = std::make_shared<tao::metrics>();
  if (auto err = opts.metrics->serve(cfg.metrics)) {
    std::cerr << "error: " << tao::protocol::render(err) << '\n';
    return 1;
  }
  auto metrics = opts.metrics;
  opts.handlers.on<echo_message>([](tao::connection& c, const echo_message& m) { c.write(m); });
  auto srv = tao::server::start(sys, std::move(opts));
  if (!srv) {
    std::cerr << "error: " << tao::protocol::render(srv.error()) << '\n';
    return 1;
  }
  // The server actor initializes on the I/O thread after `start` returned
  // and spawns its supervisor then: once it answered a request, both belong
  // to the idle actor count. (A baseline taken before counted one actor too
  // few under load, and the soak reported a leak that was not there.)
  {
    caf::scoped_actor self{sys};
    self->request(srv->actor(), caf::infinite, tao::stats_atom::value)
      .receive([](const tao::server_stats&) {}, [](const caf::error&) {});
  }
  process_gauges gauges{sys, *metrics->registry(), cfg.trim};
  std::cout << "listening on 127.0.0.1:" << srv->port() << '\n'
            << "metrics on 127.0.0.1:" << metrics->port() << std::endl;
  tao::run_until_signal(sys, *srv);
  return 0;
}
