#include "tao/detail/endpoint_meter.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>

#include "tao/protocol/error.hpp"

namespace tao::detail {

endpoint_meter::endpoint_meter(metrics_ptr m) : metrics_(std::move(m)) {
  if (!metrics_)
    return;
  const auto& f = metrics_->family();
  connections_ = &f.connections.Add({});
  queued_ = &f.queued_bytes.Add({});
  accepted_ = &f.accepted.Add({});
}

endpoint_meter::~endpoint_meter() = default;

void endpoint_meter::opened() {
  if (!enabled())
    return;
  accepted_->Increment();
  connections_->Increment();
  open_ += 1;
}

void endpoint_meter::gone() {
  if (enabled() && open_ > 0) {
    connections_->Decrement();
    open_ -= 1;
  }
}

void endpoint_meter::refused(const char* reason) {
  if (enabled())
    metrics_->family().refused.Add({{"reason", reason}}).Increment();
}

void endpoint_meter::closed(const caf::error& reason) {
  if (!enabled())
    return;
  const char* code = "none";
  if (reason)
    code = reason.category() == protocol::error_category()
             ? protocol::to_string(static_cast<protocol::errc>(reason.code()))
             : "other";
  metrics_->family().closed.Add({{"reason", code}}).Increment();
}

void endpoint_meter::reconnect_attempt() {
  if (enabled())
    metrics_->family().reconnect_attempts.Add({}).Increment();
}

void endpoint_meter::reconnected() {
  if (enabled())
    metrics_->family().reconnects.Add({}).Increment();
}

void endpoint_meter::gave_up() {
  if (enabled())
    metrics_->family().give_ups.Add({}).Increment();
}

void endpoint_meter::queued(size_t bytes) {
  if (!enabled())
    return;
  auto now = static_cast<double>(bytes);
  queued_->Increment(now - queued_published_);
  queued_published_ = now;
}

std::function<void()> endpoint_meter::heartbeat_counter() const {
  if (!enabled())
    return {};
  auto* counter = &metrics_->family().heartbeats_sent.Add({});
  return [m = metrics_, counter] {
    counter->Increment();
  };
}

void endpoint_meter::finish() {
  if (!enabled())
    return;
  connections_->Decrement(open_);
  open_ = 0;
  queued(0);
}

} // namespace tao::detail
