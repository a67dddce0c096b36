#include "tao/detail/connection_runtime.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <string>
#include <utility>

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>

#include "tao/atoms.hpp"
#include "tao/detail/log.hpp"
#include "tao/detail/tick_clock.hpp"
#include "tao/net/atoms.hpp"
#include "tao/protocol/error.hpp"
#include "tao/protocol/heartbeat.hpp"
#include "tao/protocol/spare_buffer.hpp"

namespace tao::detail {

using protocol::errc;

namespace {

/// The timer that bounds waiting for pending replies and one-shot timers;
/// user timers count up from 1 and never reach the top bit.
constexpr timer_id drain_bound_timer = timer_id{1} << 63;

spdlog::logger& connection_log() {
  static auto& log = detail::logger("tao.connection");
  return log;
}

} // namespace

broker_port::~broker_port() = default;

connection_runtime::connection_runtime(std::shared_ptr<const connection_options> options,
                                       const net::connection_info& info, tao::server server,
                                       caf::actor owner, std::unique_ptr<broker_port> port)
  : name(net::to_string(info.remote)), options_(std::move(options)), info_(info),
    server_(std::move(server)), owner_(std::move(owner)), port_(std::move(port)), conn_(*this),
    holds_(std::make_shared<std::atomic<uint32_t>>(0)),
    meter_(options_->metrics ? std::make_unique<traffic_meter>(options_->metrics) : nullptr) {
  if (options_->behavior)
    user_behavior_ = options_->behavior(conn_);
}

connection_runtime::~connection_runtime() = default;

template <class F>
void connection_runtime::guarded(const char* what, F&& f) {
  try {
    f();
    return;
  } catch (const std::exception& ex) {
    fail(protocol::make_error(errc::handler_failed, std::string{what} + " threw: " + ex.what()));
  } catch (...) {
    fail(protocol::make_error(errc::handler_failed, std::string{what} + " threw a non-exception"));
  }
}

// -- events -------------------------------------------------------------------

void connection_runtime::start() {
  if (state_ != connection_state::opening)
    return;
  bool accepted = true;
  if (options_->on_connect)
    guarded("on_connect", [&] { accepted = options_->on_connect(conn_); });
  if (state_ != connection_state::opening)
    return; // closed (or failed) from on_connect
  if (!accepted) {
    deliberate_ = true;
    discard_output();
    begin_close(protocol::make_error(errc::refused, "refused by on_connect"));
    return;
  }
  state_ = connection_state::open;
  flush();
  // The owner learns of the connection only now, so that broadcasts never
  // reach a connection before on_connect ran.
  if (owner_)
    caf::anon_send(owner_, joined_atom::value, conn_.ref());
}

namespace {

/// Payload bytes of frames [first, last) of `batch`.
size_t payload_of(const protocol::frame_batch& batch, size_t first, size_t last) {
  size_t n = 0;
  for (auto i = first; i < last; ++i)
    n += batch[i].payload.size();
  return n;
}

} // namespace

void connection_runtime::handle_frames(protocol::frame_batch&& batch) {
  if (!backlog_.empty() || ordered_pending_ > 0) {
    // An answer must come first: keep the frames, in order.
    port_->deferred(batch.payload_bytes());
    batch.own();
    backlog_.push_back(held_batch{std::move(batch), 0});
    return;
  }
  auto stop = run_frames(batch, 0);
  if (stop < batch.size()) {
    // A handler asked another actor and waits for the answer: the rest of
    // the batch waits too.
    auto held = payload_of(batch, stop, batch.size());
    port_->dispatched(batch.payload_bytes() - held, false);
    port_->deferred(held);
    batch.own();
    backlog_.push_back(held_batch{std::move(batch), stop});
  } else {
    port_->dispatched(batch.payload_bytes(), false);
  }
  flush();
}

size_t connection_runtime::run_frames(const protocol::frame_batch& batch, size_t first) {
  // With metrics, handler times chain one clock read per frame (the cheap
  // tick clock): each frame's end is the next one's start.
  auto timed = meter_ != nullptr;
  auto t0 = timed ? tick_clock::now() : uint64_t{0};
  size_t i = first;
  for (; i < batch.size() && runs_handlers(state_) && ordered_pending_ == 0; ++i) {
    auto frame = batch[i];
    bool handled = false;
    try {
      handled = dispatch(frame);
    } catch (const std::exception& ex) {
      fail(protocol::make_error(errc::handler_failed, "handler of type "
                                                        + std::to_string(frame.type)
                                                        + " threw: " + ex.what()));
    } catch (...) {
      fail(protocol::make_error(errc::handler_failed, "handler of type "
                                                        + std::to_string(frame.type)
                                                        + " threw a non-exception"));
    }
    if (timed) {
      auto t1 = tick_clock::now();
      if (handled)
        meter_->handler_ticks(t1 > t0 ? t1 - t0 : 0);
      t0 = t1;
    }
  }
  // Frames left when the connection stopped running handlers are dropped.
  return runs_handlers(state_) ? i : batch.size();
}

void connection_runtime::drain_backlog() {
  while (!backlog_.empty() && ordered_pending_ == 0 && runs_handlers(state_)) {
    auto& front = backlog_.front();
    auto stop = run_frames(front.batch, front.next);
    port_->dispatched(payload_of(front.batch, front.next, stop), true);
    if (stop < front.batch.size())
      front.next = stop;
    else
      backlog_.pop_front();
  }
  if (!runs_handlers(state_))
    discard_backlog();
  flush();
  if (close_deferred_ && backlog_.empty() && ordered_pending_ == 0) {
    close_deferred_ = false;
    begin_close(std::move(deferred_close_reason_));
    return;
  }
  maybe_end_half_open();
}

void connection_runtime::discard_backlog() {
  for (auto& held : backlog_)
    port_->dispatched(payload_of(held.batch, held.next, held.batch.size()), true);
  backlog_.clear();
}

bool connection_runtime::waits_to_close() const noexcept {
  return holds() > 0 || requests_pending_ > 0;
}

bool connection_runtime::owes_peer() const noexcept {
  return waits_to_close() || one_shot_timers_ > 0 || !backlog_.empty();
}

void connection_runtime::open_request(bool ordered) {
  ++requests_pending_;
  if (ordered)
    ++ordered_pending_;
}

void connection_runtime::finish_request(bool ordered, const std::function<void()>& body) {
  if (requests_pending_ > 0)
    --requests_pending_;
  if (ordered && ordered_pending_ > 0)
    --ordered_pending_;
  if (runs_handlers(state_) || state_ == connection_state::closing) {
    in_continuation_ = true;
    guarded("request continuation", body);
    in_continuation_ = false;
    flush();
  }
  if (state_ == connection_state::closing) {
    if (!waits_to_close())
      drain();
    return;
  }
  drain_backlog();
}

// Inlined into run_frames, its only caller: the call's prologue and
// epilogue were about 15 instructions per frame (callgrind).
[[gnu::always_inline]] inline bool connection_runtime::dispatch(const protocol::frame_view& frame) {
  ++stats.frames_in;
  stats.bytes_in += frame.payload.size();
  if (auto* entry = options_->handlers.find(frame.type)) {
    if (meter_)
      meter_->received(frame.type, frame.payload.size());
    if (entry->invoke) {
      if (!entry->invoke(conn_, frame.payload, invoke_error_))
        fail(std::exchange(invoke_error_, caf::error{}));
      return true;
    }
    auto msg = entry->decode(frame.payload);
    if (!msg) {
      fail(msg.error());
      return false;
    }
    if (options_->on_message)
      options_->on_message(conn_, *msg);
    return false;
  }
  if (frame.type == protocol::heartbeat_type) {
    // Tao's heartbeat, not claimed by the user: record the peer's stamp.
    ++stats.heartbeats_in;
    int64_t ts = 0;
    if (auto err = protocol::heartbeat_payload::decode_timestamp(frame.payload, ts))
      fail(err);
    else
      peer_heartbeat = ts;
    return false;
  }
  ++stats.unknown_frames;
  handle_error(protocol::make_error(
    errc::unknown_type, "frame of unregistered type " + std::to_string(frame.type) + " skipped"));
  return false;
}

void connection_runtime::handle_timer(timer_id id) {
  if (id == drain_bound_timer) {
    // Pending replies or timers took longer than the drain timeout.
    if (state_ == connection_state::input_closed)
      begin_close(half_close_reason_);
    if (state_ == connection_state::closing)
      drain();
    return;
  }
  auto i = timers_.find(id);
  if (i == timers_.end())
    return; // cancelled
  if (!runs_handlers(state_)) {
    timers_.erase(i);
    return;
  }
  auto due = i->second.due;
  auto callback = i->second.callback;
  if (i->second.period > caf::timespan{0}) {
    auto now = conn_.now();
    auto& entry = i->second;
    do
      entry.due += entry.period;
    while (entry.due <= now);
    arm(id, entry.due);
  } else {
    timers_.erase(i);
    --one_shot_timers_;
  }
  guarded("timer", [&] { callback(conn_, due); });
  flush();
  maybe_end_half_open();
}

void connection_runtime::handle_writable() {
  if (!runs_handlers(state_) || !options_->on_writable)
    return;
  guarded("on_writable", [&] { options_->on_writable(conn_); });
  flush();
}

void connection_runtime::handle_error(const caf::error& err) {
  last_error_ = err;
  connection_log().debug("connection {} ({}): {}", info_.id, name, protocol::render(err));
  if (!options_->on_error || reporting_error_)
    return;
  reporting_error_ = true;
  guarded("on_error", [&] { options_->on_error(conn_, err); });
  reporting_error_ = false;
}

void connection_runtime::handle_idle(idle_kind kind) {
  if (!runs_handlers(state_) || !options_->on_idle)
    return;
  guarded("on_idle", [&] { options_->on_idle(conn_, kind); });
  flush();
}

void connection_runtime::handle_tls(const net::tls_session& session) {
  tls = std::make_unique<std::optional<net::tls_session>>(session);
}

void connection_runtime::handle_input_closed(const caf::error& reason) {
  if (state_ != connection_state::open)
    return;
  state_ = connection_state::input_closed;
  half_close_reason_ = reason;
  maybe_end_half_open();
}

void connection_runtime::maybe_end_half_open() {
  if (state_ != connection_state::input_closed)
    return;
  if (owes_peer()) {
    // Still owing the peer something: wait, within the drain timeout.
    if (!drain_bound_armed_) {
      drain_bound_armed_ = true;
      arm(drain_bound_timer, conn_.now() + options_->drain_timeout);
    }
    return;
  }
  begin_close(half_close_reason_);
}

void connection_runtime::handle_close_request(caf::error reason) {
  if (runs_handlers(state_) && (!backlog_.empty() || ordered_pending_ > 0)) {
    // Frames received before the request still wait for an answer: the
    // close comes after them.
    close_deferred_ = true;
    deferred_close_reason_ = std::move(reason);
    return;
  }
  begin_close(std::move(reason));
}

void connection_runtime::handle_hold_released() {
  if (state_ == connection_state::input_closed)
    maybe_end_half_open();
  else if (state_ == connection_state::closing && !waits_to_close())
    drain();
}

void connection_runtime::handle_closed(const caf::error& reason) {
  if (state_ == connection_state::closed)
    return;
  state_ = connection_state::closed;
  timers_.clear();
  one_shot_timers_ = 0;
  discard_output();
  discard_backlog();
  if (reason && !protocol::is(reason, errc::refused) && reason != last_error_)
    handle_error(reason);
  if (meter_)
    meter_->finish(stats);
  if (options_->on_close) {
    try {
      options_->on_close(conn_, reason);
    } catch (const std::exception& ex) {
      connection_log().warn("connection {} ({}): on_close threw: {}", info_.id, name, ex.what());
    } catch (...) {
      connection_log().warn("connection {} ({}): on_close threw a non-exception", info_.id, name);
    }
  }
  if (owner_)
    caf::anon_send(owner_, left_atom::value, info_.id, reason, deliberate_);
}

caf::result<caf::message> connection_runtime::handle_user_message(caf::message& msg) {
  if (!runs_handlers(state_) && state_ != connection_state::opening)
    return closing_error();
  caf::optional<caf::message> result;
  guarded("behavior", [&] { result = user_behavior_(msg); });
  flush();
  if (!result)
    return caf::sec::unexpected_message;
  return std::move(*result);
}

void connection_runtime::handle_down(const caf::down_msg& msg) {
  if (!runs_handlers(state_) || !options_->on_down)
    return;
  guarded("on_down", [&] { options_->on_down(conn_, msg); });
  flush();
}

void connection_runtime::add_sched(caf::timespan period, const connection::timer_callback& f) {
  if (!runs_handlers(state_))
    return;
  if (period <= caf::timespan{0})
    period = caf::timespan{1};
  add_timer(conn_.now() + period, period, f);
}

// -- closing ------------------------------------------------------------------

void connection_runtime::fail(const caf::error& err) {
  handle_error(err);
  begin_close(err);
}

void connection_runtime::close(caf::error reason, bool deliberate) {
  if (deliberate && accepts_writes(state_))
    deliberate_ = true;
  begin_close(std::move(reason));
}

void connection_runtime::abort(caf::error reason, bool deliberate) {
  if (state_ == connection_state::draining || state_ == connection_state::closed)
    return;
  if (deliberate && accepts_writes(state_))
    deliberate_ = true;
  discard_output();
  state_ = connection_state::draining;
  port_->abort(std::move(reason));
}

void connection_runtime::begin_close(caf::error reason) {
  if (!accepts_writes(state_))
    return;
  // This activation's writes were made before the close: they go first.
  flush();
  state_ = connection_state::closing;
  close_reason_ = std::move(reason);
  one_shot_timers_ = 0;
  timers_.clear();
  close_deferred_ = false;
  discard_backlog();
  wait_or_drain();
}

void connection_runtime::wait_or_drain() {
  if (!waits_to_close()) {
    drain();
    return;
  }
  if (!drain_bound_armed_) {
    drain_bound_armed_ = true;
    arm(drain_bound_timer, conn_.now() + options_->drain_timeout);
  }
}

void connection_runtime::drain() {
  if (state_ != connection_state::closing)
    return;
  state_ = connection_state::draining;
  port_->close(close_reason_);
}

// -- writing ------------------------------------------------------------------

bool connection_runtime::refuse_write(caf::error& err) {
  auto& budget = *info_.budget;
  bool answering = in_continuation_ && state_ == connection_state::closing;
  if (!(accepts_writes(state_) || answering) || budget.closed()) {
    err = closing_error();
    return false;
  }
  if (budget.writable()) {
    // The queue drained since the inline check: the write may go on.
    if (out_.capacity() == 0)
      take_out_buffer();
    return true;
  }
  auto what =
    std::to_string(budget.queued()) + " bytes queued on connection " + std::to_string(info_.id);
  if (options_->overflow == overflow_policy::disconnect) {
    // The broker resets the connection as soon as it sees the queue above
    // the mark; writes racing with that would only grow the doomed queue.
    err = protocol::make_error(errc::slow_consumer, std::move(what));
    return false;
  }
  ++stats.would_block;
  err = protocol::make_error(errc::would_block, std::move(what));
  return false;
}

void connection_runtime::take_out_buffer() {
  // The bytes of one handler's writes go out together at its end and the
  // buffer usually comes back to this thread then (see send_raw).
  out_ = protocol::take_spare_buffer();
}

bool connection_runtime::refuse_closed_write(size_t before, caf::error& err) {
  out_.resize(before);
  err = closing_error();
  return false;
}

caf::error connection_runtime::closing_error() const {
  return protocol::make_error(errc::closed,
                              "connection " + std::to_string(info_.id) + " is closing");
}

void connection_runtime::flush() {
  if (meter_)
    meter_->publish(stats, timers_.size());
  if (out_.empty())
    return;
  protocol::byte_buffer bytes;
  bytes.swap(out_);
  out_reserved_ = 0;
  port_->deliver(std::move(bytes));
}

void connection_runtime::discard_output() {
  // Bytes a handler wrote but that never left: give their reservation back,
  // or a graceful close would wait for them until the drain timeout.
  if (out_reserved_ > 0)
    info_.budget->release(out_reserved_);
  out_reserved_ = 0;
  out_.clear();
}

pending_reply connection_runtime::defer() {
  if (!accepts_writes(state_))
    return {};
  holds_->fetch_add(1);
  return pending_reply{conn_.ref(), holds_, caf::actor_cast<caf::actor>(self())};
}

// -- timers -------------------------------------------------------------------

timer_id connection_runtime::add_timer(time_point due, caf::timespan period,
                                       connection::timer_callback f) {
  auto id = next_timer_id_++;
  timers_.emplace(id, timer_entry{std::move(f), period, due});
  if (period <= caf::timespan{0})
    ++one_shot_timers_;
  arm(id, due);
  return id;
}

bool connection_runtime::cancel_timer(timer_id id) {
  auto i = timers_.find(id);
  if (i == timers_.end())
    return false;
  if (i->second.period <= caf::timespan{0})
    --one_shot_timers_;
  timers_.erase(i);
  maybe_end_half_open();
  return true;
}

void connection_runtime::arm(timer_id id, time_point when) {
  auto* s = self();
  auto delay = when - s->clock().now();
  if (delay < caf::timespan{0})
    delay = caf::timespan{0};
  caf::delayed_anon_send(caf::actor_cast<caf::actor>(s), delay, net::timer_atom::value, id);
}

} // namespace tao::detail
