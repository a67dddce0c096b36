#pragma once

#include <any>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include <caf/actor.hpp>
#include <caf/actor_clock.hpp>
#include <caf/error.hpp>

#include "tao/connection_ref.hpp"
#include "tao/connection_stats.hpp"
#include "tao/net/connection_sink.hpp"
#include "tao/net/endpoint.hpp"
#include "tao/options.hpp"
#include "tao/protocol/frame_batch.hpp"
#include "tao/protocol/message.hpp"

namespace tao {

class server;

namespace detail {
class connection_host;
} // namespace detail

/// Identifies a timer of one connection; 0 is never a valid id.
using timer_id = uint64_t;

/// The clock of timers: CAF's actor clock (steady; virtual under CAF's test
/// scheduler).
using time_point = caf::actor_clock::time_point;

/// One TCP connection as its handlers and callbacks see it: Tao's
/// `ServerConn`/`ClientConn` and `WriteCloser`.
///
/// Thread-safety: a `connection&` is valid only inside a handler, callback or
/// timer of that connection, all of which run one at a time in the
/// connection's actor. Keep a `connection_ref` (see `ref()`) to reach the
/// connection from elsewhere.
class connection {
public:
  /// Timer callback: the connection and the time the timer was due.
  using timer_callback = std::function<void(connection&, time_point)>;

  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  ~connection();

  // -- identity ---------------------------------------------------------------

  /// Process-unique id of this connection (Tao's NetID).
  uint64_t id() const noexcept {
    return info_.id;
  }

  /// A name for logs; defaults to the remote address ("host:port").
  const std::string& name() const noexcept {
    return name_;
  }

  /// Sets the name.
  void set_name(std::string name) {
    name_ = std::move(name);
  }

  /// The peer's address.
  const net::endpoint& remote() const noexcept {
    return info_.remote;
  }

  /// Our address.
  const net::endpoint& local() const noexcept {
    return info_.local;
  }

  /// A handle on this connection for other actors and threads.
  connection_ref ref() const;

  /// The actor running this connection's handlers.
  caf::actor actor() const;

  /// The actor system this connection runs in.
  caf::actor_system& system() const;

  /// The server this connection belongs to, for broadcast and unicast (Tao's
  /// `ServerFromContext`); an invalid handle for client connections.
  const tao::server& server() const;

  // -- writing ----------------------------------------------------------------

  /// Encodes `msg` and queues it; the bytes leave when the current handler
  /// returns (writes of one handler go out together). Fails with
  /// `errc::closed` after close, `errc::would_block` above the high-water
  /// mark under the would-block policy, or with the encoder's error.
  template <class T>
  caf::error write(const T& msg) {
    if (auto err = check_writable())
      return err;
    auto before = out_.size();
    if (auto err = protocol::encode_message(*options_->codec, msg, out_))
      return err;
    return commit(before);
  }

  /// Queues one frame with a raw payload.
  caf::error write_frame(int32_t type, std::string_view payload);

  /// Bytes queued and not yet written to the socket (including this
  /// handler's writes).
  size_t queued_bytes() const noexcept {
    return info_.budget->queued();
  }

  /// True if a write would be accepted now.
  bool writable() const noexcept {
    return info_.budget->writable();
  }

  // -- closing ----------------------------------------------------------------

  /// Closes gracefully: every queued write is delivered (within the drain
  /// timeout), then FIN. Handlers run no more; on_close follows.
  void close();

  /// Closes gracefully with `reason`, which on_close receives.
  void close(caf::error reason);

  /// Resets the connection (RST), discarding queued writes.
  void abort(caf::error reason = {});

  /// True once a close started.
  bool closing() const noexcept {
    return closing_;
  }

  // -- timers (Tao's RunAt/RunAfter/RunEvery/CancelTimer) ---------------------

  /// Runs `f` at `when`. Returns the timer's id.
  timer_id run_at(time_point when, timer_callback f);

  /// Runs `f` once after `delay`.
  timer_id run_after(caf::timespan delay, timer_callback f);

  /// Runs `f` every `period`, first after one period. If the connection falls
  /// behind by whole periods, the missed runs are skipped, not bunched.
  timer_id run_every(caf::timespan period, timer_callback f);

  /// Cancels a timer. Returns false if it does not exist (any more).
  bool cancel_timer(timer_id id);

  /// Number of pending timers.
  size_t timer_count() const noexcept {
    return timers_.size();
  }

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

  /// Time of the last frame received (or of the connection's start).
  time_point last_read() const noexcept {
    return last_read_;
  }

  /// Time the handlers last wrote (or of the connection's start).
  time_point last_write() const noexcept {
    return last_write_;
  }

  /// The timestamp of the last heartbeat the peer sent (nanoseconds since the
  /// epoch on the peer's clock), or 0 if none arrived (Tao's `HeartBeat()`).
  int64_t peer_heartbeat() const noexcept {
    return peer_heartbeat_;
  }

  /// Counters of this connection.
  const connection_stats& stats() const noexcept {
    return stats_;
  }

private:
  friend class detail::connection_host;

  connection(detail::connection_host& host, const connection_options& options,
             const net::connection_info& info);

  caf::error check_writable();
  void close_internal(caf::error reason);
  void abort_internal(caf::error reason);
  caf::error commit(size_t before);

  detail::connection_host& host_;
  const connection_options* options_;
  net::connection_info info_;
  std::string name_;
  protocol::byte_buffer out_;
  bool closing_ = false;
  bool deliberate_ = false;
  time_point last_read_;
  time_point last_write_;
  int64_t peer_heartbeat_ = 0;
  connection_stats stats_;
  struct timer_entry {
    timer_callback callback;
    caf::timespan period;
    time_point due;
  };
  timer_id next_timer_id_ = 1;
  std::unordered_map<timer_id, timer_entry> timers_;
  std::map<std::string, std::any, std::less<>> context_;
};

} // namespace tao
