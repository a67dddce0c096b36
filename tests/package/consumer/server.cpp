// greeter_server [--port N]: answers every hello with a greeting; stops on Ctrl-C.

#include <iostream>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>

#include "greeting.hpp"

struct greeter_config : caf::actor_system_config {
  uint16_t port = 0; // 0: any free port
  greeter_config() {
    opt_group{custom_options_, "global"}.add(port, "port,p", "port to listen on (0: any)");
  }
};

int main(int argc, char** argv) {
  tao::catch_stop_signals(); // from here on, Ctrl-C and SIGTERM stop gracefully

  greeter_config cfg;
  cfg.load<caf::io::middleman>();
  // --port 12345, --port=12345, -p 12345, --help; anything else: a message, exit 2.
  if (auto exit_code = tao::parse_command_line(cfg, argc, argv))
    return *exit_code;
  caf::actor_system sys{cfg};

  tao::server_options opts;
  opts.port = cfg.port;
  opts.handlers.on<hello>([](tao::connection& c, const hello& msg) {
    // Runs in the connection's actor, one message at a time, in order.
    uint32_t n = 1;
    if (auto* seen = c.context_value_as<uint32_t>("hellos"))
      n = *seen + 1;
    c.set_context_value("hellos", n);
    if (auto err = c.write(greeting{"hello, " + msg.text, n}))
      std::cerr << "write failed: " << tao::protocol::render(err) << '\n';
  });
  auto srv = tao::server::start(sys, std::move(opts));
  if (!srv) {
    std::cerr << "cannot listen: " << tao::protocol::render(srv.error()) << '\n';
    return 1;
  }
  std::cout << "listening on 127.0.0.1:" << srv->port() << std::endl;

  // Until Ctrl-C or SIGTERM; then queued greetings are delivered, every
  // connection closes, and the server is gone before the actor system.
  tao::run_until_signal(sys, *srv);
  return 0;
}
