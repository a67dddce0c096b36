#include "tao/connection.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>

#include "tao/detail/connection_host.hpp"
#include "tao/protocol/error.hpp"

namespace tao {

using protocol::errc;

connection::connection(detail::connection_host& host, const connection_options& options,
                       const net::connection_info& info)
  : host_(host), options_(&options), info_(info), name_(net::to_string(info.remote)) {
}

connection::~connection() = default;

connection_ref connection::ref() const {
  return connection_ref{info_.id,        host_.broker(), actor(),
                        options_->codec, info_.budget,   options_->overflow};
}

caf::actor connection::actor() const {
  return caf::actor_cast<caf::actor>(host_.self());
}

caf::actor_system& connection::system() const {
  return host_.self()->home_system();
}

const tao::server& connection::server() const {
  return host_.server();
}

caf::error connection::check_writable() {
  if (closing_ || info_.budget->closed())
    return protocol::make_error(errc::closed, "connection " + std::to_string(id()) + " is closing");
  if (!info_.budget->writable()) {
    if (options_->overflow == overflow_policy::disconnect)
      // The broker resets the connection as soon as it sees the queue above
      // the mark; writes racing with that would only grow the doomed queue.
      return protocol::make_error(errc::slow_consumer, std::to_string(info_.budget->queued())
                                                         + " bytes queued on connection "
                                                         + std::to_string(id()));
    ++stats_.would_block;
    return protocol::make_error(errc::would_block, std::to_string(info_.budget->queued())
                                                     + " bytes queued on connection "
                                                     + std::to_string(id()));
  }
  return {};
}

caf::error connection::commit(size_t before) {
  auto n = out_.size() - before;
  if (info_.budget->force_reserve(n) == net::reserve_status::closed) {
    out_.resize(before);
    return protocol::make_error(errc::closed, "connection " + std::to_string(id()) + " is closing");
  }
  ++stats_.frames_out;
  stats_.bytes_out += n;
  return {};
}

caf::error connection::write_frame(int32_t type, std::string_view payload) {
  if (auto err = check_writable())
    return err;
  auto before = out_.size();
  if (auto err = options_->codec->encode(type, payload, out_))
    return err;
  return commit(before);
}

void connection::close() {
  close(caf::error{});
}

void connection::close(caf::error reason) {
  if (!closing_)
    deliberate_ = true;
  close_internal(std::move(reason));
}

void connection::close_internal(caf::error reason) {
  if (closing_)
    return;
  closing_ = true;
  host_.flush();
  host_.request_close(std::move(reason), false);
}

void connection::abort(caf::error reason) {
  if (!closing_)
    deliberate_ = true;
  abort_internal(std::move(reason));
}

void connection::abort_internal(caf::error reason) {
  closing_ = true;
  out_.clear();
  host_.request_close(std::move(reason), true);
}

time_point connection::now() const {
  return host_.self()->clock().now();
}

timer_id connection::run_at(time_point when, timer_callback f) {
  auto id = next_timer_id_++;
  timers_.emplace(id, timer_entry{std::move(f), caf::timespan{0}, when});
  host_.arm_timer(id, when);
  return id;
}

timer_id connection::run_after(caf::timespan delay, timer_callback f) {
  return run_at(now() + delay, std::move(f));
}

timer_id connection::run_every(caf::timespan period, timer_callback f) {
  if (period <= caf::timespan{0})
    period = caf::timespan{1};
  auto id = next_timer_id_++;
  auto due = now() + period;
  timers_.emplace(id, timer_entry{std::move(f), period, due});
  host_.arm_timer(id, due);
  return id;
}

bool connection::cancel_timer(timer_id id) {
  return timers_.erase(id) > 0;
}

void connection::set_context_value(std::string key, std::any value) {
  context_.insert_or_assign(std::move(key), std::move(value));
}

const std::any* connection::context_value(std::string_view key) const {
  auto i = context_.find(key);
  return i != context_.end() ? &i->second : nullptr;
}

bool connection::erase_context_value(std::string_view key) {
  auto i = context_.find(key);
  if (i == context_.end())
    return false;
  context_.erase(i);
  return true;
}

} // namespace tao
