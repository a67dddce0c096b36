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
#include <caf/send.hpp>

#include "tao/all.hpp"

#include "kv_server.hpp"
#include "store.hpp"

namespace {

struct config : caf::actor_system_config {
  std::string host = "127.0.0.1";
  uint16_t port = 12346;
  config() {
    opt_group{custom_options_, "global"}
      .add(host, "host", "address to listen on")
      .add(port, "port,p", "port to listen on (0: any free port)");
  }
};

} // namespace

int main(int argc, char** argv) {
  tao::catch_stop_signals();
  config cfg;
  cfg.load<caf::io::middleman>();
  if (auto exit_code = tao::parse_command_line(cfg, argc, argv))
    return *exit_code;
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
  tao::run_until_signal(sys, *srv,
                        [&] { caf::anon_send_exit(store, caf::exit_reason::user_shutdown); });
  return 0;
}
