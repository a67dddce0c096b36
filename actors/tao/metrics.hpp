#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <caf/error.hpp>

namespace prometheus {
struct MetricFamily;
class Registry;
class Exposer;
class Counter;
class Gauge;
class Histogram;
template <class T>
class Family;
} // namespace prometheus

namespace tao {

class metrics;

/// Shared handle on a metrics registry; null means no metrics.
using metrics_ptr = std::shared_ptr<metrics>;

/// Prometheus metrics of tao's servers and clients (prometheus-cpp). One
/// object may serve any number of servers and clients: give each the same
/// `metrics_ptr` in its options and their counts add up.
///
/// Counting costs the hot path little: connections publish their traffic
/// once per activation (a batch of frames), not per frame, and per-type
/// counters are resolved once per connection.
///
/// With several I/O threads (`tao::io_pool`), each I/O shard counts into a
/// registry of its own (`for_shard`), so no counter, histogram lock or cache
/// line is shared between shards; `text()` and the served endpoint add the
/// shards' series up at scrape time and show the same series as one thread
/// would.
///
/// Thread-safe: all members may be called from any thread.
class metrics {
public:
  /// A fresh registry with every tao metric (see docs/operations.md).
  metrics();

  ~metrics();

  metrics(const metrics&) = delete;
  metrics& operator=(const metrics&) = delete;

  /// Serves the Prometheus text format on `http://address/metrics`;
  /// `address` is "host:port", e.g. "127.0.0.1:9464" (port 0 picks one, see
  /// `port`). Fails with `errc::network_failure` if it cannot bind, or
  /// `errc::invalid_argument` if called twice.
  caf::error serve(const std::string& address);

  /// The port `serve` bound, or 0.
  uint16_t port() const;

  /// The current metrics in the Prometheus text format, the shards' series
  /// added up (see `for_shard`).
  std::string text() const;

  /// The metrics I/O shard `shard` of a server or client counts into: `m`
  /// itself for shard 0 (and null for null `m`), else a registry of its own
  /// made on first use and kept by `m`, whose series `m`'s `text()` and
  /// endpoint add to its own. Used by the framework when it spreads
  /// connections over I/O threads; thread-safe.
  static metrics_ptr for_shard(const metrics_ptr& m, size_t shard);

  /// The underlying registry, to add application metrics next to tao's.
  std::shared_ptr<prometheus::Registry> registry() const noexcept {
    return registry_;
  }

  // -- metric families (used by the framework) --------------------------------

  /// The families, in registration order.
  struct families {
    /// `tao_connections`: open connections.
    prometheus::Family<prometheus::Gauge>& connections;
    /// `tao_connections_accepted_total`.
    prometheus::Family<prometheus::Counter>& accepted;
    /// `tao_connections_refused_total{reason}`.
    prometheus::Family<prometheus::Counter>& refused;
    /// `tao_connections_closed_total{reason}`.
    prometheus::Family<prometheus::Counter>& closed;
    /// `tao_frames_received_total{type}`.
    prometheus::Family<prometheus::Counter>& frames_in;
    /// `tao_received_bytes_total{type}`.
    prometheus::Family<prometheus::Counter>& bytes_in;
    /// `tao_frames_sent_total{type}`.
    prometheus::Family<prometheus::Counter>& frames_out;
    /// `tao_sent_bytes_total{type}`.
    prometheus::Family<prometheus::Counter>& bytes_out;
    /// `tao_unknown_frames_total`.
    prometheus::Family<prometheus::Counter>& unknown_frames;
    /// `tao_would_block_total`.
    prometheus::Family<prometheus::Counter>& would_block;
    /// `tao_handler_duration_seconds`.
    prometheus::Family<prometheus::Histogram>& handler_seconds;
    /// `tao_outbound_queued_bytes`.
    prometheus::Family<prometheus::Gauge>& queued_bytes;
    /// `tao_heartbeats_sent_total`.
    prometheus::Family<prometheus::Counter>& heartbeats_sent;
    /// `tao_heartbeats_received_total`.
    prometheus::Family<prometheus::Counter>& heartbeats_received;
    /// `tao_reconnect_attempts_total`.
    prometheus::Family<prometheus::Counter>& reconnect_attempts;
    /// `tao_reconnects_total`.
    prometheus::Family<prometheus::Counter>& reconnects;
    /// `tao_reconnect_give_ups_total`.
    prometheus::Family<prometheus::Counter>& give_ups;
    /// `tao_timers`.
    prometheus::Family<prometheus::Gauge>& timers;
  };

  /// The families of this registry.
  const families& family() const noexcept {
    return *families_;
  }

  /// Bucket bounds of `tao_handler_duration_seconds`.
  static const std::vector<double>& handler_buckets();

private:
  class merged_view;

  /// This registry's families with every shard's added up.
  std::vector<prometheus::MetricFamily> collect() const;

  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<families> families_;
  mutable std::mutex shards_mtx_;
  /// Shard i's metrics at index i - 1.
  std::vector<metrics_ptr> shards_;
  std::shared_ptr<merged_view> merged_;
  std::unique_ptr<prometheus::Exposer> exposer_;
};

} // namespace tao
