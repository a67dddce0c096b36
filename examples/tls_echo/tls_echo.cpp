// tao-tls-echo: Tao's echo over TLS. One program, three modes:
//
//   tao-tls-echo --mode=self-test --tls-cert=server.pem --tls-key=server.key --tls-ca=ca.pem
//       a TLS server and a client trusting --tls-ca in one process; sends
//       --count echoes, exits 0 once all came back, 1 otherwise (e.g. the
//       handshake failed because the CA does not match).
//   tao-tls-echo --mode=server --port=12345 --tls-cert=server.pem --tls-key=server.key
//       serves until SIGINT/SIGTERM.
//   tao-tls-echo --mode=client --host=localhost --port=12345 --tls-ca=ca.pem
//       sends --count echoes to a TLS server; exits 0 once all came back.
//
// TLS is invisible to the handlers: the same handler serves plain and TLS.

#include <chrono>
#include <iostream>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>

#include "tao/all.hpp"

#include "common/print_line.hpp"
#include "common/waiter.hpp"

using echo_message = tao::protocol::text_message<1>;

namespace {

struct config : caf::actor_system_config {
  std::string mode = "self-test";
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string cert;
  std::string key;
  std::string ca;
  size_t count = 10;
  size_t timeout = 10;
  config() {
    opt_group{custom_options_, "global"}
      .add(mode, "mode", "self-test, server or client")
      .add(host, "host", "address to listen on (server) or connect to (client)")
      .add(port, "port,p", "port to listen on or connect to; 0: ephemeral (server)")
      .add(cert, "tls-cert", "server certificate chain (PEM)")
      .add(key, "tls-key", "private key of --tls-cert (PEM)")
      .add(ca, "tls-ca", "CA certificates the client trusts (PEM)")
      .add(count, "count", "echoes the client sends")
      .add(timeout, "timeout", "seconds the client waits for all echoes");
  }
};

/// What the client saw.
struct progress {
  size_t echoes = 0;
  bool ended = false;
  std::string error;
};

/// Starts the TLS echo server.
caf::expected<tao::server> start_server(caf::actor_system& sys, const config& cfg) {
  tao::server_options opts;
  opts.host = cfg.host;
  opts.port = cfg.port;
  opts.tls.enabled = true;
  opts.tls.certificate_file = cfg.cert;
  opts.tls.private_key_file = cfg.key;
  opts.handlers.on<echo_message>([](tao::connection& c, const echo_message& m) { c.write(m); });
  opts.on_connect = [](tao::connection& c) {
    tao::examples::print_line("server: ", c.name(), " connected");
    return true;
  };
  opts.on_close = [](tao::connection& c, const caf::error& reason) {
    tao::examples::print_line("server: ", c.name(), " closed (",
                              reason ? tao::protocol::render(reason) : "clean", ")");
  };
  return tao::server::start(sys, std::move(opts));
}

/// Sends `cfg.count` echoes to host:port over TLS and waits for them; true if
/// all came back.
bool run_client(caf::actor_system& sys, const config& cfg, const std::string& host, uint16_t port) {
  tao::examples::waiter<progress> p;
  tao::client_options opts;
  opts.host = host;
  opts.port = port;
  opts.tls.enabled = true;
  opts.tls.ca_file = cfg.ca; // empty: the system's trust store
  opts.handlers.on<echo_message>([&](tao::connection&, const echo_message& m) {
    tao::examples::print_line("client: echo ", m.text);
    p.update([](progress& x) { ++x.echoes; });
  });
  opts.on_error = [&](tao::connection&, const caf::error& err) {
    p.update([&](progress& x) { x.error = tao::protocol::render(err); });
  };
  opts.on_close = [&](tao::connection&, const caf::error&) {
    p.update([](progress& x) { x.ended = true; });
  };
  opts.on_give_up = [&](const caf::error& err) {
    p.update([&](progress& x) {
      x.ended = true;
      if (x.error.empty())
        x.error = tao::protocol::render(err);
    });
  };
  auto cli = tao::client::start(sys, std::move(opts));
  if (!cli) {
    std::cerr << "error: " << tao::protocol::render(cli.error()) << '\n';
    return false;
  }
  for (size_t i = 0; i < cfg.count; ++i)
    cli->write(echo_message{"hello over TLS #" + std::to_string(i)});
  p.wait_for(std::chrono::seconds(cfg.timeout),
             [&](const progress& x) { return x.ended || x.echoes == cfg.count; });
  tao::stop_gracefully(sys, *cli);
  auto result = p.get();
  if (!result.error.empty())
    std::cerr << "error: " << result.error << '\n';
  tao::examples::print_line(result.echoes, " of ", cfg.count, " echoes received");
  return result.echoes == cfg.count;
}

} // namespace

int main(int argc, char** argv) {
  tao::catch_stop_signals();
  config cfg;
  cfg.load<caf::io::middleman>();
  if (auto exit_code = tao::parse_command_line(cfg, argc, argv))
    return *exit_code;
  if (cfg.mode != "self-test" && cfg.mode != "server" && cfg.mode != "client") {
    std::cerr << "tao-tls-echo: error: --mode must be self-test, server or client\n";
    return tao::usage_error_exit_code;
  }
  caf::actor_system sys{cfg};
  if (cfg.mode == "client")
    return run_client(sys, cfg, cfg.host, cfg.port) ? 0 : 1;
  auto srv = start_server(sys, cfg);
  if (!srv) {
    std::cerr << "error: " << tao::protocol::render(srv.error()) << '\n';
    return 1;
  }
  tao::examples::print_line("listening on ", cfg.host, ":", srv->port(), " (TLS)");
  if (cfg.mode == "server") {
    tao::run_until_signal(sys, *srv);
    return 0;
  }
  bool ok = run_client(sys, cfg, cfg.host, srv->port());
  tao::stop_gracefully(sys, *srv);
  return ok ? 0 : 1;
}
