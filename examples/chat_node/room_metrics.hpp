#pragma once

// Prometheus metrics of a room (`chat_*`), next to tao's own (`tao_*`) in the
// registry of a `tao::metrics`.

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "tao/metrics.hpp"

#include "ledger.hpp"

namespace chat_node {

/// Publishes a ledger's counters as `chat_*` metrics, labelled by peer or
/// origin node address ("host:port"):
/// - `chat_lines_said_total`, `chat_members`;
/// - per origin: `chat_lines_delivered_total`, `chat_lines_retained`,
///   `chat_retained_bytes`, `chat_gaps_announced_total`,
///   `chat_lines_missed_total`;
/// - per peer: `chat_lines_replayed_total`, `chat_duplicates_dropped_total`,
///   `chat_lines_out_of_order_total`, `chat_replay_requests_total`,
///   `chat_peer_unacked_lines`, `chat_peer_linked`.
///
/// Not thread-safe: owned by the room, which publishes on each tick.
class room_metrics {
public:
  /// Registers the families in `m`'s registry.
  explicit room_metrics(tao::metrics_ptr m);
  ~room_metrics();

  room_metrics(const room_metrics&) = delete;
  room_metrics& operator=(const room_metrics&) = delete;

  /// Brings every metric up to date with `book` and `members`.
  void publish(const ledger& book, size_t members);

private:
  struct families;
  tao::metrics_ptr metrics_;
  std::unique_ptr<families> families_;
  /// Counter values published so far, by metric name and label.
  std::map<std::string, uint64_t> published_;
};

} // namespace chat_node
