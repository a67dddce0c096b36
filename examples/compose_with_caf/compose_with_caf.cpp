// tao-compose-with-caf: tao connections working with an ordinary CAF actor.
// The room registry (room_registry.hpp) is spawned in the same actor system
// as the server; connection handlers send it plain CAF messages, it writes
// back through each member's connection_ref, limits every room to --rate
// lines per second (--burst saved up), and monitors the members' connection
// actors. main monitors the registry and asks it for counters with request.
//
//   tao-compose-with-caf [--rate=5 --burst=5 --lines=10]
//       self-test: alice and bob in "lobby", carol in "garden"; alice sends
//       --lines lines at once: --burst of them reach alice and bob, the rest
//       are refused with a notice; carol's room is not affected; bob leaves
//       and the registry notices. Exits 0 if all of that happened.
//
// Protocol: type 1 chat line, type 2 join ("<room> <name>"), type 3 notice.

#include <chrono>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include "tao/all.hpp"

#include "common/print_line.hpp"
#include "common/waiter.hpp"
#include "room_registry.hpp"

namespace {

struct config : caf::actor_system_config {
  compose::registry_config registry;
  size_t lines = 10;
  config() {
    opt_group{custom_options_, "global"}
      .add(registry.rate, "rate", "lines per second per room")
      .add(registry.burst, "burst", "lines a quiet room may send at once")
      .add(lines, "lines", "lines alice sends at once in the self-test");
  }
};

/// What each client received, by name.
struct inboxes {
  std::map<std::string, std::vector<std::string>> lines;
  std::map<std::string, std::vector<std::string>> notices;
};

using inbox_type = tao::examples::waiter<inboxes>;

/// The server: each handler forwards to the registry with a plain send.
caf::expected<tao::server> start_server(caf::actor_system& sys, const caf::actor& registry) {
  tao::server_options opts;
  opts.handlers.on<compose::join_request>(
    [registry](tao::connection& c, const compose::join_request& m) {
      auto space = m.text.find(' ');
      auto room = m.text.substr(0, space);
      auto name = space == std::string::npos ? c.name() : m.text.substr(space + 1);
      caf::anon_send(registry, compose::join_atom::value, room, name, c.ref());
    });
  opts.handlers.on<compose::chat_line>([registry](tao::connection& c, const compose::chat_line& m) {
    caf::anon_send(registry, compose::say_atom::value, c.id(), m.text);
  });
  return tao::server::start(sys, std::move(opts));
}

/// A client that joins `room` as `name` and records what it receives.
tao::client start_client(caf::actor_system& sys, uint16_t port, const std::string& name,
                         const std::string& room, inbox_type& inbox) {
  tao::client_options opts;
  opts.port = port;
  opts.handlers.on<compose::chat_line>(
    [&inbox, name](tao::connection&, const compose::chat_line& m) {
      tao::examples::print_line(name, " got: ", m.text);
      inbox.update([&](inboxes& x) { x.lines[name].push_back(m.text); });
    });
  opts.handlers.on<compose::notice>([&inbox, name](tao::connection&, const compose::notice& m) {
    tao::examples::print_line(name, " notice: ", m.text);
    inbox.update([&](inboxes& x) { x.notices[name].push_back(m.text); });
  });
  auto cli = tao::client::start(sys, std::move(opts));
  if (!cli)
    return {};
  cli->write(compose::join_request{room + " " + name});
  return *cli;
}

compose::registry_stats registry_stats(caf::actor_system& sys, const caf::actor& registry) {
  compose::registry_stats result;
  caf::scoped_actor self{sys};
  self->request(registry, std::chrono::seconds(5), compose::room_stats_atom::value)
    .receive([&](const compose::registry_stats& x) { result = x; }, [](const caf::error&) {});
  return result;
}

size_t members(caf::actor_system& sys, const caf::actor& registry, const std::string& room) {
  size_t result = 0;
  caf::scoped_actor self{sys};
  self->request(registry, std::chrono::seconds(5), compose::members_atom::value, room)
    .receive([&](size_t n) { result = n; }, [](const caf::error&) {});
  return result;
}

size_t count_prefix(const std::vector<std::string>& xs, const std::string& prefix) {
  size_t n = 0;
  for (auto& x : xs)
    n += x.rfind(prefix, 0) == 0 ? 1 : 0;
  return n;
}

} // namespace

int main(int argc, char** argv) {
  config cfg;
  cfg.load<caf::io::middleman>();
  if (auto exit_code = tao::parse_command_line(cfg, argc, argv))
    return *exit_code;
  if (cfg.registry.rate <= 0 || cfg.registry.burst < 1) {
    std::cerr << "error: --rate must be positive and --burst at least 1\n";
    return 1;
  }
  caf::actor_system sys{cfg};

  // An ordinary actor in the same system; main monitors it.
  auto registry = compose::spawn_room_registry(sys, cfg.registry);
  caf::scoped_actor watcher{sys};
  watcher->monitor(registry);

  auto srv = start_server(sys, registry);
  if (!srv) {
    std::cerr << "error: " << tao::protocol::render(srv.error()) << '\n';
    caf::anon_send_exit(registry, caf::exit_reason::user_shutdown);
    return 1;
  }
  tao::examples::print_line("listening on 127.0.0.1:", srv->port());

  inbox_type inbox;
  std::map<std::string, tao::client> clients;
  auto finish = [&](int rc, const std::string& what = "") {
    if (rc != 0)
      tao::examples::print_line("FAILED: ", what);
    for (auto& [name, cli] : clients)
      tao::stop_gracefully(sys, cli);
    tao::stop_gracefully(sys, *srv);
    // The registry holds only handles; stop it once nothing uses it.
    caf::anon_send_exit(registry, caf::exit_reason::user_shutdown);
    watcher->receive([](const caf::down_msg& msg) {
      tao::examples::print_line("registry down: ", caf::to_string(msg.reason));
    });
    return rc;
  };
  auto wait = [&](auto pred) {
    return inbox.wait_for(std::chrono::seconds(10), pred);
  };

  for (auto [name, room] : {std::pair{"alice", "lobby"}, {"bob", "lobby"}, {"carol", "garden"}})
    clients[name] = start_client(sys, srv->port(), name, room, inbox);
  if (!wait([](const inboxes& x) { return x.notices.size() == 3; }))
    return finish(1, "not everyone joined");

  // alice floods the lobby; the registry's token bucket lets --burst through.
  auto n = cfg.lines;
  for (size_t i = 0; i < n; ++i)
    clients["alice"].write(compose::chat_line{"line " + std::to_string(i)});
  if (!wait([n](const inboxes& x) {
        auto l = x.lines.find("alice");
        auto nt = x.notices.find("alice");
        return (l == x.lines.end() ? 0 : l->second.size())
                 + (nt == x.notices.end() ? 0 : count_prefix(nt->second, "rate limited"))
               == n;
      }))
    return finish(1, "alice's lines were neither delivered nor refused");
  auto alice_lines = inbox.get().lines["alice"].size();
  if (!wait([&](const inboxes& x) {
        auto b = x.lines.find("bob");
        return b != x.lines.end() && b->second.size() >= alice_lines;
      }))
    return finish(1, "bob did not get alice's lines");

  // carol's room has its own bucket.
  clients["carol"].write(compose::chat_line{"hello garden"});
  if (!wait([](const inboxes& x) { return x.lines.count("carol") != 0; }))
    return finish(1, "carol's line was not delivered");

  auto stats = registry_stats(sys, registry);
  tao::examples::print_line("registry: delivered=", stats.delivered,
                            " rate_limited=", stats.rate_limited, " members=", stats.members);
  if (alice_lines < 1 || alice_lines >= n || stats.delivered != alice_lines + 1
      || stats.rate_limited != n - alice_lines || stats.members != 3)
    return finish(1, "unexpected counts");

  // bob leaves; the registry learns it by monitoring his connection actor.
  tao::stop_gracefully(sys, clients["bob"]);
  clients.erase("bob");
  size_t left = 2;
  for (int i = 0; i < 500 && (left = members(sys, registry, "lobby")) != 1; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  tao::examples::print_line("lobby members after bob left: ", left);
  if (left != 1)
    return finish(1, "the registry did not drop bob");
  auto x = inbox.get();
  if (count_prefix(x.lines["bob"], "carol:") != 0 || count_prefix(x.lines["alice"], "carol:") != 0)
    return finish(1, "a garden line reached the lobby");
  tao::examples::print_line("self-test passed");
  return finish(0);
}
