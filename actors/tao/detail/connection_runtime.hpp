#pragma once

#include <any>
#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include <caf/actor.hpp>
#include <caf/error.hpp>
#include <caf/local_actor.hpp>

#include "tao/connection.hpp"
#include "tao/connection_state.hpp"
#include "tao/detail/traffic_meter.hpp"
#include "tao/net/connection_sink.hpp"
#include "tao/options.hpp"
#include "tao/protocol/frame_batch.hpp"
#include "tao/server.hpp"

namespace tao::detail {

/// How a connection's runtime reaches its broker. Where handlers run is the
/// one thing the two implementations differ in: calls on the I/O thread
/// (inline dispatch) or messages from the connection's own actor on CAF's
/// scheduler (scheduled dispatch).
class broker_port {
public:
  virtual ~broker_port();

  /// The actor running the connection's handlers.
  virtual caf::local_actor* self() noexcept = 0;

  /// The connection's broker.
  virtual caf::actor broker() const = 0;

  /// Hands framed bytes, reserved in the budget, to the broker.
  virtual void deliver(protocol::byte_buffer&& bytes) = 0;

  /// Asks the broker to close gracefully: every byte reserved so far, then
  /// FIN.
  virtual void close(caf::error reason) = 0;

  /// Asks the broker to reset the connection now.
  virtual void abort(caf::error reason) = 0;

  /// `n` payload bytes of received frames are held back (behind a request
  /// whose answer must come first): they count against the inbound window.
  virtual void deferred(size_t n) = 0;

  /// `n` payload bytes of received frames were handled (or dropped);
  /// `held` if they had been held back.
  virtual void dispatched(size_t n, bool held) = 0;
};

/// The one owner of a connection's application-side state: its
/// `connection_state`, handlers, callbacks, timers, context values, pending
/// writes and replies, counters. Every event of the connection enters
/// through one `handle_*` member, called by whichever actor runs the
/// handlers (the broker's inline sink or the connection actor); every call
/// out to the broker goes through the `broker_port`.
///
/// Not thread-safe: owned by the single actor that runs the handlers.
class connection_runtime {
public:
  /// The runtime of connection `info` of `server` (an invalid handle for
  /// client connections). `owner` (the server or client actor) receives
  /// `(joined_atom, connection_ref)` once on_connect accepted the connection
  /// and `(left_atom, id, reason, deliberate)` when it is gone.
  connection_runtime(std::shared_ptr<const connection_options> options,
                     const net::connection_info& info, tao::server server, caf::actor owner,
                     std::unique_ptr<broker_port> port);

  ~connection_runtime();

  connection_runtime(const connection_runtime&) = delete;
  connection_runtime& operator=(const connection_runtime&) = delete;

  // -- events -----------------------------------------------------------------

  /// opening -> open: runs on_connect, tells the owner. A refusal (or a
  /// close from on_connect) goes to closing instead.
  void start();

  /// Runs the handler of every frame of `batch` (open and input_closed
  /// only), then flushes. While an ordered request from a handler is
  /// unanswered, frames wait (in order) until its answer was handled; a
  /// batch borrowing the read buffer is then made to own its bytes.
  void handle_frames(protocol::frame_batch&& batch);

  /// Fires timer `id` if it still exists and handlers still run.
  void handle_timer(timer_id id);

  /// Runs on_writable.
  void handle_writable();

  /// Reports `err` to on_error.
  void handle_error(const caf::error& err);

  /// Runs on_idle (the supervisor saw the connection idle).
  void handle_idle(idle_kind kind);

  /// Records the completed TLS handshake.
  void handle_tls(const net::tls_session& session);

  /// open -> input_closed: the peer ended its input with `reason`; frames
  /// received before were handled. Closes once nothing is owed to the peer.
  void handle_input_closed(const caf::error& reason);

  /// Closes gracefully with `reason` once the work already under way is done
  /// (frames received before this request were handled, pending replies
  /// and requests answered).
  void handle_close_request(caf::error reason);

  /// The last pending reply was released.
  void handle_hold_released();

  /// -> closed: the broker is gone; runs on_close once and tells the owner.
  void handle_closed(const caf::error& reason);

  /// Runs the user's own message (`connection_options::behavior`).
  caf::result<caf::message> handle_user_message(caf::message& msg);

  /// Runs on_down.
  void handle_down(const caf::down_msg& msg);

  /// Adds a periodic callback of the server's `sched`.
  void add_sched(caf::timespan period, const connection::timer_callback& f);

  // -- the connection's view ----------------------------------------------------

  /// The connection as handlers see it.
  tao::connection& conn() noexcept {
    return conn_;
  }

  /// Where the connection is in its life.
  connection_state state() const noexcept {
    return state_;
  }

  /// The options.
  const connection_options& options() const noexcept {
    return *options_;
  }

  /// What the broker said about the connection.
  const net::connection_info& info() const noexcept {
    return info_;
  }

  /// The server the connection belongs to (invalid for clients).
  const tao::server& server() const noexcept {
    return server_;
  }

  /// The actor running the handlers.
  caf::local_actor* self() noexcept {
    return port_->self();
  }

  /// The broker.
  caf::actor broker() const {
    return port_->broker();
  }

  /// Encoded writes of the current activation, sent when it ends.
  protocol::byte_buffer& out() noexcept {
    return out_;
  }

  /// True if a write may start now; otherwise stores the reason in `err`
  /// and returns false (`err` is untouched on success). Inline: it runs for
  /// every frame a handler writes; refusals take the out-of-line path.
  bool begin_write(caf::error& err) {
    bool answering = in_continuation_ && state_ == connection_state::closing;
    // A closed budget is never writable, so one load covers both.
    if ((accepts_writes(state_) || answering) && info_.budget->writable()) {
      if (out_.capacity() == 0)
        take_out_buffer();
      return true;
    }
    return refuse_write(err);
  }

  /// Reserves the bytes appended to `out()` since `before`. Returns false
  /// with the reason in `err` (and the bytes dropped) if the connection
  /// closed meanwhile.
  bool end_write(size_t before, caf::error& err) {
    auto n = out_.size() - before;
    if (info_.budget->force_reserve(n) == net::reserve_status::closed)
      return refuse_closed_write(before, err);
    out_reserved_ += n;
    ++stats.frames_out;
    stats.bytes_out += n;
    return true;
  }

  /// See `connection::defer`.
  pending_reply defer();

  /// A handler starts a request to another actor; an ordered one holds the
  /// connection's next frames back until `finish_request`.
  void open_request(bool ordered);

  /// The answer (or error) of a request arrived: runs `body` (writes are
  /// accepted also while the connection waits to close), then goes on with
  /// the frames held back.
  void finish_request(bool ordered, const std::function<void()>& body);

  /// Closes gracefully on the connection's own behalf (`connection::close`).
  void close(caf::error reason, bool deliberate);

  /// Resets the connection (`connection::abort`).
  void abort(caf::error reason, bool deliberate);

  /// Sends this activation's writes to the broker.
  void flush();

  /// Name for logs.
  std::string name;

  /// The TLS session once established; null for plain TCP (allocated on
  /// the handshake so that plain connections do not carry its 128 bytes).
  std::unique_ptr<std::optional<net::tls_session>> tls;

  /// The peer's last heartbeat stamp.
  int64_t peer_heartbeat = 0;

  /// Counters.
  connection_stats stats;

  /// Timers.
  struct timer_entry {
    connection::timer_callback callback;
    caf::timespan period;
    time_point due;
  };

  /// Adds a timer; returns its id.
  timer_id add_timer(time_point due, caf::timespan period, connection::timer_callback f);

  /// Removes a timer.
  bool cancel_timer(timer_id id);

  /// Pending timers.
  size_t timer_count() const noexcept {
    return timers_.size();
  }

  /// Context values.
  std::map<std::string, std::any, std::less<>> context;

private:
  void arm(timer_id id, time_point when);
  /// Handles one frame; true if a typed handler ran (and is timed).
  /// Inline, defined in the .cpp and used only there (by `run_frames`).
  inline bool dispatch(const protocol::frame_view& frame);
  void fail(const caf::error& err);
  void begin_close(caf::error reason);
  void wait_or_drain();
  void drain();
  void maybe_end_half_open();
  void discard_output();
  size_t run_frames(const protocol::frame_batch& batch, size_t first);
  void drain_backlog();
  void discard_backlog();
  bool owes_peer() const noexcept;
  bool waits_to_close() const noexcept;
  uint32_t holds() const noexcept {
    return holds_->load();
  }

  /// Runs a user callback; a throw becomes `errc::handler_failed` and closes
  /// the connection (after on_close ran, only logged).
  template <class F>
  void guarded(const char* what, F&& f);

  std::shared_ptr<const connection_options> options_;
  net::connection_info info_;
  tao::server server_;
  caf::actor owner_;
  std::unique_ptr<broker_port> port_;
  tao::connection conn_;
  connection_state state_ = connection_state::opening;
  bool deliberate_ = false;
  bool reporting_error_ = false;
  caf::error half_close_reason_;
  caf::error close_reason_;
  caf::error last_error_;
  protocol::byte_buffer out_;
  size_t out_reserved_ = 0;
  timer_id next_timer_id_ = 1;
  std::unordered_map<timer_id, timer_entry> timers_;
  size_t one_shot_timers_ = 0;
  std::shared_ptr<std::atomic<uint32_t>> holds_;
  bool drain_bound_armed_ = false;
  /// Frames received while an ordered request was unanswered, in order;
  /// `next` is the first not yet handled.
  struct held_batch {
    protocol::frame_batch batch;
    size_t next = 0;
  };
  /// A list, not a deque: an empty std::deque holds a 512-byte block, and
  /// idle connections have no backlog.
  std::list<held_batch> backlog_;
  /// Requests from handlers not yet answered, and how many are ordered.
  size_t requests_pending_ = 0;
  size_t ordered_pending_ = 0;
  /// A close asked for while frames were held back: it comes after them.
  bool close_deferred_ = false;
  caf::error deferred_close_reason_;
  /// Set while a request's answer runs: writes are accepted in `closing`.
  bool in_continuation_ = false;
  /// The user's own messages (`connection_options::behavior`).
  caf::message_handler user_behavior_;
  /// The slow paths of `begin_write` and `end_write`: store why a write is
  /// refused in `err` and return false.
  bool refuse_write(caf::error& err);
  bool refuse_closed_write(size_t before, caf::error& err);
  /// The error of a write or message refused because the connection closes.
  caf::error closing_error() const;
  /// Borrows this thread's spare output buffer for `out_`.
  void take_out_buffer();
  /// Null unless the server exports metrics: idle connections of a server
  /// without them do not carry the meter.
  std::unique_ptr<traffic_meter> meter_;
  /// A handler's decode error, reused so that no error object is made per
  /// frame.
  caf::error invoke_error_;
};

} // namespace tao::detail
