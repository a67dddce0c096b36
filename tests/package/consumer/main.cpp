// Starts a tao echo server and a client against it, sends one message and
// exits 0 once it came back: the smallest program on an installed tao.
#include <chrono>
#include <future>
#include <iostream>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include "tao/all.hpp"

using echo_message = tao::protocol::text_message<1>;

int main() {
  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  caf::actor_system sys{cfg};
  tao::server_options sopts;
  sopts.handlers.on<echo_message>([](tao::connection& c, const echo_message& m) { c.write(m); });
  auto srv = tao::server::start(sys, std::move(sopts));
  if (!srv)
    return 1;
  std::promise<std::string> echoed;
  tao::client_options copts;
  copts.port = srv->port();
  copts.handlers.on<echo_message>([&echoed](tao::connection& c, const echo_message& m) {
    echoed.set_value(m.text);
    c.close();
  });
  auto cli = tao::client::start(sys, std::move(copts));
  if (!cli || cli->write(echo_message{"installed"}))
    return 1;
  auto result = echoed.get_future();
  auto ok = result.wait_for(std::chrono::seconds(10)) == std::future_status::ready
            && result.get() == "installed";
  caf::scoped_actor self{sys};
  self->request(srv->actor(), std::chrono::seconds(10), tao::stop_atom::value)
    .receive([] {}, [](caf::error&) {});
  std::cout << (ok ? "consumer ok" : "consumer failed") << std::endl;
  return ok ? 0 : 1;
}
