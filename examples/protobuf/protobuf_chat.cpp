// tao-protobuf-chat: a Protocol Buffers message through tao. A server
// answers every ChatLine (type 2) with the same line, its sequence number
// incremented; a client sends --count lines and checks every answer. Exits 0
// when all came back.
//
//   tao-protobuf-chat --count=5

#include <chrono>
#include <future>
#include <iostream>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include "tao/all.hpp"

#include "chat_line.hpp"

namespace {

struct config : caf::actor_system_config {
  size_t count = 5;
  config() {
    opt_group{custom_options_, "global"}.add(count, "count", "lines to send");
  }
};

} // namespace

int main(int argc, char** argv) {
  config cfg;
  cfg.load<caf::io::middleman>();
  if (auto exit_code = tao::parse_command_line(cfg, argc, argv))
    return *exit_code;
  caf::actor_system sys{cfg};

  tao::server_options sopts;
  sopts.handlers.on<tao_example::ChatLine>(
    [](tao::connection& c, const tao_example::ChatLine& line) {
      auto reply = line;
      reply.set_sequence(line.sequence() + 1);
      c.write(reply);
    });
  auto srv = tao::server::start(sys, std::move(sopts));
  if (!srv)
    return std::cerr << tao::protocol::render(srv.error()) << '\n', 1;

  std::promise<void> done;
  size_t good = 0;
  tao::client_options copts;
  copts.port = srv->port();
  copts.handlers.on<tao_example::ChatLine>(
    [&](tao::connection&, const tao_example::ChatLine& line) {
      std::cout << line.author() << " #" << line.sequence() << ": " << line.text() << std::endl;
      if (line.author() == "alice" && line.sequence() == 2 * good + 1 && ++good == cfg.count)
        done.set_value();
    });
  auto cli = tao::client::start(sys, std::move(copts));
  if (!cli)
    return std::cerr << tao::protocol::render(cli.error()) << '\n', 1;
  for (size_t i = 0; i < cfg.count; ++i) {
    tao_example::ChatLine line;
    line.set_author("alice");
    line.set_text("line " + std::to_string(i));
    line.set_sequence(2 * i);
    cli->write(line);
  }
  auto ok = done.get_future().wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  tao::stop_gracefully(sys, *cli);
  tao::stop_gracefully(sys, *srv);
  std::cout << good << " of " << cfg.count << " answers" << std::endl;
  return ok ? 0 : 1;
}
