#pragma once

#include <chrono>
#include <cstdint>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/expected.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/timespan.hpp>

#include "tao/connection_ref.hpp"
#include "tao/reconnect_policy.hpp"

namespace tao {

struct connection_options;

/// What a supervisor checks on one connection (copied from its
/// `connection_options`, where the defaults and meanings are documented).
/// A zero duration turns a check off.
struct liveness_options {
  /// Send a heartbeat every period; close the connection
  /// (`errc::heartbeat_timeout`) when nothing arrived for `heartbeat_misses`
  /// of these.
  caf::timespan heartbeat_period{0};
  /// Silent periods tolerated.
  unsigned heartbeat_misses = 0;
  /// No complete frame read for this long: on_idle(read), or close
  /// (`errc::idle_timeout`).
  caf::timespan read_idle_timeout{0};
  /// Nothing written for this long: on_idle(write), or a heartbeat.
  caf::timespan write_idle_timeout{0};
  /// No complete frame this long after opening: close (`errc::idle_timeout`).
  caf::timespan first_message_timeout{0};
  /// The connection has an on_idle callback (idleness goes to it).
  bool on_idle = false;

  /// The checks `opts` asks for.
  static liveness_options of(const connection_options& opts);

  /// True if any check is on.
  bool any() const noexcept {
    return heartbeat_period.count() > 0 || read_idle_timeout.count() > 0
           || write_idle_timeout.count() > 0 || first_message_timeout.count() > 0;
  }
};

/// CAF inspection for `liveness_options`.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, liveness_options& x) {
  return f(caf::meta::type_name("tao.liveness_options"), x.heartbeat_period, x.heartbeat_misses,
           x.read_idle_timeout, x.write_idle_timeout, x.first_message_timeout, x.on_idle);
}

/// Settings of a supervisor.
struct supervisor_options {
  /// Checks are made at multiples of this: a timeout fires at most this
  /// late, and however many connections are watched, the supervisor wakes
  /// at most once per resolution.
  caf::timespan resolution = std::chrono::milliseconds(10);
  /// The supervisor ends when this actor terminates (the server or client
  /// that owns it); null for a supervisor its creator stops.
  caf::actor owner;
};

/// The actor the design names: it keeps connections alive and restarts what
/// fails.
///
/// - **Liveness**, one clock per connection (`net::liveness`, kept by its
///   broker): it sends a heartbeat every period, closes dead peers
///   (`errc::heartbeat_timeout`), runs read- and write-idle and
///   first-message timeouts. Silence the connection itself
///   caused (reads paused for backpressure, bytes unread in the kernel) is
///   never held against the peer.
/// - **Restarts** of clients by their `reconnect_policy`: backoff with
///   jitter, an attempt limit, one attempt in flight per client, never after
///   a deliberate close.
///
/// It runs on the I/O thread, beside the brokers it watches, so that a
/// heartbeat costs no thread hop. A server and a client each make one unless
/// their options name one to share; `watch` supervises any tao connection.
///
/// The handle is copyable; its member functions are asynchronous and
/// thread-safe.
class supervisor {
public:
  /// An invalid handle.
  supervisor() = default;

  /// Wraps the actor of a supervisor.
  explicit supervisor(caf::actor actor) noexcept : actor_(std::move(actor)) {
  }

  /// Spawns a supervisor on `sys`'s I/O thread. Fails with
  /// `errc::invalid_argument` if the system has no middleman
  /// (`cfg.load<caf::io::middleman>()`).
  static caf::expected<supervisor> spawn(caf::actor_system& sys, supervisor_options opts = {});

  /// True if the handle refers to a supervisor.
  explicit operator bool() const noexcept {
    return static_cast<bool>(actor_);
  }

  /// The supervisor's actor.
  const caf::actor& actor() const noexcept {
    return actor_;
  }

  /// Watches `conn` with `opts`, replacing the checks it had. The
  /// supervisor forgets the connection once it is gone.
  void watch(const connection_ref& conn, const liveness_options& opts) const;

  /// Stops the supervisor (those made by servers and clients end with them).
  void stop() const;

private:
  caf::actor actor_;
};

/// `(watch_atom, net::liveness_ptr, liveness_options)` to a supervisor:
/// watch a connection's clock.
using watch_atom = caf::atom_constant<caf::atom("tao_watch")>;

/// `(supervise_atom, caf::actor client, reconnect_policy)` to a supervisor:
/// restart `client` by `policy` when it reports a failure.
using supervise_atom = caf::atom_constant<caf::atom("tao_superv")>;

/// `(restart_atom, caf::actor client, caf::error reason)` to a supervisor:
/// `client` failed to connect or lost its connection. Unless an attempt is
/// already scheduled, the supervisor answers the client with
/// `(reconnecting_atom, unsigned attempt, caf::timespan delay, caf::error)`
/// and, after the delay, `(attempt_atom, unsigned attempt)`; or with
/// `(give_up_atom, caf::error)` when the policy says stop.
using restart_atom = caf::atom_constant<caf::atom("tao_restrt")>;

/// `(up_atom, caf::actor client)` to a supervisor: `client` is connected;
/// its failure count starts over.
using up_atom = caf::atom_constant<caf::atom("tao_up")>;

/// `(forget_atom, caf::actor client)` to a supervisor: `client` closed on
/// purpose; no more restarts.
using forget_atom = caf::atom_constant<caf::atom("tao_forget")>;

/// See `restart_atom`.
using reconnecting_atom = caf::atom_constant<caf::atom("tao_recon")>;

/// See `restart_atom`.
using attempt_atom = caf::atom_constant<caf::atom("tao_attmpt")>;

/// See `restart_atom`.
using give_up_atom = caf::atom_constant<caf::atom("tao_giveup")>;

} // namespace tao
