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
  auto host = opts.host;
  auto tls_on = opts.tls.enabled;
  auto ws_on = opts.transport == transport_kind::websocket;
  auto io_threads = opts.io_threads;
  auto options = std::make_shared<const server_options>(std::move(opts));
  caf::expected<server> result = caf::error{};
  if (io_threads > 1) {
    result = detail::start_sharded_server(sys, options, std::move(*tls), std::move(websocket));
  } else {
    auto& mm = sys.middleman();
    detail::server_broker_config cfg;
    auto doorman =
      mm.backend().new_tcp_doorman(options->port, options->host.c_str(), options->reuse_address);
    if (!doorman)
      return protocol::make_error(errc::network_failure, "cannot listen on " + options->host + ":"
                                                           + std::to_string(options->port) + ": "
                                                           + protocol::render(doorman.error()));
    cfg.port = (*doorman)->port();
    cfg.main = std::move(*doorman);
    if (options->websocket_port >= 0) {
      auto ws = mm.backend().new_tcp_doorman(static_cast<uint16_t>(options->websocket_port),
                                             options->host.c_str(), options->reuse_address);
      if (!ws)
        return protocol::make_error(errc::network_failure,
                                    "cannot listen on " + options->host + ":"
                                      + std::to_string(options->websocket_port) + ": "
                                      + protocol::render(ws.error()));
      cfg.ws_port = (*ws)->port();
      cfg.ws = std::move(*ws);
    }
    auto port = cfg.port;
    auto ws_port = cfg.ws_port;
    cfg.options = options;
    cfg.tls = std::move(*tls);
    cfg.websocket = std::move(websocket);
    auto actor = detail::spawn_server_broker(sys, std::move(cfg));
    result = server{std::move(actor), options->codec, port, ws_port};
  }
  if (!result)
    return result;
  auto threads = io_threads > 1 ? " on " + std::to_string(io_threads) + " I/O threads" : "";
  server_log().info("listening on {}:{}{}{}{}", host, result->port(), ws_on ? " (WebSocket)" : "",
                    tls_on ? " (TLS)" : "", threads);
  if (result->websocket_port() != 0)
    server_log().info("listening on {}:{} (WebSocket){}", host, result->websocket_port(),
                      tls_on ? " (TLS)" : "");
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
