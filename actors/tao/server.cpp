#include "tao/server.hpp"

#include <chrono>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/actor_cast.hpp>
#include <caf/io/broker.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/network/multiplexer.hpp>
#include <caf/io/system_messages.hpp>
#include <caf/response_promise.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include "tao/detail/broker_setup.hpp"
#include "tao/detail/connection_ids.hpp"
#include "tao/detail/endpoint_meter.hpp"
#include "tao/detail/log.hpp"
#include "tao/detail/validate.hpp"
#include "tao/net/atoms.hpp"
#include "tao/net/connection_broker.hpp"
#include "tao/protocol/error.hpp"

namespace tao {

using protocol::errc;

namespace {

using stop_timeout_atom = caf::atom_constant<caf::atom("tao_stopto")>;

using metrics_tick_atom = caf::atom_constant<caf::atom("tao_mtick")>;

/// How often a server with metrics publishes its queued bytes.
constexpr auto metrics_period = std::chrono::seconds(1);

spdlog::logger& server_log() {
  static auto& log = detail::logger("tao.server");
  return log;
}

/// Refusals are logged at most once per this period, with a count.
constexpr auto refusal_log_period = std::chrono::seconds(1);

/// A connection in the server's table, from its fork until both its broker
/// terminated and its host reported the end (`left_atom`, sent after
/// on_close): only then do stats and metrics count it closed, so that they
/// never show a connection gone before its close was counted.
struct member {
  uint64_t id;
  caf::actor broker;
  bool broker_down = false;
  bool left = false;
};

struct server_state {
  std::shared_ptr<const server_options> options;
  std::shared_ptr<net::broker_setup> setup;
  /// Watches every connection's liveness.
  tao::supervisor supervisor;
  caf::io::accept_handle acceptor;
  /// The second listener, for WebSocket clients (`websocket_port`), and the
  /// setup of its connections; invalid and null without one.
  caf::io::accept_handle ws_acceptor;
  std::shared_ptr<net::broker_setup> ws_setup;
  /// Every forked connection broker, joined or not, by address.
  std::unordered_map<caf::actor_addr, member> brokers;
  /// The broker of each entry in `brokers`, by connection id.
  std::unordered_map<uint64_t, caf::actor_addr> broker_of;
  /// Set when the stop timed out: brokers leave without waiting for their
  /// (possibly blocked) handler actors.
  bool stop_forced = false;
  /// Connections that passed on_connect, by id.
  std::unordered_map<uint64_t, connection_ref> conns;
  std::vector<std::pair<caf::timespan, connection::timer_callback>> scheds;
  bool stopping = false;
  /// Set once the stop completed.
  bool stopped = false;
  /// Handler actors (scheduled dispatch) that have not terminated yet: their
  /// on_close runs after their broker is gone, and stop waits for it.
  std::set<caf::actor_addr> handler_actors;
  std::vector<caf::response_promise> stop_waiters;
  server_stats stats;
  detail::endpoint_meter meter{nullptr};
  caf::actor_clock::time_point last_refusal_log;
  uint64_t refusals_not_logged = 0;
  static inline const char* name = "tao.server";
};

using server_actor = caf::stateful_actor<server_state, caf::io::broker>;

void finish_stop(server_actor* self) {
  auto& st = self->state;
  st.stopped = true;
  st.meter.finish();
  server_log().info("stopped ({} connections served)", st.stats.accepted);
  for (auto& rp : st.stop_waiters)
    rp.deliver(caf::unit);
  st.stop_waiters.clear();
  self->quit();
}

/// Completes a stop once every broker and every handler actor is gone.
void maybe_finish_stop(server_actor* self) {
  auto& st = self->state;
  if (st.stopping && !st.stopped && st.brokers.empty() && st.handler_actors.empty())
    finish_stop(self);
}

/// Removes a connection whose broker and host are both done.
void remove_member(server_actor* self, std::unordered_map<caf::actor_addr, member>::iterator i) {
  auto& st = self->state;
  st.conns.erase(i->second.id);
  st.broker_of.erase(i->second.id);
  st.brokers.erase(i);
  ++st.stats.closed;
  st.meter.gone();
  maybe_finish_stop(self);
}

void begin_stop(server_actor* self) {
  auto& st = self->state;
  if (st.stopping)
    return;
  st.stopping = true;
  server_log().info("stopping: closing {} connections", st.brokers.size());
  self->close(st.acceptor);
  if (st.ws_setup)
    self->close(st.ws_acceptor);
  if (st.brokers.empty()) {
    maybe_finish_stop(self);
    return;
  }
  // Joined connections close through their connection's actor (frames
  // already received are handled and pending replies awaited first); the
  // others straight at the broker.
  for (auto& kvp : st.brokers) {
    auto i = st.conns.find(kvp.second.id);
    if (i != st.conns.end())
      i->second.close();
    else
      caf::anon_send(kvp.second.broker, net::close_atom::value, caf::error{});
  }
  // Each broker resets its connection after its drain timeout. A handler
  // actor stuck in a blocking handler never forwards the close, though: after
  // twice the drain timeout the remaining brokers are reset directly.
  caf::delayed_anon_send(caf::actor_cast<caf::actor>(self), 2 * st.options->drain_timeout,
                         stop_timeout_atom::value);
}

/// The listeners of a server: `main` for `transport`, `ws` (may be null) for
/// WebSocket clients on `websocket_port`.
struct listeners {
  caf::io::doorman_ptr main;
  uint16_t port = 0;
  caf::io::doorman_ptr ws;
  uint16_t ws_port = 0;
};

caf::behavior server_behavior(server_actor* self, listeners ports,
                              std::shared_ptr<const server_options> options,
                              std::shared_ptr<net::tls_context> tls,
                              std::shared_ptr<net::websocket_context> websocket) {
  auto& init = self->state;
  init.options = options;
  init.acceptor = ports.main->hdl();
  self->add_doorman(std::move(ports.main));
  if (ports.ws) {
    init.ws_acceptor = ports.ws->hdl();
    self->add_doorman(std::move(ports.ws));
  }
  tao::server handle{caf::actor_cast<caf::actor>(self), options->codec, ports.port, ports.ws_port};
  init.supervisor = options->supervisor;
  if (!init.supervisor) {
    // Its own, on the I/O thread, ending with the server.
    supervisor_options sup;
    sup.owner = caf::actor_cast<caf::actor>(self);
    init.supervisor = *tao::supervisor::spawn(self->home_system(), std::move(sup));
  }
  auto setup = detail::make_broker_setup(self->home_system(), options, handle,
                                         caf::actor_cast<caf::actor>(self), init.supervisor);
  setup->tls = std::move(tls);
  setup->websocket = std::move(websocket);
  if (setup->websocket)
    setup->on_unserved =
      [me = caf::actor_cast<caf::actor>(handle.actor())](uint64_t id, const caf::error& reason) {
        caf::anon_send(me, unserved_atom::value, id, reason);
      };
  init.meter = detail::endpoint_meter{options->metrics};
  setup->on_heartbeat_sent = init.meter.heartbeat_counter();
  if (setup->websocket && init.ws_acceptor != caf::io::accept_handle{}) {
    // TCP on the main port, WebSocket on the second: same setup otherwise.
    init.ws_setup = std::make_shared<net::broker_setup>(*setup);
    setup->websocket = nullptr;
    setup->on_unserved = nullptr;
  }
  init.setup = std::move(setup);
  if (init.meter.enabled())
    caf::delayed_anon_send(caf::actor_cast<caf::actor>(self), metrics_period,
                           metrics_tick_atom::value);
  // Brokers and server watch each other by monitor: a broker's end cleans
  // the table, the server's end resets every connection.
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    if (st.handler_actors.erase(msg.source) > 0) {
      maybe_finish_stop(self);
      return;
    }
    auto i = st.brokers.find(msg.source);
    if (i == st.brokers.end())
      return;
    i->second.broker_down = true;
    // A broker that failed (rather than quit) may have taken its host with
    // it before the host could report.
    if (i->second.left || msg.reason || st.stop_forced)
      remove_member(self, i);
  });
  return {
    [self](const caf::io::new_connection_msg& msg) {
      auto& st = self->state;
      if (st.stopping) {
        // The listener is closing; a connection that slipped in meanwhile is
        // not a max_connections refusal.
        ++st.stats.refused_stopping;
        st.meter.refused("stopping");
        self->close(msg.handle);
        return;
      }
      if (st.brokers.size() >= st.options->max_connections) {
        ++st.stats.refused_max_connections;
        st.meter.refused("max_connections");
        self->close(msg.handle);
        ++st.refusals_not_logged;
        auto now = self->clock().now();
        if (now - st.last_refusal_log >= refusal_log_period) {
          server_log().warn("refused {} connection(s): {} connections served at most",
                            st.refusals_not_logged, st.options->max_connections);
          st.last_refusal_log = now;
          st.refusals_not_logged = 0;
        }
        return;
      }
      auto id = detail::next_connection_id();
      const auto& conn_setup = st.ws_setup && msg.source == st.ws_acceptor ? st.ws_setup : st.setup;
      auto broker = self->fork(net::connection_broker, msg.handle, conn_setup, id);
      self->monitor(broker);
      st.brokers.emplace(broker.address(), member{id, broker});
      st.broker_of.emplace(id, broker.address());
      ++st.stats.accepted;
      st.meter.opened();
    },
    [](const caf::io::acceptor_closed_msg&) {
      // The listening socket failed or was closed by stop.
    },
    [self](joined_atom, const connection_ref& ref) {
      auto& st = self->state;
      if (ref.actor() != ref.broker() && st.handler_actors.insert(ref.actor().address()).second)
        self->monitor(ref.actor());
      auto i = st.brokers.find(ref.broker().address());
      if (i == st.brokers.end() || i->second.broker_down || i->second.left)
        return; // already gone
      if (st.stopping) {
        ref.close();
        return;
      }
      st.conns.emplace(ref.id(), ref);
      for (auto& [period, f] : st.scheds)
        caf::anon_send(ref.actor(), sched_atom::value, period, f);
    },
    [self](left_atom, uint64_t id, const caf::error& reason, bool) {
      // Counts why the connection ended; it leaves the table once its broker
      // terminated as well.
      auto& st = self->state;
      st.meter.closed(reason);
      if (protocol::is(reason, errc::refused)) {
        ++st.stats.refused_on_connect;
        st.meter.refused("on_connect");
      } else if (protocol::is(reason, errc::tls_failure)) {
        ++st.stats.tls_failures;
        st.meter.refused("tls");
      }
      st.conns.erase(id);
      auto b = st.broker_of.find(id);
      if (b == st.broker_of.end())
        return;
      auto i = st.brokers.find(b->second);
      i->second.left = true;
      if (i->second.broker_down)
        remove_member(self, i);
    },
    [self](unserved_atom, uint64_t id, const caf::error& reason) {
      // A connection that never reached on_connect (no left_atom follows).
      auto& st = self->state;
      if (protocol::is(reason, errc::tls_failure)) {
        ++st.stats.tls_failures;
        st.meter.refused("tls");
      }
      auto b = st.broker_of.find(id);
      if (b == st.broker_of.end())
        return;
      auto i = st.brokers.find(b->second);
      i->second.left = true;
      if (i->second.broker_down)
        remove_member(self, i);
    },
    [self](metrics_tick_atom) {
      auto& st = self->state;
      if (st.stopping)
        return;
      size_t queued = 0;
      for (auto& kvp : st.conns)
        queued += kvp.second.queued_bytes();
      st.meter.queued(queued);
      caf::delayed_anon_send(caf::actor_cast<caf::actor>(self), metrics_period,
                             metrics_tick_atom::value);
    },
    [self](reload_tls_atom) -> caf::result<caf::unit_t> {
      auto& ctx = self->state.setup->tls;
      if (!ctx)
        return protocol::make_error(errc::invalid_argument, "the server does not use TLS");
      if (auto err = ctx->reload())
        return err;
      return caf::unit;
    },
    [self](broadcast_atom, const protocol::byte_buffer& bytes) {
      auto& st = self->state;
      broadcast_result result;
      for (auto& kvp : st.conns) {
        if (kvp.second.write_encoded(bytes))
          result.failed.push_back(kvp.first);
        else
          ++result.delivered;
      }
      return result;
    },
    [self](unicast_atom, uint64_t id, protocol::byte_buffer& bytes) -> caf::result<caf::unit_t> {
      auto& st = self->state;
      auto i = st.conns.find(id);
      if (i == st.conns.end())
        return protocol::make_error(errc::closed, "conn id " + std::to_string(id) + " not found");
      if (auto err = i->second.write_encoded(std::move(bytes)))
        return err;
      return caf::unit;
    },
    [self](count_atom) { return static_cast<uint64_t>(self->state.conns.size()); },
    [self](lookup_atom, uint64_t id) -> caf::result<connection_ref> {
      auto& st = self->state;
      auto i = st.conns.find(id);
      if (i == st.conns.end())
        return protocol::make_error(errc::closed, "conn id " + std::to_string(id) + " not found");
      return i->second;
    },
    [self](stats_atom) {
      auto stats = self->state.stats;
      stats.connections = self->state.brokers.size();
      const auto& ws_side = self->state.ws_setup ? self->state.ws_setup : self->state.setup;
      if (const auto& ws = ws_side->websocket) {
        const auto& c = ws->counters();
        stats.websocket_upgrades = c.upgrades;
        stats.http_requests = c.http_requests;
        stats.websocket_handshake_failures = c.handshake_failures;
        stats.websocket_protocol_failures = c.protocol_failures;
      }
      return stats;
    },
    [self](sched_atom, caf::timespan period, const connection::timer_callback& f) {
      auto& st = self->state;
      st.scheds.emplace_back(period, f);
      for (auto& kvp : st.conns)
        caf::anon_send(kvp.second.actor(), sched_atom::value, period, f);
    },
    [self](stop_timeout_atom) {
      // A handler that blocks must not hold the stop up: wait for brokers only.
      self->state.handler_actors.clear();
      self->state.stop_forced = true;
      for (auto i = self->state.brokers.begin(); i != self->state.brokers.end();) {
        auto next = std::next(i);
        if (i->second.broker_down)
          remove_member(self, i);
        i = next;
      }
      maybe_finish_stop(self);
      for (auto& kvp : self->state.brokers)
        caf::anon_send(kvp.second.broker, net::abort_atom::value,
                       protocol::make_error(errc::closed, "server stop timed out"));
    },
    [self](stop_atom) {
      auto rp = self->make_response_promise();
      self->state.stop_waiters.push_back(rp);
      begin_stop(self);
      return rp;
    },
  };
}

} // namespace

caf::expected<server> server::start(caf::actor_system& sys, server_options opts) {
  if (auto err = detail::validate(sys, opts))
    return err;
  if (opts.max_connections == 0)
    return protocol::make_error(errc::invalid_argument, "max_connections must be positive");
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
  auto& mm = sys.middleman();
  auto doorman = mm.backend().new_tcp_doorman(opts.port, opts.host.c_str(), opts.reuse_address);
  if (!doorman)
    return protocol::make_error(errc::network_failure, "cannot listen on " + opts.host + ":"
                                                         + std::to_string(opts.port) + ": "
                                                         + protocol::render(doorman.error()));
  listeners ports;
  ports.port = (*doorman)->port();
  ports.main = std::move(*doorman);
  if (opts.websocket_port >= 0) {
    auto ws = mm.backend().new_tcp_doorman(static_cast<uint16_t>(opts.websocket_port),
                                           opts.host.c_str(), opts.reuse_address);
    if (!ws)
      return protocol::make_error(errc::network_failure, "cannot listen on " + opts.host + ":"
                                                           + std::to_string(opts.websocket_port)
                                                           + ": " + protocol::render(ws.error()));
    ports.ws_port = (*ws)->port();
    ports.ws = std::move(*ws);
  }
  auto port = ports.port;
  auto ws_port = ports.ws_port;
  auto host = opts.host;
  auto tls_on = opts.tls.enabled;
  auto ws_on = opts.transport == transport_kind::websocket;
  auto options = std::make_shared<const server_options>(std::move(opts));
  auto codec = options->codec;
  auto actor = mm.spawn_broker(server_behavior, std::move(ports), std::move(options),
                               std::move(*tls), std::move(websocket));
  server_log().info("listening on {}:{}{}{}", host, port, ws_on ? " (WebSocket)" : "",
                    tls_on ? " (TLS)" : "");
  if (ws_port != 0)
    server_log().info("listening on {}:{} (WebSocket){}", host, ws_port, tls_on ? " (TLS)" : "");
  return server{std::move(actor), std::move(codec), port, ws_port};
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
