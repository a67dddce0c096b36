// greeter_client <port> [name]: sends one hello and prints the greeting.

#include <chrono>
#include <future>
#include <iostream>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>

#include "greeting.hpp"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: greeter_client <port> [name]\n";
    return 2;
  }
  std::promise<greeting> answer; // outlives the actor system, which runs the handler

  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  caf::actor_system sys{cfg};

  tao::client_options opts;
  opts.host = "127.0.0.1";
  opts.port = static_cast<uint16_t>(std::stoi(argv[1]));
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
  cli->write(hello{argc > 2 ? argv[2] : "world"});

  auto reply = answer.get_future();
  bool ok = reply.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
  if (ok)
    std::cout << reply.get().text << '\n';
  else
    std::cerr << "no greeting within 5 s\n";
  cli->close(); // deliberate: no reconnect; the client actor terminates
  return ok ? 0 : 1;
}
