// tao-max-connections: a server that serves at most --max-connections
// connections at once. One more is accepted, closed at once, and counted as
// refused (server_stats::refused_max_connections and the Prometheus counter
// tao_connections_refused_total{reason="max_connections"}); the refused
// client sees its connection closed and gives up (it has no reconnect
// policy). Once a client leaves, the next one gets in.
//
//   tao-max-connections [--max-connections=3]
//       self-test: N clients get in, client N+1 is refused, one leaves, a new
//       one gets in; exits 0 if all of that happened and was counted.

#include <chrono>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>

#include "tao/all.hpp"

#include "common/print_line.hpp"
#include "common/server_stats.hpp"
#include "common/waiter.hpp"

using echo_message = tao::protocol::text_message<1>;

namespace {

struct config : caf::actor_system_config {
  size_t max_connections = 3;
  config() {
    opt_group{custom_options_, "global"}.add(max_connections, "max-connections",
                                             "connections the server serves at once");
  }
};

/// What each client saw, by name.
struct client_view {
  std::map<std::string, unsigned> echoes;
  std::map<std::string, std::string> closed; // reason
  std::map<std::string, bool> gave_up;
};

using view_type = tao::examples::waiter<client_view>;

/// Starts client `name`, which says hello once (queued until connected).
tao::client start_client(caf::actor_system& sys, uint16_t port, const std::string& name,
                         view_type& view) {
  tao::client_options opts;
  opts.port = port;
  opts.handlers.on<echo_message>([&view, name](tao::connection&, const echo_message&) {
    tao::examples::print_line(name, ": served");
    view.update([&](client_view& v) { ++v.echoes[name]; });
  });
  opts.on_close = [&view, name](tao::connection&, const caf::error& reason) {
    auto why = reason ? tao::protocol::render(reason) : std::string{"clean close"};
    tao::examples::print_line(name, ": connection closed (", why, ")");
    view.update([&](client_view& v) { v.closed[name] = why; });
  };
  opts.on_give_up = [&view, name](const caf::error&) {
    tao::examples::print_line(name, ": gave up (no reconnect policy)");
    view.update([&](client_view& v) { v.gave_up[name] = true; });
  };
  auto cli = tao::client::start(sys, std::move(opts));
  if (cli)
    cli->write(echo_message{"hello from " + name});
  return cli ? *cli : tao::client{};
}

/// Polls the server's counters until `pred` holds (bounded: 10 s).
template <class Pred>
tao::server_stats wait_stats(caf::actor_system& sys, const tao::server& srv, Pred pred) {
  auto stats = tao::examples::request_stats(sys, srv);
  for (int i = 0; i < 500 && !pred(stats); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    stats = tao::examples::request_stats(sys, srv);
  }
  return stats;
}

void print(const tao::server_stats& s) {
  tao::examples::print_line("server_stats: connections=", s.connections, " accepted=", s.accepted,
                            " refused_max_connections=", s.refused_max_connections,
                            " closed=", s.closed);
}

/// The lines of `text` that start with `prefix`.
void print_metric(const std::string& text, const std::string& prefix) {
  size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find('\n', pos);
    auto line = text.substr(pos, end - pos);
    if (line.rfind(prefix, 0) == 0)
      tao::examples::print_line("metrics: ", line);
    pos = end == std::string::npos ? text.size() : end + 1;
  }
}

} // namespace

int main(int argc, char** argv) {
  config cfg;
  cfg.load<caf::io::middleman>();
  if (auto exit_code = tao::parse_command_line(cfg, argc, argv))
    return *exit_code;
  auto n = cfg.max_connections;
  if (n == 0) {
    std::cerr << "error: --max-connections must be positive\n";
    return 1;
  }
  caf::actor_system sys{cfg};

  auto metrics = std::make_shared<tao::metrics>();
  tao::server_options sopts;
  sopts.max_connections = n;
  sopts.metrics = metrics;
  sopts.handlers.on<echo_message>([](tao::connection& c, const echo_message& m) { c.write(m); });
  auto srv = tao::server::start(sys, std::move(sopts));
  if (!srv) {
    std::cerr << "error: " << tao::protocol::render(srv.error()) << '\n';
    return 1;
  }
  tao::examples::print_line("listening on 127.0.0.1:", srv->port(), ", at most ", n,
                            " connections");

  view_type view;
  std::map<std::string, tao::client> clients;
  auto finish = [&](int rc, const std::string& what = "") {
    if (rc != 0)
      tao::examples::print_line("FAILED: ", what);
    for (auto& [name, cli] : clients)
      tao::stop_gracefully(sys, cli);
    tao::stop_gracefully(sys, *srv);
    return rc;
  };
  auto wait = [&](auto pred) {
    return view.wait_for(std::chrono::seconds(10), pred);
  };

  // 1. N clients get in.
  for (size_t i = 1; i <= n; ++i) {
    auto name = "client " + std::to_string(i);
    clients[name] = start_client(sys, srv->port(), name, view);
    if (!wait([&](const client_view& v) { return v.echoes.count(name) != 0; }))
      return finish(1, name + " was not served");
  }
  // 2. One more is refused: its connection is closed without an answer.
  auto extra = "client " + std::to_string(n + 1);
  clients[extra] = start_client(sys, srv->port(), extra, view);
  if (!wait([&](const client_view& v) { return v.gave_up.count(extra) != 0; }))
    return finish(1, extra + " was not refused");
  if (view.get().echoes.count(extra) != 0)
    return finish(1, extra + " was served");
  auto stats = wait_stats(
    sys, *srv, [](const tao::server_stats& s) { return s.refused_max_connections >= 1; });
  print(stats);
  if (stats.refused_max_connections != 1 || stats.connections != n)
    return finish(1, "the refusal was not counted");
  // 3. One leaves; the next one gets in.
  tao::examples::print_line("client 1: leaving");
  tao::stop_gracefully(sys, clients["client 1"]);
  clients.erase("client 1");
  stats = wait_stats(sys, *srv, [&](const tao::server_stats& s) { return s.connections < n; });
  if (stats.connections != n - 1)
    return finish(1, "client 1 did not leave");
  auto late = "client " + std::to_string(n + 2);
  clients[late] = start_client(sys, srv->port(), late, view);
  if (!wait([&](const client_view& v) { return v.echoes.count(late) != 0; }))
    return finish(1, late + " was not served after a client left");
  stats = tao::examples::request_stats(sys, *srv);
  print(stats);
  auto text = metrics->text();
  print_metric(text, "tao_connections_refused_total");
  print_metric(text, "tao_connections ");
  if (stats.connections != n || stats.refused_max_connections != 1
      || text.find("tao_connections_refused_total{reason=\"max_connections\"} 1")
           == std::string::npos)
    return finish(1, "wrong counts at the end");
  tao::examples::print_line("self-test passed");
  return finish(0);
}
