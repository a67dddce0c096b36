#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "tao/connection_stats.hpp"
#include "tao/metrics.hpp"

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
} // namespace prometheus

namespace tao::detail {

/// One connection's contribution to the metrics (what it received and how
/// long its handlers took; frames sent are counted where every write meets,
/// see `sent_meter`). Frames are counted in
/// plain integers as they pass and published to the shared (atomic)
/// Prometheus metrics once per activation, so the cost per frame is a few
/// local additions; each message type's counters are resolved once.
///
/// Not thread-safe: owned by the connection's host. Without metrics every
/// member is a no-op.
class traffic_meter {
public:
  /// A meter publishing to `m` (may be null).
  explicit traffic_meter(metrics_ptr m);

  ~traffic_meter();

  /// True if metrics are on.
  bool enabled() const noexcept {
    return static_cast<bool>(metrics_);
  }

  /// A frame of a registered type arrived.
  void received(int32_t type, size_t payload_bytes) {
    if (enabled()) {
      auto& t = slot(type);
      ++t.frames_in;
      t.bytes_in += payload_bytes;
    }
  }

  /// A handler ran for `ticks` of `tick_clock`.
  void handler_ticks(uint64_t ticks);

  /// Publishes what was counted since the last call, plus the deltas of the
  /// connection's own counters and its pending timer count.
  void publish(const connection_stats& stats, size_t timers);

  /// Publishes a last time and withdraws the connection's timers.
  void finish(const connection_stats& stats);

private:
  struct per_type {
    int32_t type;
    uint64_t frames_in = 0;
    uint64_t bytes_in = 0;
    prometheus::Counter* c_frames_in = nullptr;
    prometheus::Counter* c_bytes_in = nullptr;
  };

  per_type& slot(int32_t type);

  metrics_ptr metrics_;
  std::vector<per_type> types_;
  std::vector<double> bucket_counts_;
  uint64_t latency_ticks_ = 0;
  size_t latency_count_ = 0;
  connection_stats published_;
  size_t timers_published_ = 0;
  prometheus::Counter* unknown_ = nullptr;
  prometheus::Counter* would_block_ = nullptr;
  prometheus::Counter* heartbeats_in_ = nullptr;
  prometheus::Gauge* timers_ = nullptr;
  prometheus::Histogram* latency_ = nullptr;
};

} // namespace tao::detail
