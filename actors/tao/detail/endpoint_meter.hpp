#pragma once

#include <cstddef>
#include <functional>

#include <caf/error.hpp>

#include "tao/metrics.hpp"

namespace prometheus {
class Counter;
class Gauge;
} // namespace prometheus

namespace tao::detail {

/// The metrics a server or client records about its connections as a whole
/// (accepts, refusals, closes by reason, reconnects, queued bytes). Events
/// here are per connection, not per frame.
///
/// Not thread-safe: owned by one server or client actor. Without metrics
/// every member is a no-op.
class endpoint_meter {
public:
  /// A meter publishing to `m` (may be null).
  explicit endpoint_meter(metrics_ptr m);

  ~endpoint_meter();

  /// True if metrics are on.
  bool enabled() const noexcept {
    return static_cast<bool>(metrics_);
  }

  /// A connection was accepted (or established by a client).
  void opened();

  /// A connection opened before is gone (whatever the reason).
  void gone();

  /// A connection was refused; `reason` is "max_connections" or "on_connect".
  void refused(const char* reason);

  /// A connection that reached its handlers ended with `reason` (none for
  /// a clean close).
  void closed(const caf::error& reason);

  /// A client starts a connection attempt after the first.
  void reconnect_attempt();

  /// A client connected again after a loss.
  void reconnected();

  /// A client gave up.
  void gave_up();

  /// This endpoint's connections now queue `bytes` in total.
  void queued(size_t bytes);

  /// A callback counting one heartbeat sent, for the brokers (I/O thread).
  std::function<void()> heartbeat_counter() const;

  /// Withdraws this endpoint's share of the gauges (at its end).
  void finish();

private:
  metrics_ptr metrics_;
  prometheus::Gauge* connections_ = nullptr;
  prometheus::Gauge* queued_ = nullptr;
  prometheus::Counter* accepted_ = nullptr;
  double open_ = 0;
  double queued_published_ = 0;
};

} // namespace tao::detail
