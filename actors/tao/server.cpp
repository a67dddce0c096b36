#include "tao/server.hpp"

#include <string>
#include <utility>

#include <caf/io/middleman.hpp>
#include <caf/io/network/multiplexer.hpp>
#include <caf/send.hpp>

#include "tao/detail/log.hpp"
#include "tao/detail/server_broker.hpp"
#include "tao/detail/server_front.hpp"
#include "tao/detail/validate.hpp"
#include "tao/io_pool.hpp"
#include "tao/protocol/error.hpp"

namespace tao {

using protocol::errc;

namespace {

spdlog::logger& server_log() {
  static auto& log = detail::logger("tao.server");
  return log;
}

/// A listener of the user's middleman on `options.host:port`; fails with
/// `errc::network_failure` naming the address.
caf::expected<caf::io::doorman_ptr> listen(caf::actor_system& sys, const server_options& options,
                                           uint16_t port) {
  auto doorman =
    sys.middleman().backend().new_tcp_doorman(port, options.host.c_str(), options.reuse_address);
  if (!doorman)
    return protocol::make_error(errc::network_failure, "cannot listen on " + options.host + ":"
                                                         + std::to_string(port) + ": "
                                                         + protocol::render(doorman.error()));
  return doorman;
}

/// The server with one I/O thread: one broker accepting on its doormen.
caf::expected<server> start_on_one_thread(caf::actor_system& sys,
                                          std::shared_ptr<const server_options> options,
                                          std::shared_ptr<net::tls_context> tls,
                                          std::shared_ptr<net::websocket_context> websocket) {
  detail::server_broker_config cfg;
  auto main = listen(sys, *options, options->port);
  if (!main)
    return main.error();
  cfg.port = (*main)->port();
  cfg.main = std::move(*main);
  if (options->websocket_port >= 0) {
    auto ws = listen(sys, *options, static_cast<uint16_t>(options->websocket_port));
    if (!ws)
      return ws.error();
    cfg.ws_port = (*ws)->port();
    cfg.ws = std::move(*ws);
  }
  auto port = cfg.port;
  auto ws_port = cfg.ws_port;
  cfg.options = options;
  cfg.tls = std::move(tls);
  cfg.websocket = std::move(websocket);
  return server{detail::spawn_server_broker(sys, std::move(cfg)), options->codec, port, ws_port};
}

} // namespace

caf::expected<server> server::start(caf::actor_system& sys, server_options opts) {
  if (auto err = detail::validate(sys, opts))
    return err;
  if (opts.max_connections == 0)
    return protocol::make_error(errc::invalid_argument, "max_connections must be positive");
  if (auto err = detail::validate_io_threads(sys, opts))
    return err;
  auto tls = net::tls_context::make_if_enabled(net::tls_role::server, opts.tls);
  if (!tls)
    return tls.error();
  if (opts.websocket_port < -1 || opts.websocket_port > 65535)
    return protocol::make_error(errc::invalid_argument,
                                "websocket_port must be -1 (off) or a port from 0 to 65535");
  if (opts.websocket_port >= 0 && opts.transport == transport_kind::websocket)
    return protocol::make_error(errc::invalid_argument,
                                "websocket_port is a second port for a tcp transport server");
  std::shared_ptr<net::websocket_context> websocket;
  if (opts.transport == transport_kind::websocket || opts.websocket_port >= 0) {
    auto ctx =
      net::websocket_context::make(net::websocket_role::server, opts.websocket, opts.codec);
    if (!ctx)
      return ctx.error();
    websocket = std::move(*ctx);
  }
  auto options = std::make_shared<const server_options>(std::move(opts));
  auto result =
    options->io_threads > 1
      ? detail::start_sharded_server(sys, options, std::move(*tls), std::move(websocket))
      : start_on_one_thread(sys, options, std::move(*tls), std::move(websocket));
  if (!result)
    return result;
  const auto& o = *options;
  auto tls_note = o.tls.enabled ? " (TLS)" : "";
  auto threads =
    o.io_threads > 1 ? " on " + std::to_string(o.io_threads) + " I/O threads" : std::string{};
  server_log().info("listening on {}:{}{}{}{}", o.host, result->port(),
                    o.transport == transport_kind::websocket ? " (WebSocket)" : "", tls_note,
                    threads);
  if (result->websocket_port() != 0)
    server_log().info("listening on {}:{} (WebSocket){}", o.host, result->websocket_port(),
                      tls_note);
  return result;
}

void server::sched(caf::timespan period, connection::timer_callback f) const {
  caf::anon_send(actor_, sched_atom::value, period, std::move(f));
}

void server::reload_tls() const {
  caf::anon_send(actor_, reload_tls_atom::value);
}

void server::stop() const {
  caf::anon_send(actor_, stop_atom::value);
}

} // namespace tao
