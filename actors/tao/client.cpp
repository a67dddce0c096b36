#include "tao/client.hpp"

#include <atomic>
#include <chrono>

#include <caf/actor_cast.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/broker.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/network/multiplexer.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <unistd.h>

#include "tao/connection_ref.hpp"
#include "tao/detail/broker_setup.hpp"
#include "tao/detail/client_outlet.hpp"
#include "tao/detail/connection_ids.hpp"
#include "tao/detail/endpoint_meter.hpp"
#include "tao/detail/log.hpp"
#include "tao/detail/validate.hpp"
#include "tao/io_pool.hpp"
#include "tao/net/connection_broker.hpp"
#include "tao/net/connector.hpp"
#include "tao/protocol/error.hpp"
#include "tao/supervisor.hpp"

namespace tao {

using protocol::errc;

namespace {

/// Where the client is: making an attempt, connected, waiting for the
/// supervisor's next attempt, or closing on purpose.
enum class phase { connecting, connected, waiting, closing };

struct client_state {
  std::shared_ptr<const client_options> options;
  std::shared_ptr<net::broker_setup> setup;
  /// The actor system whose multiplexer runs the connection: the client's
  /// own, or an I/O shard of `options->io_pool`.
  caf::actor_system* io_sys = nullptr;
  /// Decides when to reconnect and watches the connection's liveness.
  tao::supervisor supervisor;
  uint64_t id = 0;
  phase current = phase::connecting;
  caf::actor broker;
  connection_ref conn;
  bool joined = false;
  bool ended = false;
  std::shared_ptr<detail::client_outlet> outlet;
  client_stats stats;
  detail::endpoint_meter meter{nullptr};
  static inline const char* name = "tao.client";
};

using client_actor = caf::stateful_actor<client_state>;

caf::behavior client_broker(net::connection_broker_actor* self, caf::io::scribe_ptr scribe,
                            std::shared_ptr<const net::broker_setup> setup, uint64_t id) {
  auto hdl = scribe->hdl();
  self->add_scribe(std::move(scribe));
  return net::connection_broker(self, hdl, std::move(setup), id);
}

spdlog::logger& client_log() {
  static auto& log = detail::logger("tao.client");
  return log;
}

/// What a log line or an error says of `dropped` offline bytes that will
/// never be sent.
std::string offline_loss(size_t dropped) {
  return std::to_string(dropped) + " bytes written while offline not delivered";
}

/// `reason` with `note` added to its context: writes that were accepted and
/// will never be sent are reported, never lost in silence. The code and
/// category stay those of `reason`; a context of another shape, or no
/// error at all, is kept.
caf::error with_note(const caf::error& reason, const std::string& note) {
  if (!reason)
    return reason;
  const auto& ctx = reason.context();
  if (ctx.empty())
    return caf::error{reason.code(), reason.category(), caf::make_message(note)};
  if (ctx.match_elements<std::string>())
    return caf::error{reason.code(), reason.category(),
                      caf::make_message(ctx.get_as<std::string>(0) + "; " + note)};
  return reason;
}

void give_up(client_actor* self, const caf::error& last_error) {
  auto& st = self->state;
  const auto& o = *st.options;
  auto reason = last_error;
  auto text = protocol::render(last_error);
  if (auto dropped = st.outlet->shut(); dropped > 0) {
    reason = with_note(last_error, offline_loss(dropped));
    text += "; " + offline_loss(dropped);
  }
  client_log().warn("giving up on {}:{}: {}", o.host, o.port, text);
  st.meter.gave_up();
  st.meter.finish();
  if (o.on_give_up)
    o.on_give_up(reason);
  self->quit();
}

/// The connection was lost or could not be made: the supervisor decides
/// whether and when to try again.
void lost(client_actor* self, const caf::error& reason) {
  auto& st = self->state;
  st.outlet->detach();
  st.broker = nullptr;
  st.conn = connection_ref{};
  if (st.stats.connected)
    st.meter.gone();
  st.stats.connected = false;
  if (st.current == phase::closing) {
    st.outlet->shut();
    self->quit();
    return;
  }
  st.current = phase::waiting;
  caf::anon_send(st.supervisor.actor(), restart_atom::value, caf::actor_cast<caf::actor>(self),
                 reason);
}

void adopt(client_actor* self, caf::io::scribe_ptr scribe) {
  auto& st = self->state;
  st.joined = false;
  st.ended = false;
  st.broker =
    st.io_sys->middleman().spawn_broker(client_broker, std::move(scribe), st.setup, st.id);
  self->monitor(st.broker);
}

void attempt(client_actor* self) {
  auto& st = self->state;
  st.current = phase::connecting;
  if (st.stats.attempts++ > 0)
    st.meter.reconnect_attempt();
  auto& backend = st.io_sys->middleman().backend();
  if (st.setup->simulated) {
    auto scribe = backend.new_tcp_scribe(st.options->host, st.options->port);
    if (!scribe) {
      lost(self,
           protocol::make_error(errc::network_failure, "cannot connect to " + st.options->host + ":"
                                                         + std::to_string(st.options->port)));
      return;
    }
    adopt(self, std::move(*scribe));
    return;
  }
  auto connector = self->spawn<caf::detached>(net::connector, st.options->host, st.options->port,
                                              st.options->connect_timeout);
  self->request(connector, caf::infinite, net::connect_atom::value)
    .then(
      [self](int64_t fd) {
        auto& s = self->state;
        if (s.current == phase::closing) {
          ::close(static_cast<int>(fd));
          self->quit();
          return;
        }
        auto scribe = s.io_sys->middleman().backend().new_scribe(
          static_cast<caf::io::network::native_socket>(fd));
        if (!scribe) {
          ::close(static_cast<int>(fd));
          lost(self, protocol::make_error(errc::network_failure, "cannot adopt the socket"));
          return;
        }
        adopt(self, std::move(scribe));
      },
      [self](caf::error& err) { lost(self, err); });
}

caf::behavior client_behavior(client_actor* self, std::shared_ptr<const client_options> options,
                              std::shared_ptr<net::tls_context> tls,
                              std::shared_ptr<net::websocket_context> websocket,
                              std::shared_ptr<detail::client_outlet> outlet,
                              caf::actor_system* io_sys) {
  auto& init = self->state;
  init.options = options;
  init.io_sys = io_sys;
  init.outlet = std::move(outlet);
  init.id = detail::next_connection_id();
  auto me = caf::actor_cast<caf::actor>(self);
  init.supervisor = options->supervisor;
  if (!init.supervisor) {
    // Its own, on the I/O thread, ending with the client.
    supervisor_options sup;
    sup.owner = me;
    init.supervisor = *tao::supervisor::spawn(*init.io_sys, std::move(sup));
  }
  caf::anon_send(init.supervisor.actor(), supervise_atom::value, me, options->reconnect);
  auto setup = detail::make_broker_setup(*init.io_sys, options, tao::server{}, me, init.supervisor);
  setup->tls = std::move(tls);
  setup->tls_peer_name = options->host;
  setup->websocket = std::move(websocket);
  init.meter = detail::endpoint_meter{options->metrics};
  setup->on_heartbeat_sent = init.meter.heartbeat_counter();
  init.setup = std::move(setup);
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    if (st.ended)
      return;
    bool from_broker = msg.source == st.broker.address();
    bool from_actor = st.joined && msg.source == st.conn.actor().address();
    // With scheduled dispatch the connection actor reports the end
    // (left_atom) after the broker is gone; wait for it.
    if (from_broker && st.joined && st.conn.actor() != st.broker)
      return;
    if (!from_broker && !from_actor)
      return;
    st.ended = true;
    lost(self,
         msg.reason ? msg.reason : protocol::make_error(errc::network_failure, "connection lost"));
  });
  attempt(self);
  return {
    [self](joined_atom, const connection_ref& ref) {
      auto& st = self->state;
      if (ref.broker() != st.broker)
        return;
      st.joined = true;
      st.conn = ref;
      caf::anon_send(st.supervisor.actor(), up_atom::value, caf::actor_cast<caf::actor>(self));
      if (st.stats.connects++ > 0)
        st.meter.reconnected();
      st.stats.connected = true;
      st.meter.opened();
      self->monitor(ref.actor());
      if (st.current == phase::closing) {
        ref.close();
        return;
      }
      st.current = phase::connected;
      client_log().debug("connected to {}:{}", st.options->host, st.options->port);
      st.outlet->attach(ref);
    },
    [self](left_atom, uint64_t, const caf::error& reason, bool deliberate) {
      auto& st = self->state;
      if (st.ended)
        return;
      st.ended = true;
      st.meter.closed(reason);
      if (deliberate)
        st.current = phase::closing;
      lost(self, reason ? reason : protocol::make_error(errc::closed, "closed by the peer"));
    },
    [self](reconnecting_atom, unsigned attempt, caf::timespan delay, const caf::error& reason) {
      const auto& o = *self->state.options;
      client_log().info("{}:{}: {}; attempt {} in {} ms", o.host, o.port, protocol::render(reason),
                        attempt,
                        std::chrono::duration_cast<std::chrono::milliseconds>(delay).count());
      if (o.on_reconnecting)
        o.on_reconnecting(attempt, delay, reason);
    },
    [self](attempt_atom, unsigned) {
      if (self->state.current == phase::waiting)
        attempt(self);
    },
    [self](give_up_atom, const caf::error& reason) {
      if (self->state.current == phase::waiting)
        give_up(self, reason);
    },
    [self](client_write_atom, protocol::byte_buffer& bytes) -> caf::result<caf::unit_t> {
      if (auto err = self->state.outlet->write(std::move(bytes)))
        return err;
      return caf::unit;
    },
    [self](client_close_atom) {
      auto& st = self->state;
      auto was = st.current;
      st.current = phase::closing;
      if (auto dropped = st.outlet->shut(); dropped > 0) {
        // Closed on purpose while offline: the queue cannot go anywhere.
        const auto& o = *st.options;
        client_log().warn("{}:{}: closed with {}", o.host, o.port, offline_loss(dropped));
      }
      caf::anon_send(st.supervisor.actor(), forget_atom::value, caf::actor_cast<caf::actor>(self));
      if (was == phase::connected)
        st.conn.close();
      else if (was == phase::waiting)
        self->quit();
      // connecting: the pending attempt sees `closing` and ends the client.
    },
    [self](stats_atom) {
      auto stats = self->state.stats;
      stats.refused_writes = self->state.outlet->refused();
      stats.offline_bytes = self->state.outlet->offline_bytes();
      return stats;
    },
  };
}

} // namespace

caf::expected<client> client::start(caf::actor_system& sys, client_options opts) {
  if (auto err = detail::validate(sys, opts))
    return err;
  if (opts.port == 0)
    return protocol::make_error(errc::invalid_argument, "no port");
  if (auto err = detail::validate_io_threads(sys, opts))
    return err;
  auto tls = net::tls_context::make_if_enabled(net::tls_role::client, opts.tls);
  if (!tls)
    return tls.error();
  std::shared_ptr<net::websocket_context> websocket;
  if (opts.transport == transport_kind::websocket) {
    auto ws_opts = opts.websocket;
    if (ws_opts.host_header.empty()) {
      auto ipv6 = opts.host.find(':') != std::string::npos;
      ws_opts.host_header =
        (ipv6 ? "[" + opts.host + "]" : opts.host) + ":" + std::to_string(opts.port);
    }
    auto ctx =
      net::websocket_context::make(net::websocket_role::client, std::move(ws_opts), opts.codec);
    if (!ctx)
      return ctx.error();
    websocket = std::move(*ctx);
  }
  auto outlet = std::make_shared<detail::client_outlet>(opts.offline, opts.high_water_mark,
                                                        opts.reconnect.enabled);
  // Clients take the I/O threads in turn; each connection (and every
  // reconnection of it) stays on the one it got and counts into its metrics.
  auto* io_sys = &sys;
  if (opts.io_threads > 1) {
    static std::atomic<size_t> next_shard{0};
    auto shard = next_shard.fetch_add(1, std::memory_order_relaxed) % opts.io_threads;
    if (shard > 0) {
      io_sys = &opts.io_pool->shard(shard);
      opts.metrics = metrics::for_shard(opts.metrics, shard);
    }
  }
  auto options = std::make_shared<const client_options>(std::move(opts));
  auto codec = options->codec;
  auto actor = sys.spawn(client_behavior, std::move(options), std::move(*tls), std::move(websocket),
                         outlet, io_sys);
  return client{std::move(actor), std::move(codec), std::move(outlet)};
}

caf::error client::write_encoded(protocol::byte_buffer bytes) const {
  if (!outlet_)
    return protocol::make_error(errc::closed, "invalid client handle");
  return outlet_->write(std::move(bytes));
}

} // namespace tao
