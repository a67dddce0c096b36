// tao-reconnecting-client: a client that survives its server going away.
// It connects with a reconnect policy (exponential backoff, full jitter, an
// attempt limit), pings every --ping-period from a connection timer that it
// sets up again on every connection (timers belong to a connection; handlers
// and callbacks belong to the client and survive), and prints each
// connect / disconnect / reconnect attempt / give-up.
//
//   tao-reconnecting-client
//       self-test: starts an echo server, exchanges pings, stops the server,
//       restarts it on the same port, checks that the client reconnected and
//       exchanges pings again, stops it for good and waits for the give-up.
//       Exits 0 if all of that happened.
//   tao-reconnecting-client --mode=client --port=12345
//       against any echo server (e.g. tao-echo-server --port=12345): kill and
//       restart the server to watch it reconnect; stops on SIGINT/SIGTERM or
//       when it gives up.

#include <atomic>
#include <chrono>
#include <csignal>
#include <iostream>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <unistd.h>

#include "tao/all.hpp"

#include "common/print_line.hpp"
#include "common/waiter.hpp"

using echo_message = tao::protocol::text_message<1>;

namespace {

struct config : caf::actor_system_config {
  std::string mode = "self-test";
  tao::client_options client;
  tao::option_flags flags;
  caf::timespan ping_period = std::chrono::milliseconds(100);
  config() {
    client.port = 12345; // tao-echo-server's default (client mode)
    client.reconnect.enabled = true;
    client.reconnect.initial_delay = std::chrono::milliseconds(100);
    client.reconnect.max_delay = std::chrono::milliseconds(400);
    client.reconnect.factor = 2.0;
    client.reconnect.jitter = true;
    client.reconnect.max_attempts = 8;
    client.connect_timeout = std::chrono::seconds(2);
    opt_group group{custom_options_, "global"};
    group.add(mode, "mode", "self-test, or client (against a running echo server)")
      .add(ping_period, "ping-period", "time between pings");
    flags.add_client(group, client);
    flags.add_logging(group);
  }
};

/// What the client saw, for the self-test.
struct events {
  unsigned connects = 0;
  unsigned echoes = 0; // on the current connection
  unsigned reconnect_attempts = 0;
  bool gave_up = false;
};

std::string ms(caf::timespan d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
}

std::string text(const caf::error& err) {
  return err ? tao::protocol::render(err) : "closed by the peer";
}

/// Starts an echo server on `port` (0: ephemeral).
caf::expected<tao::server> start_echo_server(caf::actor_system& sys, uint16_t port) {
  tao::server_options opts;
  opts.port = port;
  opts.handlers.on<echo_message>([](tao::connection& c, const echo_message& m) { c.write(m); });
  return tao::server::start(sys, std::move(opts));
}

} // namespace

int main(int argc, char** argv) {
  tao::catch_stop_signals();
  config cfg;
  cfg.load<caf::io::middleman>();
  if (auto exit_code = tao::parse_command_line(cfg, argc, argv))
    return *exit_code;
  bool self_test = cfg.mode == "self-test";
  if (!self_test && cfg.mode != "client") {
    std::cerr << "error: --mode must be self-test or client\n";
    return tao::usage_error_exit_code;
  }
  // The I/O shards for --io-threads, declared first: they must outlive sys.
  tao::io_pool pool{cfg.client.io_threads};
  caf::actor_system sys{cfg};
  auto opts = cfg.client;
  opts.io_pool = &pool;
  auto flag_err = cfg.flags.apply(opts);
  if (!flag_err)
    flag_err = cfg.flags.apply_logging();
  if (flag_err) {
    std::cerr << "error: " << tao::protocol::render(flag_err) << '\n';
    return tao::usage_error_exit_code;
  }

  tao::server srv;
  if (self_test) {
    auto s = start_echo_server(sys, 0);
    if (!s) {
      std::cerr << "error: " << tao::protocol::render(s.error()) << '\n';
      return 1;
    }
    srv = *s;
    opts.host = "127.0.0.1";
    opts.port = srv.port();
    tao::examples::print_line("server: listening on 127.0.0.1:", srv.port());
  }

  tao::examples::waiter<events> ev;
  auto pings = std::make_shared<std::atomic<unsigned>>(0);
  auto ping_period = cfg.ping_period;
  // Runs for every connection, the first and each reconnect: the place to
  // set up per-connection state such as timers.
  opts.on_connect = [&ev, pings, ping_period](tao::connection& c) {
    unsigned n = 0;
    ev.update([&n](events& x) {
      n = ++x.connects;
      x.echoes = 0;
    });
    tao::examples::print_line("client: connected to ", c.name(), " (connection #", n,
                              "), ping timer started");
    c.run_every(ping_period, [pings](tao::connection& conn, tao::time_point) {
      conn.write(echo_message{"ping " + std::to_string(++*pings)});
    });
    return true;
  };
  opts.handlers.on<echo_message>([&ev](tao::connection&, const echo_message& m) {
    tao::examples::print_line("client: echo ", m.text);
    ev.update([](events& x) { ++x.echoes; });
  });
  opts.on_close = [](tao::connection&, const caf::error& reason) {
    tao::examples::print_line("client: disconnected (", text(reason), "); its timers are gone");
  };
  opts.on_reconnecting = [&ev](unsigned attempt, caf::timespan delay, const caf::error& reason) {
    tao::examples::print_line("client: reconnect attempt ", attempt, " in ", ms(delay), " (",
                              text(reason), ")");
    ev.update([](events& x) { ++x.reconnect_attempts; });
  };
  opts.on_give_up = [&ev, self_test](const caf::error& reason) {
    tao::examples::print_line("client: giving up (", text(reason), ")");
    ev.update([](events& x) { x.gave_up = true; });
    if (!self_test)
      kill(getpid(), SIGTERM); // wakes main, which waits for signals
  };
  auto cli = tao::client::start(sys, std::move(opts));
  if (!cli) {
    std::cerr << "error: " << tao::protocol::render(cli.error()) << '\n';
    tao::stop_gracefully(sys, srv);
    return 1;
  }

  if (!self_test) {
    // Until a signal, or the give-up (on_give_up above raises SIGTERM).
    tao::wait_for_stop_signal();
    tao::stop_gracefully(sys, *cli);
    return ev.get().gave_up ? 1 : 0;
  }

  auto fail = [&](const char* what) {
    tao::examples::print_line("FAILED: ", what);
    tao::stop_gracefully(sys, *cli);
    tao::stop_gracefully(sys, srv);
    return 1;
  };
  auto wait = [&](auto pred) {
    return ev.wait_for(std::chrono::seconds(10), pred);
  };
  if (!wait([](const events& x) { return x.connects == 1 && x.echoes >= 2; }))
    return fail("no echoes on the first connection");
  auto port = srv.port();
  tao::examples::print_line("server: stopping");
  tao::stop_gracefully(sys, srv);
  if (!wait([](const events& x) { return x.reconnect_attempts >= 1; }))
    return fail("no reconnect attempt after the server stopped");
  auto restarted = start_echo_server(sys, port);
  if (!restarted)
    return fail("cannot restart the server on the same port");
  srv = *restarted;
  tao::examples::print_line("server: restarted on 127.0.0.1:", port);
  if (!wait([](const events& x) { return x.connects == 2 && x.echoes >= 2; }))
    return fail("no echoes after the restart");
  tao::examples::print_line("server: stopping for good");
  tao::stop_gracefully(sys, srv);
  srv = tao::server{};
  if (!wait([](const events& x) { return x.gave_up; }))
    return fail("the client did not give up");
  tao::stop_gracefully(sys, *cli);
  auto x = ev.get();
  tao::examples::print_line("self-test passed: ", x.connects, " connections, ",
                            x.reconnect_attempts,
                            " reconnect attempts, gave up after the last one");
  return 0;
}
