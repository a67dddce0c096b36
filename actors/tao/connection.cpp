#include "tao/connection.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>

#include "tao/detail/connection_runtime.hpp"
#include "tao/protocol/error.hpp"

namespace tao {

connection::connection(detail::connection_runtime& rt) noexcept
  : rt_(&rt), codec_(rt.options().codec.get()), out_(&rt.out()) {
}

uint64_t connection::id() const noexcept {
  return rt_->info().id;
}

const std::string& connection::name() const noexcept {
  return rt_->name;
}

void connection::set_name(std::string name) {
  rt_->name = std::move(name);
}

const net::endpoint& connection::remote() const noexcept {
  return rt_->info().remote;
}

const net::endpoint& connection::local() const noexcept {
  return rt_->info().local;
}

connection_state connection::state() const noexcept {
  return rt_->state();
}

const std::optional<tls_session>& connection::tls() const noexcept {
  static const std::optional<tls_session> plain;
  return rt_->tls ? *rt_->tls : plain;
}

connection_ref connection::ref() const {
  const auto& info = rt_->info();
  const auto& options = rt_->options();
  return connection_ref{info.id,     rt_->broker(),    actor(),   options.codec,
                        info.budget, options.overflow, info.clock};
}

caf::actor connection::actor() const {
  return caf::actor_cast<caf::actor>(rt_->self());
}

caf::actor_system& connection::system() const {
  return rt_->self()->home_system();
}

const tao::server& connection::server() const {
  return rt_->server();
}

bool connection::begin_write(caf::error& err) {
  return rt_->begin_write(err);
}

bool connection::end_write(size_t before, caf::error& err) {
  return rt_->end_write(before, err);
}

caf::error connection::write_frame(int32_t type, std::string_view payload) {
  caf::error err;
  if (begin_write(err)) {
    auto before = out_->size();
    if (codec_->encode_into(type, payload, *out_, err))
      end_write(before, err);
  }
  return err;
}

size_t connection::queued_bytes() const noexcept {
  return rt_->info().budget->queued();
}

bool connection::writable() const noexcept {
  return rt_->info().budget->writable();
}

pending_reply connection::defer() {
  return rt_->defer();
}

caf::local_actor* connection::self() const noexcept {
  return rt_->self();
}

void connection::open_request(bool ordered) {
  rt_->open_request(ordered);
}

void connection::finish_request(bool ordered, const std::function<void()>& body) {
  rt_->finish_request(ordered, body);
}

void connection::report(const caf::error& err) {
  rt_->handle_error(err);
}

void connection::close() {
  rt_->close(caf::error{}, true);
}

void connection::close(caf::error reason) {
  rt_->close(std::move(reason), true);
}

void connection::abort(caf::error reason) {
  rt_->abort(std::move(reason), true);
}

bool connection::closing() const noexcept {
  auto s = rt_->state();
  return s != connection_state::opening && s != connection_state::open
         && s != connection_state::input_closed;
}

timer_id connection::run_at(time_point when, timer_callback f) {
  return rt_->add_timer(when, caf::timespan{0}, std::move(f));
}

timer_id connection::run_after(caf::timespan delay, timer_callback f) {
  return run_at(now() + delay, std::move(f));
}

timer_id connection::run_every(caf::timespan period, timer_callback f) {
  if (period <= caf::timespan{0})
    period = caf::timespan{1};
  return rt_->add_timer(now() + period, period, std::move(f));
}

bool connection::cancel_timer(timer_id id) {
  return rt_->cancel_timer(id);
}

size_t connection::timer_count() const noexcept {
  return rt_->timer_count();
}

time_point connection::now() const {
  return rt_->self()->clock().now();
}

void connection::set_context_value(std::string key, std::any value) {
  rt_->context.insert_or_assign(std::move(key), std::move(value));
}

const std::any* connection::context_value(std::string_view key) const {
  auto i = rt_->context.find(key);
  return i != rt_->context.end() ? &i->second : nullptr;
}

bool connection::erase_context_value(std::string_view key) {
  auto i = rt_->context.find(key);
  if (i == rt_->context.end())
    return false;
  rt_->context.erase(i);
  return true;
}

int64_t connection::peer_heartbeat() const noexcept {
  return rt_->peer_heartbeat;
}

const connection_stats& connection::stats() const noexcept {
  return rt_->stats;
}

} // namespace tao
