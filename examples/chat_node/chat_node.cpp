// tao-chat-node: one node of a distributed Tao chat. Serves Tao chat clients
// on its own port and links its room with the rooms of other nodes through
// CAF's middleman (BASP, optionally TLS). A line from any client reaches every
// client of every node, the sender included.
//
//   tao-chat-node --port=0 --node-port=0 [--web-port=0] [--peer host:port]... [--tls
//     --openssl.certificate=cert.pem --openssl.key=key.pem --openssl.cafile=ca.pem]
//
// Prints "listening on H:P" (clients), "node port N" (other nodes), with
// --web-port "web chat on http://H:P/" (the browser chat), then one
// line per peer up/down, replay and gap. Stops on SIGINT/SIGTERM within
// --drain-timeout plus one second, whatever the peers do.

#include <csignal>
#include <iostream>
#include <mutex>
#include <sstream>

#include <caf/actor_system.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/openssl/publish.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "tao/all.hpp"

#include "linker.hpp"
#include "node_config.hpp"
#include "room.hpp"
#include "stop_deadline.hpp"

namespace {

std::mutex out_mtx;

void say(const std::string& line) {
  std::lock_guard<std::mutex> guard{out_mtx};
  std::cout << line << std::endl;
}

} // namespace

int main(int argc, char** argv) {
  tao::catch_stop_signals();

  chat_node::node_config cfg;
  cfg.load<caf::io::middleman>();
  if (auto exit_code = cfg.parse_command_line(argc, argv))
    return *exit_code;
  if (auto err = cfg.check(); !err.empty()) {
    std::cerr << "error: " << err << '\n';
    return 2;
  }
  if (cfg.tls)
    cfg.load<caf::openssl::manager>();
  // Outlives the actor system: bounds its destructor once a stop began.
  chat_node::stop_deadline deadline{[](long long ms) {
    say("stopped after " + std::to_string(ms)
        + " ms without waiting for the rest (connects in flight abandoned)");
  }};
  caf::actor_system sys{cfg};

  std::shared_ptr<tao::metrics> metrics;
  if (!cfg.metrics.empty()) {
    metrics = std::make_shared<tao::metrics>();
    if (auto err = metrics->serve(cfg.metrics)) {
      std::cerr << "error: " << tao::protocol::render(err) << '\n';
      return 1;
    }
  }
  chat_node::room_config rcfg;
  rcfg.incarnation = chat_node::random_incarnation();
  rcfg.history_lines = cfg.history_lines;
  rcfg.retention.max_lines = cfg.retain_lines;
  rcfg.retention.max_bytes = cfg.retain_bytes;
  rcfg.metrics = metrics;
  auto room = chat_node::spawn_room(sys, rcfg);
  caf::actor linker;
  auto stop_actors = [&] {
    if (linker)
      caf::anon_send_exit(linker, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(room, caf::exit_reason::user_shutdown);
  };

  // The room, published for other nodes; the linker keeps it linked.
  auto node_port = cfg.tls
                     ? caf::openssl::publish(room, cfg.node_port, cfg.node_host.c_str(), true)
                     : sys.middleman().publish(room, cfg.node_port, cfg.node_host.c_str(), true);
  if (!node_port) {
    std::cerr << "error: cannot publish the room on " << cfg.node_host << ":" << cfg.node_port
              << ": " << sys.render(node_port.error()) << '\n';
    stop_actors();
    return 1;
  }
  auto address = cfg.advertised_address(*node_port);
  chat_node::linker_config lcfg;
  lcfg.self_address = address;
  lcfg.room = room;
  lcfg.middleman = cfg.tls ? sys.openssl_manager().actor_handle() : sys.middleman().actor_handle();
  lcfg.log = say;
  linker = chat_node::spawn_linker(sys, lcfg);
  caf::anon_send(room, chat_node::node_atom::value, address, linker);

  // The clients' server: each connection joins the room, each line goes to it.
  tao::server_options opts;
  opts.host = cfg.host;
  opts.port = cfg.port;
  opts.metrics = metrics;
  opts.drain_timeout = std::chrono::milliseconds(cfg.drain_timeout_ms);
  if (auto err = chat_node::serve_room(opts, room)) {
    std::cerr << "error: " << tao::protocol::render(err) << '\n';
    stop_actors();
    return 1;
  }
  auto srv = tao::server::start(sys, std::move(opts));
  if (!srv) {
    std::cerr << "error: " << tao::protocol::render(srv.error()) << '\n';
    stop_actors();
    return 1;
  }
  // The browser chat: the page and a WebSocket, browsers in the same room.
  tao::server web;
  if (cfg.web_port >= 0) {
    tao::server_options wopts;
    wopts.host = cfg.host;
    wopts.port = static_cast<uint16_t>(cfg.web_port);
    wopts.metrics = metrics;
    wopts.drain_timeout = std::chrono::milliseconds(cfg.drain_timeout_ms);
    wopts.transport = tao::transport_kind::websocket;
    wopts.websocket.text_type = chat_node::chat_line_type;
    wopts.websocket.subprotocols = {"tao-chat"};
    wopts.websocket.web_root = cfg.web_root;
    wopts.heartbeat_period = std::chrono::seconds(20); // pings keep proxies from dropping idle tabs
    auto err = chat_node::serve_room_web(wopts, room);
    auto started =
      err ? caf::expected<tao::server>{std::move(err)} : tao::server::start(sys, std::move(wopts));
    if (!started) {
      std::cerr << "error: " << tao::protocol::render(started.error()) << '\n';
      srv->stop();
      stop_actors();
      return 1;
    }
    web = *started;
  }
  {
    std::ostringstream os;
    os << "node " << std::hex << rcfg.incarnation << std::dec << '\n'
       << "listening on " << cfg.host << ":" << srv->port() << '\n'
       << "node port " << *node_port << " (" << address << ", "
       << (cfg.tls ? "TLS, mutual authentication" : "plain BASP") << ")";
    if (web)
      os << "\nweb chat on http://" << cfg.host << ":" << web.port() << "/";
    say(os.str());
  }
  for (auto& peer : cfg.peers)
    caf::anon_send(linker, chat_node::link_atom::value, peer);

  tao::run_until_signal(
    sys,
    [&] {
      say("stopping");
      deadline.arm(std::chrono::milliseconds(cfg.drain_timeout_ms + 1000));
    },
    *srv, web, stop_actors);
  return 0;
}
