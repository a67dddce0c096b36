#include "tao/client.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <random>

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
#include "tao/detail/connection_ids.hpp"
#include "tao/detail/endpoint_meter.hpp"
#include "tao/detail/log.hpp"
#include "tao/net/connection_broker.hpp"
#include "tao/net/connector.hpp"
#include "tao/protocol/error.hpp"

namespace tao {

using protocol::errc;

caf::timespan reconnect_policy::bound(unsigned n) const noexcept {
  auto initial = static_cast<double>(initial_delay.count());
  auto grown = initial * std::pow(std::max(1.0, factor), static_cast<double>(n));
  auto cap = static_cast<double>(max_delay.count());
  return caf::timespan{static_cast<caf::timespan::rep>(std::min(grown, cap))};
}

namespace {

using retry_atom = caf::atom_constant<caf::atom("tao_retry")>;

enum class phase { connecting, connected, waiting, closing };

struct client_state {
  std::shared_ptr<const client_options> options;
  std::shared_ptr<net::broker_setup> setup;
  uint64_t id = 0;
  phase current = phase::connecting;
  unsigned failures = 0;
  caf::actor broker;
  connection_ref conn;
  bool joined = false;
  bool ended = false;
  std::deque<protocol::byte_buffer> offline;
  client_stats stats;
  detail::endpoint_meter meter{nullptr};
  std::minstd_rand rng{std::random_device{}()};
  static inline const char* name = "tao.client";
};

using client_actor = caf::stateful_actor<client_state>;

caf::behavior client_broker(net::connection_broker_actor* self, caf::io::scribe_ptr scribe,
                            std::shared_ptr<const net::broker_setup> setup, uint64_t id) {
  auto hdl = scribe->hdl();
  self->add_scribe(std::move(scribe));
  return net::connection_broker(self, hdl, std::move(setup), id);
}

void attempt(client_actor* self);

spdlog::logger& client_log() {
  static auto& log = detail::logger("tao.client");
  return log;
}

void give_up(client_actor* self, const caf::error& reason) {
  const auto& o = *self->state.options;
  client_log().warn("giving up on {}:{}: {}", o.host, o.port, protocol::render(reason));
  self->state.meter.gave_up();
  self->state.meter.finish();
  if (self->state.options->on_give_up)
    self->state.options->on_give_up(reason);
  self->quit();
}

/// The connection was lost or could not be made: retry with backoff or stop.
void lost(client_actor* self, const caf::error& reason) {
  auto& st = self->state;
  st.broker = nullptr;
  st.conn = connection_ref{};
  if (st.stats.connected)
    st.meter.gone();
  st.stats.connected = false;
  if (st.current == phase::closing) {
    self->quit();
    return;
  }
  const auto& policy = st.options->reconnect;
  if (!policy.enabled || (policy.max_attempts > 0 && st.failures >= policy.max_attempts)) {
    give_up(self, reason);
    return;
  }
  auto bound = policy.bound(st.failures);
  auto delay = bound;
  if (policy.jitter && bound.count() > 0) {
    std::uniform_int_distribution<caf::timespan::rep> dist{0, bound.count()};
    delay = caf::timespan{dist(st.rng)};
  }
  ++st.failures;
  client_log().info("{}:{}: {}; attempt {} in {} ms", st.options->host, st.options->port,
                    protocol::render(reason), st.failures,
                    std::chrono::duration_cast<std::chrono::milliseconds>(delay).count());
  if (st.options->on_reconnecting)
    st.options->on_reconnecting(st.failures, delay, reason);
  st.current = phase::waiting;
  caf::delayed_anon_send(caf::actor_cast<caf::actor>(self), delay, retry_atom::value);
}

void adopt(client_actor* self, caf::io::scribe_ptr scribe) {
  auto& st = self->state;
  st.joined = false;
  st.ended = false;
  st.broker =
    self->home_system().middleman().spawn_broker(client_broker, std::move(scribe), st.setup, st.id);
  self->monitor(st.broker);
}

void attempt(client_actor* self) {
  auto& st = self->state;
  st.current = phase::connecting;
  if (st.stats.attempts++ > 0)
    st.meter.reconnect_attempt();
  auto& backend = self->home_system().middleman().backend();
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
        auto scribe = self->home_system().middleman().backend().new_scribe(
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
                              std::shared_ptr<net::websocket_context> websocket) {
  auto& init = self->state;
  init.options = options;
  init.id = detail::next_connection_id();
  auto setup = detail::make_broker_setup(self->home_system(), options, tao::server{},
                                         caf::actor_cast<caf::actor>(self));
  setup->self_timed_heartbeats = true;
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
    bool from_handler = st.joined && msg.source == st.conn.actor().address();
    // With scheduled dispatch the handler actor reports the end (left_atom)
    // after the broker is gone; wait for it.
    if (from_broker && st.joined && st.conn.actor() != st.broker)
      return;
    if (!from_broker && !from_handler)
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
      st.failures = 0;
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
      while (!st.offline.empty()) {
        auto bytes = std::move(st.offline.front());
        st.offline.pop_front();
        st.stats.offline_bytes -= bytes.size();
        if (ref.write_encoded(std::move(bytes)))
          ++st.stats.refused_writes;
      }
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
    [self](retry_atom) {
      if (self->state.current == phase::waiting)
        attempt(self);
    },
    [self](client_write_atom, protocol::byte_buffer& bytes) -> caf::error {
      auto& st = self->state;
      if (st.current == phase::connected)
        return st.conn.write_encoded(std::move(bytes));
      caf::error err;
      if (st.current == phase::closing || st.options->offline == offline_writes::fail)
        err = protocol::make_error(errc::closed, "not connected");
      else if (st.stats.offline_bytes + bytes.size() > st.options->high_water_mark)
        err = protocol::make_error(errc::would_block, "offline queue full");
      if (err) {
        ++st.stats.refused_writes;
        return err;
      }
      st.stats.offline_bytes += bytes.size();
      st.offline.push_back(std::move(bytes));
      return {};
    },
    [self](client_close_atom) {
      auto& st = self->state;
      auto was = st.current;
      st.current = phase::closing;
      if (was == phase::connected)
        st.conn.close();
      else if (was == phase::waiting)
        self->quit();
      // connecting: the pending attempt sees `closing` and ends the client.
    },
    [self](stats_atom) { return self->state.stats; },
  };
}

} // namespace

caf::expected<client> client::start(caf::actor_system& sys, client_options opts) {
  if (!opts.codec)
    return protocol::make_error(errc::invalid_argument, "no codec");
  if (opts.port == 0)
    return protocol::make_error(errc::invalid_argument, "no port");
  if (opts.read_chunk_size == 0 || opts.high_water_mark == 0)
    return protocol::make_error(errc::invalid_argument,
                                "read_chunk_size and high_water_mark must be positive");
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
  auto options = std::make_shared<const client_options>(std::move(opts));
  auto codec = options->codec;
  auto actor =
    sys.spawn(client_behavior, std::move(options), std::move(*tls), std::move(websocket));
  return client{std::move(actor), std::move(codec)};
}

} // namespace tao
