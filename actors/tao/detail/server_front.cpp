#include "tao/detail/server_front.hpp"

#include <string>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <unistd.h>

#include "tao/detail/connection_gate.hpp"
#include "tao/detail/connection_ids.hpp"
#include "tao/detail/log.hpp"
#include "tao/detail/server_broker.hpp"
#include "tao/io_pool.hpp"
#include "tao/net/socket_dealer.hpp"
#include "tao/protocol/error.hpp"

namespace tao::detail {

using protocol::errc;

namespace {

/// What the front needs and only gets once the shards exist. Filled before
/// the dealer starts, so before any message can reach the front.
struct front_wiring {
  std::vector<caf::actor> shards;
  std::unique_ptr<net::socket_dealer> dealer;
};

struct front_state {
  std::shared_ptr<front_wiring> wiring;
  bool stopping = false;
  std::vector<caf::response_promise> stop_waiters;
  static inline const char* name = "tao.server";
};

using front_actor = caf::stateful_actor<front_state>;

/// Asks every shard `xs...` and calls `done(replies)` with the replies that
/// came (a shard that failed to answer is left out).
template <class Reply, class Done, class... Ts>
void ask_every_shard(front_actor* self, Done done, Ts... xs) {
  struct gather {
    std::vector<Reply> replies;
    size_t pending;
    Done done;
  };
  const auto& shards = self->state.wiring->shards;
  auto g = std::make_shared<gather>(gather{{}, shards.size(), std::move(done)});
  for (const auto& shard : shards)
    self->request(shard, caf::infinite, xs...)
      .then(
        [g](Reply& r) {
          g->replies.push_back(std::move(r));
          if (--g->pending == 0)
            g->done(g->replies);
        },
        [g](caf::error&) {
          if (--g->pending == 0)
            g->done(g->replies);
        });
}

caf::error unknown_id(uint64_t id) {
  return protocol::make_error(errc::closed, "conn id " + std::to_string(id) + " not found");
}

/// The shard broker that owns connection `id`, or null.
const caf::actor* owner_of(front_actor* self, uint64_t id) {
  const auto& shards = self->state.wiring->shards;
  auto i = shard_of(id);
  return i < shards.size() ? &shards[i] : nullptr;
}

caf::behavior front_behavior(front_actor* self, std::shared_ptr<front_wiring> wiring) {
  self->state.wiring = std::move(wiring);
  return {
    [self](broadcast_atom, protocol::byte_buffer& bytes) {
      auto rp = self->make_response_promise<broadcast_result>();
      ask_every_shard<broadcast_result>(
        self,
        [rp](std::vector<broadcast_result>& parts) mutable {
          broadcast_result sum;
          for (auto& part : parts) {
            sum.delivered += part.delivered;
            sum.failed.insert(sum.failed.end(), part.failed.begin(), part.failed.end());
          }
          rp.deliver(std::move(sum));
        },
        broadcast_atom::value, std::move(bytes));
      return rp;
    },
    [self](unicast_atom, uint64_t id, protocol::byte_buffer& bytes) {
      auto rp = self->make_response_promise();
      if (auto* shard = owner_of(self, id))
        rp.delegate(*shard, unicast_atom::value, id, std::move(bytes));
      else
        rp.deliver(unknown_id(id));
      return rp;
    },
    [self](lookup_atom, uint64_t id) {
      auto rp = self->make_response_promise();
      if (auto* shard = owner_of(self, id))
        rp.delegate(*shard, lookup_atom::value, id);
      else
        rp.deliver(unknown_id(id));
      return rp;
    },
    [self](count_atom) {
      auto rp = self->make_response_promise<uint64_t>();
      ask_every_shard<uint64_t>(
        self,
        [rp](std::vector<uint64_t>& parts) mutable {
          uint64_t sum = 0;
          for (auto n : parts)
            sum += n;
          rp.deliver(sum);
        },
        count_atom::value);
      return rp;
    },
    [self](stats_atom) {
      auto rp = self->make_response_promise<server_stats>();
      ask_every_shard<server_stats>(
        self,
        [rp](std::vector<server_stats>& parts) mutable {
          server_stats sum;
          for (auto& s : parts) {
            sum.connections += s.connections;
            sum.accepted += s.accepted;
            sum.refused_max_connections += s.refused_max_connections;
            sum.refused_on_connect += s.refused_on_connect;
            sum.refused_stopping += s.refused_stopping;
            sum.closed += s.closed;
            sum.tls_failures += s.tls_failures;
          }
          // The WebSocket counters live in the context every shard shares:
          // each shard reports the same totals.
          if (!parts.empty()) {
            sum.websocket_upgrades = parts.front().websocket_upgrades;
            sum.http_requests = parts.front().http_requests;
            sum.websocket_handshake_failures = parts.front().websocket_handshake_failures;
            sum.websocket_protocol_failures = parts.front().websocket_protocol_failures;
          }
          rp.deliver(sum);
        },
        stats_atom::value);
      return rp;
    },
    [self](sched_atom, caf::timespan period, const connection::timer_callback& f) {
      for (const auto& shard : self->state.wiring->shards)
        self->send(shard, sched_atom::value, period, f);
    },
    [self](reload_tls_atom) {
      // The TLS context is one for all shards: reloading it once is enough.
      auto rp = self->make_response_promise();
      rp.delegate(self->state.wiring->shards.front(), reload_tls_atom::value);
      return rp;
    },
    [self](stop_atom) {
      auto rp = self->make_response_promise();
      auto& st = self->state;
      st.stop_waiters.push_back(rp);
      if (st.stopping)
        return rp;
      st.stopping = true;
      // No socket may be in flight to a shard that stops: the dealer first.
      st.wiring->dealer->stop();
      ask_every_shard<caf::unit_t>(
        self,
        [self](std::vector<caf::unit_t>&) {
          for (auto& waiter : self->state.stop_waiters)
            waiter.deliver(caf::unit);
          self->state.stop_waiters.clear();
          self->quit();
        },
        stop_atom::value);
      return rp;
    },
  };
}

/// Shard `shard`'s options: the server's, counting into the shard's own
/// metrics so that no counter is shared between I/O threads.
std::shared_ptr<const server_options>
options_of_shard(const std::shared_ptr<const server_options>& options, size_t shard) {
  if (!options->metrics || shard == 0)
    return options;
  auto copy = std::make_shared<server_options>(*options);
  copy->metrics = metrics::for_shard(options->metrics, shard);
  return copy;
}

} // namespace

caf::expected<tao::server> start_sharded_server(caf::actor_system& sys,
                                                std::shared_ptr<const server_options> options,
                                                std::shared_ptr<net::tls_context> tls,
                                                std::shared_ptr<net::websocket_context> websocket) {
  auto n = options->io_threads;
  std::vector<int> listeners;
  auto main = net::listen_tcp(options->host, options->port, options->reuse_address);
  if (!main)
    return main.error();
  listeners.push_back(main->fd);
  uint16_t ws_port = 0;
  if (options->websocket_port >= 0) {
    auto ws = net::listen_tcp(options->host, static_cast<uint16_t>(options->websocket_port),
                              options->reuse_address);
    if (!ws) {
      ::close(main->fd);
      return ws.error();
    }
    listeners.push_back(ws->fd);
    ws_port = ws->port;
  }
  auto gate = std::make_shared<connection_gate>(n, options->max_connections);
  auto wiring = std::make_shared<front_wiring>();
  auto front = sys.spawn(front_behavior, wiring);
  tao::server handle{front, options->codec, main->port, ws_port};
  for (size_t i = 0; i < n; ++i) {
    server_broker_config cfg;
    cfg.options = options_of_shard(options, i);
    cfg.tls = tls;
    cfg.websocket = websocket;
    cfg.ws_listener = listeners.size() > 1;
    cfg.shard = i;
    cfg.gate = gate;
    cfg.front = handle;
    auto& shard_sys = i == 0 ? sys : options->io_pool->shard(i);
    wiring->shards.push_back(spawn_server_broker(shard_sys, std::move(cfg)));
  }
  wiring->dealer = std::make_unique<net::socket_dealer>(
    std::move(listeners), [shards = wiring->shards, gate](int fd, size_t listener) {
      caf::anon_send(shards[gate->pick()], adopt_atom::value, int64_t{fd}, listener == 1);
    });
  wiring->dealer->start();
  return handle;
}

} // namespace tao::detail
