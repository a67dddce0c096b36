// greeter_client --port N [--name NAME]: sends one hello and prints the greeting.

#include <chrono>
#include <future>
#include <iostream>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>

#include "greeting.hpp"

struct greeter_config : caf::actor_system_config {
  uint16_t port = 0;
  std::string name = "world";
  greeter_config() {
    opt_group{custom_options_, "global"}
      .add(port, "port,p", "the server's port")
      .add(name, "name", "who says hello");
  }
};

int main(int argc, char** argv) {
  std::promise<greeting> answer; // outlives the actor system, which runs the handler

  greeter_config cfg;
  cfg.load<caf::io::middleman>();
  if (auto exit_code = tao::parse_command_line(cfg, argc, argv))
    return *exit_code;
  if (cfg.port == 0) {
    std::cerr << "greeter_client: error: --port is required\n";
    return tao::usage_error_exit_code;
  }
  caf::actor_system sys{cfg};

  tao::client_options opts;
  opts.host = "127.0.0.1";
  opts.port = cfg.port;
  opts.handlers.on<greeting>(
    [&answer](tao::connection&, const greeting& msg) { answer.set_value(msg); });
  opts.on_error = [](tao::connection&, const caf::error& err) {
    std::cerr << "error: " << tao::protocol::render(err) << '\n';
  };
  auto cli = tao::client::start(sys, std::move(opts));
  if (!cli) {
    std::cerr << "bad options: " << tao::protocol::render(cli.error()) << '\n';
    return 1;
  }
  // Queued until the connection is up, then sent.
  cli->write(hello{cfg.name});

  auto reply = answer.get_future();
  bool ok = reply.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
  if (ok)
    std::cout << reply.get().text << '\n';
  else
    std::cerr << "no greeting within 5 s\n"; // e.g. nothing listens on --port
  cli->close(); // deliberate: no reconnect; the client actor terminates
  return ok ? 0 : 1;
}
