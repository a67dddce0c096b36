#pragma once

#include <any>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include <caf/actor.hpp>
#include <caf/actor_clock.hpp>
#include <caf/detail/type_list.hpp>
#include <caf/detail/type_traits.hpp>
#include <caf/error.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/broker.hpp>

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
    // One error object, returned in place: a successful write makes and
    // destroys no other.
    caf::error err;
    if (begin_write(err)) {
      auto before = out_->size();
      if (protocol::encode_message_into(*codec_, msg, *out_, err))
        end_write(before, err);
    }
    return err;
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

  // -- asking other actors ----------------------------------------------------

  /// A request to another actor, made from a handler: say with `then` or
  /// `then_unordered` what to do with the answer. Built by `request`.
  template <class Handle, class... Ts>
  class request_builder;

  /// Sends `xs...` to `dest` as a CAF request from the connection's actor,
  /// answered within `timeout` (or failed with `sec::request_timeout`).
  /// With `then(on_answer, on_error)` the connection's next frames wait
  /// until the answer (or error) was handled, so replies keep the order of
  /// the requests; `then_unordered` lets frames go on. `on_answer` is
  /// `void(connection&, R...)` for the answer's types, `on_error`
  /// `void(connection&, const caf::error&)` (without it, errors go to the
  /// connection's on_error). Either runs in the connection's actor, may
  /// write, and keeps a half-closed or closing connection open until it
  /// ran (bounded by the drain timeout).
  template <class Handle, class... Ts>
  request_builder<Handle, std::decay_t<Ts>...> request(const Handle& dest, caf::timespan timeout,
                                                       Ts&&... xs) {
    return {*this, dest, timeout, std::make_tuple(std::forward<Ts>(xs)...)};
  }

  /// The actor running this connection's handlers, for what CAF offers
  /// actors (monitor, delayed messages, spawning). In inline dispatch it is
  /// the connection's broker on the I/O thread: never block in it.
  caf::local_actor* self() const noexcept;

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
  template <class F, class Args>
  struct answer_handler;

  /// Runs the user's answer handler as a continuation of the connection.
  template <class F, class... Rs>
  struct answer_handler<F, caf::detail::type_list<connection&, Rs...>> {
    connection* conn;
    bool ordered;
    F f;
    void operator()(Rs... xs) {
      conn->finish_request(ordered, [&] { f(*conn, std::forward<Rs>(xs)...); });
    }
  };

  /// Runs the user's error handler (or reports the error) likewise.
  template <class G>
  struct error_handler {
    connection* conn;
    bool ordered;
    G g;
    void operator()(caf::error& err) {
      conn->finish_request(ordered, [&] { g(*conn, err); });
    }
  };

  /// The default error handler: report to on_error.
  struct report_error {
    void operator()(connection& c, const caf::error& err) const {
      c.report(err);
    }
  };

  bool begin_write(caf::error& err);
  bool end_write(size_t before, caf::error& err);
  void open_request(bool ordered);
  void finish_request(bool ordered, const std::function<void()>& body);
  void report(const caf::error& err);

  detail::connection_runtime* rt_;
  const protocol::codec* codec_;
  protocol::byte_buffer* out_;
};

template <class Handle, class... Ts>
class connection::request_builder {
public:
  /// Made by `connection::request`.
  request_builder(connection& conn, const Handle& dest, caf::timespan timeout,
                  std::tuple<Ts...> args)
    : conn_(conn), dest_(dest), timeout_(timeout), args_(std::move(args)) {
  }

  /// Handles the answer in order: the connection's next frames wait for it.
  template <class F, class G = report_error>
  void then(F on_answer, G on_error = {}) {
    send(true, std::move(on_answer), std::move(on_error));
  }

  /// Handles the answer whenever it comes; frames go on meanwhile.
  template <class F, class G = report_error>
  void then_unordered(F on_answer, G on_error = {}) {
    send(false, std::move(on_answer), std::move(on_error));
  }

private:
  template <class F, class G>
  void send(bool ordered, F f, G g) {
    using args = typename caf::detail::get_callable_trait<F>::arg_types;
    static_assert(std::is_same_v<caf::detail::tl_head_t<args>, connection&>,
                  "an answer handler must be callable as f(tao::connection&, answer...)");
    conn_.open_request(ordered);
    answer_handler<F, args> on_answer{&conn_, ordered, std::move(f)};
    error_handler<G> on_error{&conn_, ordered, std::move(g)};
    auto* self = conn_.self();
    std::apply(
      [&](auto&... xs) {
        if (auto* broker = dynamic_cast<caf::io::broker*>(self))
          broker->request(dest_, timeout_, std::move(xs)...)
            .then(std::move(on_answer), std::move(on_error));
        else
          static_cast<caf::event_based_actor*>(self)
            ->request(dest_, timeout_, std::move(xs)...)
            .then(std::move(on_answer), std::move(on_error));
      },
      args_);
  }

  connection& conn_;
  Handle dest_;
  caf::timespan timeout_;
  std::tuple<Ts...> args_;
};

} // namespace tao
