#include "tao/supervisor.hpp"

#include <algorithm>
#include <chrono>
#include <queue>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/actor_cast.hpp>
#include <caf/io/broker.hpp>
#include <caf/io/middleman.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include "tao/detail/connection_messages.hpp"
#include "tao/net/atoms.hpp"
#include "tao/net/liveness.hpp"
#include "tao/options.hpp"
#include "tao/protocol/error.hpp"

namespace tao {

using protocol::errc;

liveness_options liveness_options::of(const connection_options& opts) {
  liveness_options result;
  result.heartbeat_period = opts.heartbeat_period;
  result.heartbeat_misses = opts.heartbeat_misses;
  result.read_idle_timeout = opts.read_idle_timeout;
  result.write_idle_timeout = opts.write_idle_timeout;
  result.first_message_timeout = opts.first_message_timeout;
  result.on_idle = static_cast<bool>(opts.on_idle);
  return result;
}

namespace {

using tick_atom = caf::atom_constant<caf::atom("tao_stick")>;

using time_point = caf::actor_clock::time_point;

std::string millis(caf::timespan x) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(x).count()) + " ms";
}

/// One watched connection.
struct watched {
  net::liveness_ptr clock;
  liveness_options opts;
  /// Read- and write-idle events re-arm from when they fired.
  time_point read_idle_since;
  time_point write_idle_since;
  /// When the next heartbeat is due.
  time_point next_beat;
  /// When watching began: silence before it is not held against the peer.
  time_point since;
  bool first_message_checked = false;
};

/// One supervised client.
struct restartable {
  reconnect_policy policy;
  /// Failed attempts since the last connection.
  unsigned failures = 0;
  /// An attempt is scheduled and has not reported back yet.
  bool scheduled = false;
};

struct supervisor_state {
  supervisor_options options;
  /// Checks happen at multiples of the resolution from here (the start).
  time_point origin;
  uint64_t next_key = 1;
  std::unordered_map<uint64_t, watched> connections;
  /// (due, key), earliest first.
  std::priority_queue<std::pair<time_point, uint64_t>, std::vector<std::pair<time_point, uint64_t>>,
                      std::greater<>>
    due;
  /// When the pending tick fires (max if none).
  time_point armed = time_point::max();
  std::unordered_map<caf::actor_addr, restartable> clients;
  std::minstd_rand rng{std::random_device{}()};
  static inline const char* name = "tao.supervisor";
};

using supervisor_actor = caf::stateful_actor<supervisor_state, caf::io::broker>;

/// Rounds `t` up to the supervisor's resolution.
time_point quantize(const supervisor_state& st, time_point t) {
  auto r = st.options.resolution.count();
  if (r <= 1 || t <= st.origin)
    return t;
  auto ns = (t - st.origin).count();
  return st.origin + caf::timespan{(ns + r - 1) / r * r};
}

void arm(supervisor_actor* self) {
  auto& st = self->state;
  if (st.due.empty())
    return;
  auto when = quantize(st, st.due.top().first);
  if (when >= st.armed)
    return;
  st.armed = when;
  auto delay = std::max(when - self->clock().now(), caf::timespan{0});
  caf::delayed_anon_send(caf::actor_cast<caf::actor>(self), delay, tick_atom::value);
}

void fail(const net::liveness& clock, caf::error err) {
  caf::anon_send(clock.broker, net::fail_atom::value, std::move(err));
}

/// Checks one connection; returns when to check it next (max: forget it).
time_point check(watched& w, time_point now) {
  constexpr auto never = time_point::max();
  auto& c = *w.clock;
  if (c.finished())
    return never;
  const auto& o = w.opts;
  auto next = never;
  if (o.first_message_timeout.count() > 0 && !w.first_message_checked) {
    auto due = c.opened + o.first_message_timeout;
    if (now >= due) {
      w.first_message_checked = true;
      if (c.frames_in == 0) {
        fail(c, protocol::make_error(errc::idle_timeout,
                                     "no message within " + millis(o.first_message_timeout)));
        return never;
      }
    } else {
      next = std::min(next, due);
    }
  }
  if (o.heartbeat_period.count() > 0) {
    auto limit = o.heartbeat_period * std::max(1u, o.heartbeat_misses);
    auto heard = std::max(c.last_input, w.since);
    if (now - heard >= limit) {
      if (!c.behind()) {
        fail(c, protocol::make_error(errc::heartbeat_timeout,
                                     "nothing received for " + millis(now - heard)));
        return never;
      }
      c.last_input = now;
      heard = now;
    }
    next = std::min(next, heard + limit);
    // One beat per period, whatever else goes out: a peer may count only
    // heartbeats as life (missed periods are skipped, not bunched).
    if (now >= w.next_beat) {
      caf::anon_send(c.broker, net::heartbeat_atom::value);
      do
        w.next_beat += o.heartbeat_period;
      while (w.next_beat <= now);
    }
    next = std::min(next, w.next_beat);
  }
  if (o.read_idle_timeout.count() > 0) {
    auto due = std::max(c.last_frame, w.read_idle_since) + o.read_idle_timeout;
    if (now >= due) {
      if (c.behind()) {
        // Frames may wait unread: not the peer's idleness.
      } else if (o.on_idle) {
        caf::anon_send(c.connection_actor, detail::idle_atom::value, idle_kind::read);
      } else {
        fail(c, protocol::make_error(errc::idle_timeout,
                                     "no message for " + millis(now - c.last_frame)));
        return never;
      }
      w.read_idle_since = now;
      due = now + o.read_idle_timeout;
    }
    next = std::min(next, due);
  }
  if (o.write_idle_timeout.count() > 0) {
    auto due = std::max(c.last_write(), w.write_idle_since) + o.write_idle_timeout;
    if (now >= due) {
      if (o.on_idle)
        caf::anon_send(c.connection_actor, detail::idle_atom::value, idle_kind::write);
      else
        caf::anon_send(c.broker, net::heartbeat_atom::value);
      w.write_idle_since = now;
      due = now + o.write_idle_timeout;
    }
    next = std::min(next, due);
  }
  return next;
}

void tick(supervisor_actor* self) {
  auto& st = self->state;
  st.armed = time_point::max();
  auto now = self->clock().now();
  while (!st.due.empty() && st.due.top().first <= now) {
    auto key = st.due.top().second;
    st.due.pop();
    auto i = st.connections.find(key);
    if (i == st.connections.end())
      continue;
    auto next = check(i->second, now);
    if (next == time_point::max())
      st.connections.erase(i);
    else
      st.due.emplace(next, key);
  }
  arm(self);
}

void watch(supervisor_actor* self, net::liveness_ptr clock, const liveness_options& opts) {
  auto& st = self->state;
  if (!clock || clock->finished() || !opts.any())
    return;
  auto key = st.next_key++;
  auto now = self->clock().now();
  watched w{std::move(clock), opts, now, now, now + opts.heartbeat_period, now, false};
  auto next = check(w, now);
  if (next == time_point::max())
    return;
  st.connections.emplace(key, std::move(w));
  st.due.emplace(next, key);
  arm(self);
}

void restart(supervisor_actor* self, const caf::actor& client, const caf::error& reason) {
  auto& st = self->state;
  auto i = st.clients.find(client.address());
  if (i == st.clients.end() || i->second.scheduled)
    return; // not supervised, or an attempt is already under way
  auto& r = i->second;
  if (!r.policy.allows(r.failures)) {
    caf::anon_send(client, give_up_atom::value, reason);
    self->demonitor(client);
    st.clients.erase(i);
    return;
  }
  auto delay = r.policy.delay(r.failures, st.rng);
  ++r.failures;
  r.scheduled = true;
  caf::anon_send(client, reconnecting_atom::value, r.failures, delay, reason);
  caf::delayed_anon_send(caf::actor_cast<caf::actor>(self), delay, attempt_atom::value, client);
}

caf::behavior supervisor_behavior(supervisor_actor* self, supervisor_options opts) {
  self->state.options = std::move(opts);
  self->state.origin = self->clock().now();
  if (auto& owner = self->state.options.owner)
    self->monitor(owner);
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    if (st.options.owner && msg.source == st.options.owner.address()) {
      self->quit();
      return;
    }
    st.clients.erase(msg.source);
  });
  return {
    [self](watch_atom, net::liveness_ptr& clock, const liveness_options& o) {
      watch(self, std::move(clock), o);
    },
    [self](tick_atom) { tick(self); },
    [self](supervise_atom, const caf::actor& client, const reconnect_policy& policy) {
      auto& st = self->state;
      if (st.clients.emplace(client.address(), restartable{policy, 0, false}).second)
        self->monitor(client);
    },
    [self](restart_atom, const caf::actor& client, const caf::error& reason) {
      restart(self, client, reason);
    },
    [self](up_atom, const caf::actor& client) {
      auto i = self->state.clients.find(client.address());
      if (i != self->state.clients.end()) {
        i->second.failures = 0;
        i->second.scheduled = false;
      }
    },
    [self](attempt_atom, const caf::actor& client) {
      // The delay is over: the client makes its attempt, and its next
      // failure schedules another.
      auto i = self->state.clients.find(client.address());
      if (i == self->state.clients.end() || !i->second.scheduled)
        return;
      i->second.scheduled = false;
      caf::anon_send(client, attempt_atom::value, i->second.failures);
    },
    [self](forget_atom, const caf::actor& client) {
      if (self->state.clients.erase(client.address()) > 0)
        self->demonitor(client);
    },
  };
}

} // namespace

caf::expected<supervisor> supervisor::spawn(caf::actor_system& sys, supervisor_options opts) {
  if (!sys.has_middleman())
    return protocol::make_error(errc::invalid_argument,
                                "the actor system has no middleman: call "
                                "cfg.load<caf::io::middleman>() before creating it");
  return supervisor{sys.middleman().spawn_broker(supervisor_behavior, std::move(opts))};
}

void supervisor::watch(const connection_ref& conn, const liveness_options& opts) const {
  caf::anon_send(actor_, watch_atom::value, conn.clock(), opts);
}

void supervisor::stop() const {
  caf::anon_send_exit(actor_, caf::exit_reason::user_shutdown);
}

} // namespace tao
