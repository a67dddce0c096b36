#include "tao/detail/connection_host.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <string>

#include <caf/send.hpp>

#include "tao/atoms.hpp"
#include "tao/detail/log.hpp"
#include "tao/net/atoms.hpp"
#include "tao/protocol/error.hpp"
#include "tao/protocol/heartbeat.hpp"

namespace tao::detail {

using protocol::errc;

namespace {

// Timer ids of the liveness checks; user timers count up from 1 and never
// reach the top bit.
constexpr timer_id internal_timer = timer_id{1} << 63;
constexpr timer_id read_idle_check = internal_timer | 2;
constexpr timer_id write_idle_check = internal_timer | 3;
constexpr timer_id first_message_check = internal_timer | 4;

std::string millis(caf::timespan x) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(x).count()) + " ms";
}

} // namespace

connection_host::connection_host(std::shared_ptr<const connection_options> options,
                                 const net::connection_info& info, tao::server server,
                                 caf::actor owner)
  : options_(std::move(options)), server_(std::move(server)), owner_(std::move(owner)),
    conn_(*this, *options_, info), meter_(options_->metrics) {
}

connection_host::~connection_host() = default;

bool connection_host::start() {
  conn_.last_read_ = conn_.now();
  conn_.last_write_ = conn_.last_read_;
  if (options_->on_connect) {
    bool accepted = false;
    try {
      accepted = options_->on_connect(conn_);
    } catch (const std::exception& ex) {
      fail(
        protocol::make_error(errc::handler_failed, std::string{"on_connect threw: "} + ex.what()));
      return false;
    }
    if (!accepted) {
      conn_.closing_ = true;
      conn_.deliberate_ = true;
      conn_.out_.clear();
      request_close(protocol::make_error(errc::refused, "refused by on_connect"), false);
      return false;
    }
  }
  flush();
  if (conn_.closing_)
    return false;
  // The owner learns of the connection only now, so that broadcasts never
  // reach a connection before on_connect ran.
  if (owner_)
    caf::anon_send(owner_, joined_atom::value, conn_.ref());
  arm_liveness();
  return true;
}

void connection_host::arm_liveness() {
  const auto& o = *options_;
  auto now = conn_.now();
  if (o.read_idle_timeout > caf::timespan{0})
    arm_timer(read_idle_check, now + o.read_idle_timeout);
  if (o.write_idle_timeout > caf::timespan{0})
    arm_timer(write_idle_check, now + o.write_idle_timeout);
  if (o.first_message_timeout > caf::timespan{0})
    arm_timer(first_message_check, now + o.first_message_timeout);
}

void connection_host::handle_liveness(timer_id id) {
  const auto& o = *options_;
  auto now = conn_.now();
  auto send_heartbeat = [this] {
    conn_.write(protocol::heartbeat::now());
  };
  switch (id) {
  case read_idle_check: {
    auto due = conn_.last_read_ + o.read_idle_timeout;
    if (now < due) {
      arm_timer(read_idle_check, due);
    } else if (o.on_idle) {
      o.on_idle(conn_, idle_kind::read);
      arm_timer(read_idle_check, now + o.read_idle_timeout);
    } else {
      conn_.close_internal(protocol::make_error(
        errc::idle_timeout, "nothing read for " + millis(now - conn_.last_read_)));
    }
    return;
  }
  case write_idle_check: {
    auto due = conn_.last_write_ + o.write_idle_timeout;
    if (now < due) {
      arm_timer(write_idle_check, due);
      return;
    }
    if (o.on_idle)
      o.on_idle(conn_, idle_kind::write);
    else
      send_heartbeat();
    arm_timer(write_idle_check, now + o.write_idle_timeout);
    return;
  }
  case first_message_check:
    if (conn_.stats_.frames_in == 0)
      conn_.close_internal(protocol::make_error(
        errc::idle_timeout, "no message within " + millis(o.first_message_timeout)));
    return;
  default:
    return;
  }
}

bool connection_host::dispatch(const protocol::frame_view& frame) {
  auto& stats = conn_.stats_;
  ++stats.frames_in;
  stats.bytes_in += frame.payload.size();
  if (auto* invoke = options_->handlers.find(frame.type)) {
    meter_.received(frame.type, frame.payload.size());
    if (auto err = (*invoke)(conn_, frame.payload))
      fail(err);
    return true;
  }
  if (frame.type == protocol::heartbeat_type) {
    // Tao's heartbeat, not claimed by the user: record the peer's stamp.
    ++stats.heartbeats_in;
    int64_t ts = 0;
    if (auto err = protocol::heartbeat_payload::decode_timestamp(frame.payload, ts))
      fail(err);
    else
      conn_.peer_heartbeat_ = ts;
    return false;
  }
  const auto& reg = options_->handlers.registry();
  if (reg.contains(frame.type)) {
    meter_.received(frame.type, frame.payload.size());
    auto msg = reg.decode(frame);
    if (!msg) {
      fail(msg.error());
      return false;
    }
    if (options_->on_message)
      options_->on_message(conn_, *msg);
    return false;
  }
  ++stats.unknown_frames;
  handle_error(protocol::make_error(
    errc::unknown_type, "frame of unregistered type " + std::to_string(frame.type) + " skipped"));
  return false;
}

void connection_host::handle_frames(const protocol::frame_batch& batch) {
  if (closed_)
    return;
  conn_.last_read_ = conn_.now();
  // With metrics, handler times chain one clock read per frame: each
  // frame's end is the next one's start.
  using clock = std::chrono::steady_clock;
  auto timed = meter_.enabled();
  auto t0 = timed ? clock::now() : clock::time_point{};
  for (size_t i = 0; i < batch.size() && !conn_.closing_; ++i) {
    try {
      auto handled = dispatch(batch[i]);
      if (timed) {
        auto t1 = clock::now();
        if (handled)
          meter_.handler_time(std::chrono::duration<double>(t1 - t0).count());
        t0 = t1;
      }
    } catch (const std::exception& ex) {
      fail(protocol::make_error(errc::handler_failed, "handler of type "
                                                        + std::to_string(batch[i].type)
                                                        + " threw: " + ex.what()));
    } catch (...) {
      fail(protocol::make_error(errc::handler_failed, "handler of type "
                                                        + std::to_string(batch[i].type)
                                                        + " threw a non-standard exception"));
    }
  }
  flush();
}

void connection_host::handle_timer(timer_id id) {
  if (closed_)
    return;
  if ((id & internal_timer) != 0) {
    if (!conn_.closing_)
      handle_liveness(id);
    flush();
    return;
  }
  auto i = conn_.timers_.find(id);
  if (i == conn_.timers_.end())
    return; // cancelled
  auto due = i->second.due;
  auto callback = i->second.callback;
  if (i->second.period > caf::timespan{0}) {
    auto now = conn_.now();
    auto& entry = i->second;
    do
      entry.due += entry.period;
    while (entry.due <= now);
    arm_timer(id, entry.due);
  } else {
    conn_.timers_.erase(i);
  }
  try {
    callback(conn_, due);
  } catch (const std::exception& ex) {
    fail(protocol::make_error(errc::handler_failed, std::string{"timer threw: "} + ex.what()));
  }
  flush();
}

void connection_host::handle_writable() {
  if (closed_ || conn_.closing_ || !options_->on_writable)
    return;
  options_->on_writable(conn_);
  flush();
}

void connection_host::handle_error(const caf::error& err) {
  static auto& log = detail::logger("tao.connection");
  last_error_ = err;
  log.debug("connection {} ({}): {}", conn_.id(), conn_.name(), protocol::render(err));
  if (options_->on_error)
    options_->on_error(conn_, err);
}

void connection_host::handle_closed(const caf::error& reason) {
  if (closed_)
    return;
  closed_ = true;
  conn_.closing_ = true;
  conn_.timers_.clear();
  conn_.out_.clear();
  if (reason && !protocol::is(reason, errc::refused) && reason != last_error_)
    handle_error(reason);
  meter_.finish(conn_.stats_);
  if (options_->on_close)
    options_->on_close(conn_, reason);
  if (owner_)
    caf::anon_send(owner_, left_atom::value, conn_.id(), reason, conn_.deliberate_);
}

void connection_host::close_from_outside(caf::error reason, bool abort) {
  if (closed_)
    return;
  if (abort)
    conn_.abort_internal(std::move(reason));
  else
    conn_.close_internal(std::move(reason));
}

void connection_host::add_sched(caf::timespan period, const connection::timer_callback& f) {
  if (closed_ || conn_.closing_)
    return;
  conn_.run_every(period, f);
}

void connection_host::flush() {
  meter_.publish(conn_.stats_, conn_.timers_.size());
  if (conn_.out_.empty())
    return;
  protocol::byte_buffer bytes;
  bytes.swap(conn_.out_);
  conn_.last_write_ = conn_.now();
  deliver(std::move(bytes));
}

void connection_host::arm_timer(timer_id id, time_point when) {
  auto* s = self();
  auto delay = when - s->clock().now();
  if (delay < caf::timespan{0})
    delay = caf::timespan{0};
  caf::delayed_anon_send(caf::actor_cast<caf::actor>(s), delay, net::timer_atom::value, id);
}

void connection_host::fail(const caf::error& err) {
  handle_error(err);
  if (!conn_.closing_) {
    conn_.closing_ = true;
    flush();
    request_close(err, false);
  }
}

} // namespace tao::detail
