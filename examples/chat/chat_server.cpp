// tao-chat-server: Tao's chat server. Every line (type 1) goes to everyone,
// the sender included. Stops on SIGINT/SIGTERM after delivering what is queued.
//
//   tao-chat-server --port=12345 [--tls-cert=server.pem --tls-key=server.key]
#include <csignal>
#include <iostream>

#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include "tao/all.hpp"

#include "common/tls_flags.hpp"

using chat_message = tao::protocol::text_message<1>;

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

int main(int argc, char** argv) {
  tao::catch_stop_signals();
  config cfg;
  cfg.load<caf::io::middleman>();
  if (auto exit_code = tao::parse_command_line(cfg, argc, argv))
    return *exit_code;
  caf::actor_system sys{cfg};
  auto opts = cfg.server;
  auto flag_err = cfg.flags.apply(opts);
  if (!flag_err)
    flag_err = cfg.flags.apply_logging();
  if (flag_err)
    return std::cerr << "error: " << tao::protocol::render(flag_err) << '\n',
           tao::usage_error_exit_code;
  opts.tls = cfg.tls.server_options();
  if (!cfg.metrics.empty()) {
    opts.metrics = std::make_shared<tao::metrics>();
    if (auto err = opts.metrics->serve(cfg.metrics))
      return std::cerr << tao::protocol::render(err) << '\n', 1;
  }
  opts.handlers.on<chat_message>(
    [](tao::connection& c, const chat_message& m) { c.server().broadcast(m); });
  auto srv = tao::server::start(sys, std::move(opts));
  if (!srv)
    return std::cerr << tao::protocol::render(srv.error()) << '\n', 1;
  std::cout << "listening on " << cfg.server.host << ":" << srv->port() << std::endl;
  tao::run_until_signal(sys, *srv);
}
