// tao-chat-server: Tao's chat server. Every line (type 1) goes to everyone,
// the sender included. With --web-port it also serves the browser chat:
// the page over HTTP and a WebSocket on that port, in the same room as the
// Tao TCP clients. Stops on SIGINT/SIGTERM after delivering what is queued.
//
//   tao-chat-server --port=12345 [--web-port=8080] [--tls-cert=server.pem --tls-key=server.key]
#include <csignal>
#include <iostream>

#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include "tao/all.hpp"

#include "chat/room.hpp"
#include "common/tls_flags.hpp"

#ifndef TAO_CHAT_WEB_ROOT
#define TAO_CHAT_WEB_ROOT "web"
#endif

struct config : caf::actor_system_config {
  tao::server_options server;
  tao::option_flags flags;
  tao::examples::tls_flags tls;
  std::string metrics;
  int web_port = -1;
  std::string web_root = TAO_CHAT_WEB_ROOT;
  std::vector<std::string> web_origins;
  config() {
    server.port = 12345;
    opt_group group{custom_options_, "global"};
    flags.add_server(group, server);
    flags.add_logging(group);
    group.add(metrics, "metrics",
              "serve Prometheus metrics on this host:port (e.g. 127.0.0.1:9464)");
    group
      .add(web_port, "web-port",
           "serve the browser chat (page and WebSocket) on this port; 0 picks one, -1 is off")
      .add(web_root, "web-root", "directory of the chat page")
      .add(web_origins, "web-origins", "Origin values browsers may connect from (default: any)");
    tls.add_server_flags(group);
  }
};

namespace {

/// The browser side: the page and a WebSocket on `port`, same room. Lines
/// from browsers are prefixed with the sender's nick.
caf::expected<tao::server> start_web(caf::actor_system& sys, const config& cfg,
                                     const tao::server_options& base,
                                     std::shared_ptr<chat::room> room) {
  tao::server_options opts;
  opts.host = base.host;
  opts.port = static_cast<uint16_t>(cfg.web_port);
  opts.tls = base.tls; // wss:// and https:// when the TCP port has TLS
  opts.metrics = base.metrics;
  opts.transport = tao::transport_kind::websocket;
  opts.websocket.text_type = chat::line::tao_type;
  opts.websocket.subprotocols = {"tao-chat"};
  opts.websocket.web_root = cfg.web_root;
  opts.websocket.allowed_origins = cfg.web_origins;
  opts.heartbeat_period = std::chrono::seconds(20); // pings keep proxies from dropping idle tabs
  opts.handlers.on<chat::nick_message>([room](tao::connection& c, const chat::nick_message& m) {
    bool first = false;
    auto nick = room->claim(c.id(), m.text, first);
    c.write(chat::nick_message{nick});
    if (first)
      room->say("* " + nick + " joined\n");
    room->publish_roster();
  });
  opts.handlers.on<chat::line>([room](tao::connection& c, const chat::line& m) {
    auto nick = room->nick(c.id());
    if (nick.empty())
      return; // lines before a nick are dropped
    auto text = nick + ": " + m.text;
    if (text.back() != '\n')
      text += '\n';
    room->say(text);
  });
  opts.on_close = [room](tao::connection& c, const caf::error&) {
    auto nick = room->left(c.id());
    if (!nick.empty()) {
      room->say("* " + nick + " left\n");
      room->publish_roster();
    }
  };
  return tao::server::start(sys, std::move(opts));
}

} // namespace

int main(int argc, char** argv) {
  tao::catch_stop_signals();
  config cfg;
  cfg.load<caf::io::middleman>();
  if (auto exit_code = tao::parse_command_line(cfg, argc, argv))
    return *exit_code;
  // The I/O shards for --io-threads, declared first: they must outlive sys.
  tao::io_pool pool{cfg.server.io_threads};
  caf::actor_system sys{cfg};
  auto opts = cfg.server;
  opts.io_pool = &pool;
  auto flag_err = cfg.flags.apply(opts);
  if (!flag_err)
    flag_err = cfg.flags.apply_logging();
  if (flag_err)
    return std::cerr << "error: " << tao::protocol::render(flag_err) << '\n',
           tao::usage_error_exit_code;
  opts.tls = cfg.tls.server_options();
  if (!cfg.metrics.empty()) {
    opts.metrics = std::make_shared<tao::metrics>();
    if (auto err = opts.metrics->serve(cfg.metrics))
      return std::cerr << tao::protocol::render(err) << '\n', 1;
  }
  auto room = std::make_shared<chat::room>();
  opts.handlers.on<chat::line>(
    [room](tao::connection&, const chat::line& m) { room->say(m.text); });
  if (cfg.web_port >= 0) {
    // Browsers see TCP clients in the roster.
    opts.on_connect = [room](tao::connection& c) {
      room->joined_tcp(c.id());
      room->publish_roster();
      return true;
    };
    opts.on_close = [room](tao::connection& c, const caf::error&) {
      room->left(c.id());
      room->publish_roster();
    };
  }
  auto web_base = opts;
  auto srv = tao::server::start(sys, std::move(opts));
  if (!srv)
    return std::cerr << tao::protocol::render(srv.error()) << '\n', 1;
  room->add_server(*srv, false);
  std::cout << "listening on " << cfg.server.host << ":" << srv->port() << std::endl;
  tao::server web;
  if (cfg.web_port >= 0) {
    if (cfg.web_port > 65535)
      return std::cerr << "--web-port must be at most 65535\n", 1;
    auto started = start_web(sys, cfg, web_base, room);
    if (!started) {
      std::cerr << tao::protocol::render(started.error()) << '\n';
      srv->stop();
      return 1;
    }
    web = *started;
    room->add_server(web, true);
    std::cout << "web chat on " << (cfg.tls.cert.empty() ? "http" : "https") << "://"
              << cfg.server.host << ":" << web.port() << "/" << std::endl;
  }
  tao::run_until_signal(sys, *srv, web);
}
