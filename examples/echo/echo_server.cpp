// tao-echo-server: Tao's echo example. Every type-1 message is written back.
//
//   tao-echo-server --host=127.0.0.1 --port=12345
//   tao-echo-server --port=12345 --tls-cert=server.pem --tls-key=server.key   (TLS)
//
// Stops on SIGINT/SIGTERM, delivering every queued echo first.

#include <csignal>
#include <iostream>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include "tao/all.hpp"

#include "common/tls_flags.hpp"

using echo_message = tao::protocol::text_message<1>;

namespace {

struct config : caf::actor_system_config {
  tao::server_options server;
  tao::option_flags flags;
  tao::examples::tls_flags tls;
  std::string metrics;
  config() {
    server.port = 12345;
    opt_group group{custom_options_, "global"};
    flags.add_server(group, server);
    flags.add_logging(group);
    group.add(metrics, "metrics",
              "serve Prometheus metrics on this host:port (e.g. 127.0.0.1:9464)");
    tls.add_server_flags(group);
  }
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
  opts.tls = cfg.tls.server_options();
  if (!cfg.metrics.empty()) {
    opts.metrics = std::make_shared<tao::metrics>();
    if (auto err = opts.metrics->serve(cfg.metrics)) {
      std::cerr << "error: " << tao::protocol::render(err) << '\n';
      return 1;
    }
    std::cout << "metrics on http://" << cfg.metrics << "/metrics" << std::endl;
  }
  opts.handlers.on<echo_message>([](tao::connection& c, const echo_message& msg) {
    if (auto err = c.write(msg))
      std::cerr << "echo to " << c.name() << " failed: " << tao::protocol::render(err) << '\n';
  });
  opts.on_connect = [](tao::connection& c) {
    std::cout << "connected: " << c.name() << " (id " << c.id() << ")" << std::endl;
    return true;
  };
  opts.on_close = [](tao::connection& c, const caf::error& reason) {
    std::cout << "closed: " << c.name() << " (" << tao::protocol::render(reason) << ")"
              << std::endl;
  };
  auto srv = tao::server::start(sys, std::move(opts));
  if (!srv) {
    std::cerr << "error: " << tao::protocol::render(srv.error()) << '\n';
    return 1;
  }
  std::cout << "listening on " << cfg.server.host << ":" << srv->port()
            << (opts.tls.enabled ? " (TLS)" : "") << std::endl;

  tao::run_until_signal(
    sys, [] { std::cout << "stopping" << std::endl; }, *srv);
  return 0;
}
