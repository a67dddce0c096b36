// tao-heartbeat: heartbeats and idle timeouts. The server sends a Tao
// heartbeat every --heartbeat-period, closes a connection that stayed silent
// for 3 periods (heartbeat_timeout), and closes one from which nothing was
// read for --idle-timeout (read_idle_timeout). A tao client that heartbeats
// stays up; a plain socket that never sends is closed at the idle timeout,
// and the server prints why.
//
//   tao-heartbeat
//       self-test: server, heartbeating client and silent raw peer in one
//       process; exits 0 if the silent peer was closed with idle_timeout no
//       earlier than the timeout and the client outlived it by --beats
//       heartbeats.
//   tao-heartbeat --mode=server --port=12345
//       just the server; try `nc 127.0.0.1 12345` as a silent peer. Stops on
//       SIGINT/SIGTERM.

#include <chrono>
#include <cstring>
#include <iostream>
#include <map>
#include <string>

#include <arpa/inet.h>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tao/all.hpp"

#include "common/print_line.hpp"
#include "common/waiter.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

struct config : caf::actor_system_config {
  std::string mode = "self-test";
  uint16_t port = 0;
  caf::timespan heartbeat_period = std::chrono::milliseconds(500);
  caf::timespan idle_timeout = std::chrono::seconds(1);
  unsigned beats = 6;
  config() {
    opt_group{custom_options_, "global"}
      .add(mode, "mode", "self-test, or server")
      .add(port, "port,p", "server port; 0: ephemeral")
      .add(heartbeat_period, "heartbeat-period", "heartbeat period of server and client")
      .add(idle_timeout, "idle-timeout", "server's read-idle timeout")
      .add(beats, "beats", "self-test: heartbeats the server must get from the client");
  }
};

/// What the server saw, by connection id.
struct server_view {
  std::map<uint64_t, uint64_t> heartbeats; // from the last sched report
  std::map<uint64_t, std::string> closed;  // reason
  std::map<uint64_t, tao::net::endpoint> remote;
};

long long millis(clock_type::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

/// A plain TCP socket connected to 127.0.0.1:port, or -1.
int connect_raw(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

/// The local port of socket `fd`.
uint16_t local_port(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

/// Reads (and discards: they are the server's heartbeats) until the peer
/// closes `fd` or `timeout` passes; true if it closed.
bool wait_closed(int fd, std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  char buf[256];
  while (clock_type::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
    if (::poll(&p, 1, static_cast<int>(left.count()) + 1) <= 0)
      continue;
    auto n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0)
      return true;
  }
  return false;
}

} // namespace

int main(int argc, char** argv) {
  tao::catch_stop_signals();
  config cfg;
  cfg.load<caf::io::middleman>();
  if (auto exit_code = tao::parse_command_line(cfg, argc, argv))
    return *exit_code;
  if (cfg.mode != "self-test" && cfg.mode != "server") {
    std::cerr << "error: --mode must be self-test or server\n";
    return tao::usage_error_exit_code;
  }
  caf::actor_system sys{cfg};
  tao::examples::waiter<server_view> view;

  // The server: liveness is all options, no code.
  tao::server_options sopts;
  sopts.port = cfg.port;
  sopts.heartbeat_period = cfg.heartbeat_period;
  sopts.heartbeat_misses = 3;
  sopts.read_idle_timeout = cfg.idle_timeout;
  sopts.on_connect = [&view](tao::connection& c) {
    tao::examples::print_line("server: ", c.name(), " connected (id ", c.id(), ")");
    view.update([&](server_view& v) { v.remote[c.id()] = c.remote(); });
    return true;
  };
  sopts.on_close = [&view](tao::connection& c, const caf::error& reason) {
    auto why = reason ? tao::protocol::render(reason) : std::string{"clean close"};
    tao::examples::print_line("server: ", c.name(), " closed after ", c.stats().heartbeats_in,
                              " heartbeats: ", why);
    view.update([&](server_view& v) { v.closed[c.id()] = why; });
  };
  auto srv = tao::server::start(sys, std::move(sopts));
  if (!srv) {
    std::cerr << "error: " << tao::protocol::render(srv.error()) << '\n';
    return 1;
  }
  tao::examples::print_line("listening on 127.0.0.1:", srv->port(), " (heartbeat every ",
                            millis(cfg.heartbeat_period), " ms, read-idle timeout ",
                            millis(cfg.idle_timeout), " ms)");
  // Every period, each connection reports the heartbeats it got (Tao's Sched).
  srv->sched(cfg.heartbeat_period, [&view](tao::connection& c, tao::time_point) {
    auto n = c.stats().heartbeats_in;
    view.update([&](server_view& v) { v.heartbeats[c.id()] = n; });
  });

  if (cfg.mode == "server") {
    tao::run_until_signal(sys, *srv);
    return 0;
  }

  // A tao client that heartbeats and sends nothing else.
  tao::client_options copts;
  copts.port = srv->port();
  copts.heartbeat_period = cfg.heartbeat_period;
  copts.on_close = [](tao::connection&, const caf::error& reason) {
    tao::examples::print_line(
      "client: closed: ", (reason ? tao::protocol::render(reason) : std::string{"clean close"}));
  };
  auto cli = tao::client::start(sys, std::move(copts));
  if (!cli) {
    std::cerr << "error: " << tao::protocol::render(cli.error()) << '\n';
    tao::stop_gracefully(sys, *srv);
    return 1;
  }
  auto fail = [&](const std::string& what) {
    tao::examples::print_line("FAILED: ", what);
    tao::stop_gracefully(sys, *cli);
    tao::stop_gracefully(sys, *srv);
    return 1;
  };
  if (!view.wait_for(std::chrono::seconds(10),
                     [](const server_view& v) { return !v.remote.empty(); }))
    return fail("the client did not connect");
  auto client_id = view.get().remote.begin()->first;

  // A plain socket that never sends a byte.
  int raw = connect_raw(srv->port());
  if (raw < 0)
    return fail("the raw peer cannot connect");
  auto raw_port = local_port(raw);
  auto start = clock_type::now();
  tao::examples::print_line("raw peer: connected from port ", raw_port, ", staying silent");
  bool raw_closed = wait_closed(raw, std::chrono::milliseconds(millis(cfg.idle_timeout * 10)));
  auto elapsed = clock_type::now() - start;
  ::close(raw);
  if (!raw_closed)
    return fail("the silent peer was not closed");
  tao::examples::print_line("raw peer: closed by the server after ", millis(elapsed), " ms");
  std::string raw_reason;
  view.wait_for(std::chrono::seconds(5), [&](const server_view& v) {
    for (auto& [id, why] : v.closed)
      if (v.remote.at(id).port == raw_port)
        return raw_reason = why, true;
    return false;
  });
  if (raw_reason.find("idle_timeout") == std::string::npos)
    return fail("the silent peer was closed for another reason: " + raw_reason);
  if (elapsed < cfg.idle_timeout)
    return fail("the silent peer was closed before the idle timeout");

  // The heartbeating client outlives the idle timeout several times over.
  auto beats = cfg.beats;
  if (!view.wait_for(std::chrono::seconds(30), [&](const server_view& v) {
        auto i = v.heartbeats.find(client_id);
        return v.closed.count(client_id) != 0 || (i != v.heartbeats.end() && i->second >= beats);
      }))
    return fail("too few heartbeats from the client");
  if (view.get().closed.count(client_id) != 0)
    return fail("the heartbeating client was closed");
  tao::examples::print_line("client: still connected after ", beats, " heartbeats");
  tao::stop_gracefully(sys, *cli);
  tao::stop_gracefully(sys, *srv);
  tao::examples::print_line("self-test passed");
  return 0;
}
