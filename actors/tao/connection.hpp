#pragma once

#include <any>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <caf/actor.hpp>
#include <caf/actor_clock.hpp>
#include <caf/error.hpp>

#include "tao/connection_ref.hpp"
#include "tao/connection_state.hpp"
#include "tao/connection_stats.hpp"
#include "tao/net/endpoint.hpp"
#include "tao/net/tls_session.hpp"
#include "tao/pending_reply.hpp"
#include "tao/protocol/codec.hpp"
#include "tao/protocol/message.hpp"

namespace tao {

class server;

namespace detail {
class connection_runtime;
} // namespace detail

/// Identifies a timer of one connection; 0 is never a valid id.
using timer_id = uint64_t;

/// The clock of timers: CAF's actor clock (steady; virtual under CAF's test
/// scheduler).
using time_point = caf::actor_clock::time_point;

/// Protocol, cipher and peer identity of a TLS connection.
using tls_session = net::tls_session;

/// One TCP connection as its handlers and callbacks see it: Tao's
/// `ServerConn`/`ClientConn` and `WriteCloser`. A view on the connection's
/// runtime, which owns its state (see `connection_state`).
///
/// Thread-safety: a `connection&` is valid only inside a handler, callback or
/// timer of that connection, all of which run one at a time in the
/// connection's actor. Keep a `connection_ref` (see `ref()`) to reach the
/// connection from elsewhere, or a `pending_reply` (see `defer()`) for a
/// reply that another actor will write.
class connection {
public:
  /// Timer callback: the connection and the time the timer was due.
  using timer_callback = std::function<void(connection&, time_point)>;

  /// The view of `rt` (made by the framework).
  explicit connection(detail::connection_runtime& rt) noexcept;

  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  // -- identity ---------------------------------------------------------------

  /// Process-unique id of this connection (Tao's NetID).
  uint64_t id() const noexcept;

  /// A name for logs; defaults to the remote address ("host:port").
  const std::string& name() const noexcept;

  /// Sets the name.
  void set_name(std::string name);

  /// The peer's address.
  const net::endpoint& remote() const noexcept;

  /// Our address.
  const net::endpoint& local() const noexcept;

  /// Where the connection is in its life.
  connection_state state() const noexcept;

  /// The TLS session once the handshake completed (protocol, cipher, the
  /// peer certificate's subject and names); empty for plain TCP and before
  /// the handshake.
  const std::optional<tls_session>& tls() const noexcept;

  /// A handle on this connection for other actors and threads.
  connection_ref ref() const;

  /// The actor running this connection's handlers: the connection broker on
  /// the I/O thread (inline dispatch, the default) or the connection's own
  /// actor on CAF's scheduler (scheduled dispatch).
  caf::actor actor() const;

  /// The actor system this connection runs in.
  caf::actor_system& system() const;

  /// The server this connection belongs to, for broadcast and unicast (Tao's
  /// `ServerFromContext`); an invalid handle for client connections.
  const tao::server& server() const;

  // -- writing ----------------------------------------------------------------

  /// Encodes `msg` and queues it; the bytes leave when the current handler
  /// returns (writes of one handler go out together). Fails with
  /// `errc::closed` once the connection is closing, `errc::would_block`
  /// above the high-water mark under the would-block policy,
  /// `errc::slow_consumer` above it under the disconnect policy, or with the
  /// encoder's error. A write that succeeded reaches the peer, or the
  /// connection's on_close reports bytes lost.
  template <class T>
  caf::error write(const T& msg) {
    if (auto err = check_writable())
      return err;
    auto before = out_->size();
    if (auto err = protocol::encode_message(*codec_, msg, *out_))
      return err;
    return commit(before);
  }

  /// Queues one frame with a raw payload; see `write`.
  caf::error write_frame(int32_t type, std::string_view payload);

  /// Bytes queued and not yet written to the socket (including this
  /// handler's writes).
  size_t queued_bytes() const noexcept;

  /// True if a write would be accepted now.
  bool writable() const noexcept;

  /// A reply this connection owes its peer and that someone else will write
  /// (another actor, after an answer): the connection stays open for it
  /// through a half-close or a graceful close (bounded by the drain
  /// timeout) until it is released. Empty once the connection is closing.
  pending_reply defer();

  // -- closing ----------------------------------------------------------------

  /// Closes gracefully: handlers run no more, pending replies are awaited,
  /// every queued write is delivered (within the drain timeout), then FIN;
  /// on_close follows.
  void close();

  /// Closes gracefully with `reason`, which on_close receives.
  void close(caf::error reason);

  /// Resets the connection (RST), discarding queued writes.
  void abort(caf::error reason = {});

  /// True once a close started.
  bool closing() const noexcept;

  // -- timers (Tao's RunAt/RunAfter/RunEvery/CancelTimer) ---------------------

  /// Runs `f` at `when`. Returns the timer's id. A one-shot timer pending
  /// when the peer half-closes keeps the connection open until it ran.
  timer_id run_at(time_point when, timer_callback f);

  /// Runs `f` once after `delay`.
  timer_id run_after(caf::timespan delay, timer_callback f);

  /// Runs `f` every `period`, first after one period. If the connection falls
  /// behind by whole periods, the missed runs are skipped, not bunched.
  timer_id run_every(caf::timespan period, timer_callback f);

  /// Cancels a timer. Returns false if it does not exist (any more).
  bool cancel_timer(timer_id id);

  /// Number of pending timers.
  size_t timer_count() const noexcept;

  /// The current time on the timers' clock.
  time_point now() const;

  // -- context values (Tao's SetContextValue/ContextValue) ---------------------

  /// Stores `value` under `key`, replacing any previous value. Visible to
  /// every later handler, callback and timer of this connection.
  void set_context_value(std::string key, std::any value);

  /// The value under `key`, or nullptr.
  const std::any* context_value(std::string_view key) const;

  /// The value under `key` if it holds a `T`, or nullptr.
  template <class T>
  const T* context_value_as(std::string_view key) const {
    auto* x = context_value(key);
    return x != nullptr ? std::any_cast<T>(x) : nullptr;
  }

  /// Removes the value under `key`; returns false if there was none.
  bool erase_context_value(std::string_view key);

  // -- liveness ---------------------------------------------------------------

  /// The timestamp of the last heartbeat the peer sent (nanoseconds since the
  /// epoch on the peer's clock), or 0 if none arrived (Tao's `HeartBeat()`).
  /// Whether the peer is alive is the supervisor's business (see
  /// `tao::supervisor`).
  int64_t peer_heartbeat() const noexcept;

  /// Counters of this connection.
  const connection_stats& stats() const noexcept;

private:
  caf::error check_writable();
  caf::error commit(size_t before);

  detail::connection_runtime* rt_;
  const protocol::codec* codec_;
  protocol::byte_buffer* out_;
};

} // namespace tao
