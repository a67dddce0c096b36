#include "tao/detail/server_broker.hpp"

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
#include "tao/net/atoms.hpp"
#include "tao/net/connection_broker.hpp"
#include "tao/protocol/error.hpp"

namespace tao::detail {

using protocol::errc;

namespace {

using stop_timeout_atom = caf::atom_constant<caf::atom("tao_stopto")>;

using metrics_tick_atom = caf::atom_constant<caf::atom("tao_mtick")>;

/// How often a server with metrics publishes its queued bytes.
constexpr auto metrics_period = std::chrono::seconds(1);

spdlog::logger& server_log() {
  static auto& log = logger("tao.server");
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
  /// This broker's shard and the gate of a sharded server (null otherwise).
  size_t shard = 0;
  std::shared_ptr<connection_gate> gate;
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
  endpoint_meter meter{nullptr};
  caf::actor_clock::time_point last_refusal_log;
  uint64_t refusals_not_logged = 0;
  static inline const char* name = "tao.server";
};

using server_broker_actor = caf::stateful_actor<server_state, caf::io::broker>;

/// "shard N: " in the log lines of a sharded server's brokers, else "".
std::string shard_prefix(const server_state& st) {
  return st.gate ? "shard " + std::to_string(st.shard) + ": " : std::string{};
}

void finish_stop(server_broker_actor* self) {
  auto& st = self->state;
  st.stopped = true;
  st.meter.finish();
  server_log().info("{}stopped ({} connections served)", shard_prefix(st), st.stats.accepted);
  for (auto& rp : st.stop_waiters)
    rp.deliver(caf::unit);
  st.stop_waiters.clear();
  self->quit();
}

/// Completes a stop once every broker and every handler actor is gone.
void maybe_finish_stop(server_broker_actor* self) {
  auto& st = self->state;
  if (st.stopping && !st.stopped && st.brokers.empty() && st.handler_actors.empty())
    finish_stop(self);
}

/// Removes a connection whose broker and host are both done.
void remove_member(server_broker_actor* self,
                   std::unordered_map<caf::actor_addr, member>::iterator i) {
  auto& st = self->state;
  st.conns.erase(i->second.id);
  st.broker_of.erase(i->second.id);
  st.brokers.erase(i);
  if (st.gate)
    st.gate->leave(st.shard);
  ++st.stats.closed;
  st.meter.gone();
  maybe_finish_stop(self);
}

/// Connection `id`'s host said goodbye; it leaves the table once its broker
/// is down too.
void host_left(server_broker_actor* self, uint64_t id) {
  auto& st = self->state;
  auto b = st.broker_of.find(id);
  if (b == st.broker_of.end())
    return;
  auto i = st.brokers.find(b->second);
  i->second.left = true;
  if (i->second.broker_down)
    remove_member(self, i);
}

void begin_stop(server_broker_actor* self) {
  auto& st = self->state;
  if (st.stopping)
    return;
  st.stopping = true;
  server_log().info("{}stopping: closing {} connections", shard_prefix(st), st.brokers.size());
  if (st.acceptor != caf::io::accept_handle{})
    self->close(st.acceptor);
  if (st.ws_acceptor != caf::io::accept_handle{})
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

/// Closes an accepted connection at once, counted under `reason`.
void refuse(server_broker_actor* self, caf::io::connection_handle hdl, uint64_t& counter,
            const char* reason) {
  auto& st = self->state;
  ++counter;
  st.meter.refused(reason);
  if (st.gate)
    st.gate->unassign(st.shard);
  self->close(hdl);
}

/// Admits an accepted connection (or refuses it) and forks its broker.
void admit(server_broker_actor* self, caf::io::connection_handle hdl, bool websocket) {
  auto& st = self->state;
  if (st.stopping) {
    // The listener is closing; a connection that slipped in meanwhile is
    // not a max_connections refusal.
    refuse(self, hdl, st.stats.refused_stopping, "stopping");
    return;
  }
  if (st.gate ? !st.gate->try_enter() : st.brokers.size() >= st.options->max_connections) {
    refuse(self, hdl, st.stats.refused_max_connections, "max_connections");
    ++st.refusals_not_logged;
    auto now = self->clock().now();
    if (now - st.last_refusal_log >= refusal_log_period) {
      server_log().warn("{}refused {} connection(s): {} connections served at most",
                        shard_prefix(st), st.refusals_not_logged, st.options->max_connections);
      st.last_refusal_log = now;
      st.refusals_not_logged = 0;
    }
    return;
  }
  auto id = with_shard(next_connection_id(), st.shard);
  const auto& conn_setup = websocket && st.ws_setup ? st.ws_setup : st.setup;
  auto broker = self->fork(net::connection_broker, hdl, conn_setup, id);
  self->monitor(broker);
  st.brokers.emplace(broker.address(), member{id, broker});
  st.broker_of.emplace(id, broker.address());
  ++st.stats.accepted;
  st.meter.opened();
}

caf::behavior server_behavior(server_broker_actor* self, server_broker_config cfg) {
  auto& init = self->state;
  auto options = cfg.options;
  init.options = options;
  init.shard = cfg.shard;
  init.gate = std::move(cfg.gate);
  bool has_ws_port = cfg.ws_listener;
  if (cfg.main) {
    init.acceptor = cfg.main->hdl();
    self->add_doorman(std::move(cfg.main));
  }
  if (cfg.ws) {
    init.ws_acceptor = cfg.ws->hdl();
    self->add_doorman(std::move(cfg.ws));
    has_ws_port = true;
  }
  tao::server handle = cfg.front ? cfg.front
                                 : tao::server{caf::actor_cast<caf::actor>(self), options->codec,
                                               cfg.port, cfg.ws_port};
  init.supervisor = options->supervisor;
  if (!init.supervisor) {
    // Its own, on the I/O thread, ending with the server.
    supervisor_options sup;
    sup.owner = caf::actor_cast<caf::actor>(self);
    init.supervisor = *tao::supervisor::spawn(self->home_system(), std::move(sup));
  }
  auto setup = make_broker_setup(self->home_system(), options, handle,
                                 caf::actor_cast<caf::actor>(self), init.supervisor);
  setup->tls = std::move(cfg.tls);
  setup->websocket = std::move(cfg.websocket);
  if (setup->websocket)
    setup->on_unserved = [me = caf::actor_cast<caf::actor>(self)](uint64_t id,
                                                                  const caf::error& reason) {
      caf::anon_send(me, unserved_atom::value, id, reason);
    };
  init.meter = endpoint_meter{options->metrics};
  setup->on_heartbeat_sent = init.meter.heartbeat_counter();
  if (setup->websocket && has_ws_port) {
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
      admit(self, msg.handle,
            self->state.ws_setup != nullptr && msg.source == self->state.ws_acceptor);
    },
    [self](adopt_atom, int64_t fd, bool websocket) {
      // A socket the dealer accepted for this shard.
      admit(self, self->add_scribe(static_cast<caf::io::network::native_socket>(fd)), websocket);
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
      host_left(self, id);
    },
    [self](unserved_atom, uint64_t id, const caf::error& reason) {
      // A connection that never reached on_connect (no left_atom follows).
      auto& st = self->state;
      if (protocol::is(reason, errc::tls_failure)) {
        ++st.stats.tls_failures;
        st.meter.refused("tls");
      }
      host_left(self, id);
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

caf::actor spawn_server_broker(caf::actor_system& sys, server_broker_config cfg) {
  return sys.middleman().spawn_broker(server_behavior, std::move(cfg));
}

} // namespace tao::detail
