// tao-kv-server: a key-value server whose store is an ordinary CAF actor.
// Handlers ask the store (`c.request(store, ...).then(...)`) and replies keep
// the order of the requests, so clients may pipeline (see README.md).
//
//   tao-kv-server --port=12346
//
// Stops on SIGINT/SIGTERM, answering every request already received first.

#include <iostream>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include "tao/all.hpp"

#include "common/stop_signals.hpp"
#include "kv_server.hpp"
#include "store.hpp"

namespace {

struct config : caf::actor_system_config {
  std::string host = "127.0.0.1";
  uint16_t port = 12346;
  config() {
    opt_group{custom_options_, "global"}
      .add(host, "host", "address to listen on")
      .add(port, "port", "port to listen on (0: any free port)");
  }
};

} // namespace

int main(int argc, char** argv) {
  tao::examples::stop_signals stop_signals;
  config cfg;
  cfg.load<caf::io::middleman>();
  if (auto err = cfg.parse(argc, argv)) {
    std::cerr << "error: " << cfg.render(err) << '\n';
    return 1;
  }
  if (cfg.cli_helptext_printed)
    return 0;
  caf::actor_system sys{cfg};
  auto store = sys.spawn(kv::store);
  auto opts = kv::server_options(store);
  opts.host = cfg.host;
  opts.port = cfg.port;
  auto srv = tao::server::start(sys, std::move(opts));
  if (!srv) {
    std::cerr << "error: " << tao::render(srv.error()) << '\n';
    return 1;
  }
  std::cout << "listening on " << cfg.host << ":" << srv->port() << std::endl;
  stop_signals.wait();
  caf::scoped_actor self{sys};
  self->request(srv->actor(), caf::infinite, tao::stop_atom::value)
    .receive([] {}, [](const caf::error&) {});
  self->send_exit(store, caf::exit_reason::user_shutdown);
  return 0;
}
