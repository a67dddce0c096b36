#include "tao/detail/traffic_meter.hpp"

#include <algorithm>
#include <string>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include "tao/detail/tick_clock.hpp"

namespace tao::detail {

traffic_meter::traffic_meter(metrics_ptr m) : metrics_(std::move(m)) {
  if (!metrics_)
    return;
  const auto& f = metrics_->family();
  unknown_ = &f.unknown_frames.Add({});
  would_block_ = &f.would_block.Add({});
  heartbeats_in_ = &f.heartbeats_received.Add({});
  timers_ = &f.timers.Add({});
  latency_ = &f.handler_seconds.Add({}, metrics::handler_buckets());
  bucket_counts_.assign(metrics::handler_buckets().size() + 1, 0.0);
}

traffic_meter::~traffic_meter() = default;

traffic_meter::per_type& traffic_meter::slot(int32_t type) {
  // A connection sees few distinct types: a linear scan beats hashing.
  for (auto& t : types_)
    if (t.type == type)
      return t;
  types_.push_back(per_type{type});
  return types_.back();
}

namespace {

/// The handler histogram's bucket bounds in ticks of `tick_clock`, so that a
/// frame's bucket is found without converting its time.
const std::vector<uint64_t>& tick_bounds() {
  static const std::vector<uint64_t> bounds = [] {
    std::vector<uint64_t> result;
    for (auto seconds : metrics::handler_buckets())
      result.push_back(tick_clock::ticks(seconds));
    return result;
  }();
  return bounds;
}

} // namespace

void traffic_meter::handler_ticks(uint64_t ticks) {
  if (!enabled())
    return;
  const auto& bounds = tick_bounds();
  auto i = std::lower_bound(bounds.begin(), bounds.end(), ticks) - bounds.begin();
  bucket_counts_[static_cast<size_t>(i)] += 1;
  latency_ticks_ += ticks;
  ++latency_count_;
}

void traffic_meter::publish(const connection_stats& stats, size_t timers) {
  if (!enabled())
    return;
  const auto& f = metrics_->family();
  for (auto& t : types_) {
    if (t.frames_in == 0)
      continue;
    if (t.c_frames_in == nullptr) {
      prometheus::Labels labels{{"type", std::to_string(t.type)}};
      t.c_frames_in = &f.frames_in.Add(labels);
      t.c_bytes_in = &f.bytes_in.Add(labels);
    }
    t.c_frames_in->Increment(static_cast<double>(t.frames_in));
    t.c_bytes_in->Increment(static_cast<double>(t.bytes_in));
    t.frames_in = t.bytes_in = 0;
  }
  if (latency_count_ > 0) {
    auto seconds = static_cast<double>(latency_ticks_) * tick_clock::seconds_per_tick();
    if (latency_count_ == 1) {
      // One bucket and the sum instead of an atomic add on every bucket.
      latency_->Observe(seconds);
    } else {
      latency_->ObserveMultiple(bucket_counts_, seconds);
    }
    std::fill(bucket_counts_.begin(), bucket_counts_.end(), 0.0);
    latency_ticks_ = 0;
    latency_count_ = 0;
  }
  auto bump = [](prometheus::Counter* c, uint64_t now, uint64_t& before) {
    if (now > before) {
      c->Increment(static_cast<double>(now - before));
      before = now;
    }
  };
  bump(unknown_, stats.unknown_frames, published_.unknown_frames);
  bump(would_block_, stats.would_block, published_.would_block);
  bump(heartbeats_in_, stats.heartbeats_in, published_.heartbeats_in);
  if (timers != timers_published_) {
    timers_->Increment(static_cast<double>(timers) - static_cast<double>(timers_published_));
    timers_published_ = timers;
  }
}

void traffic_meter::finish(const connection_stats& stats) {
  publish(stats, 0);
}

} // namespace tao::detail
