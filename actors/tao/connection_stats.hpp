#pragma once

#include <cstdint>

namespace tao {

/// Counters of one connection. Read them from the connection's own handlers
/// (`connection::stats()`); they are plain integers owned by its actor.
struct connection_stats {
  /// Frames received (all types).
  uint64_t frames_in = 0;
  /// Payload bytes received.
  uint64_t bytes_in = 0;
  /// Frames queued for sending by this connection's handlers.
  uint64_t frames_out = 0;
  /// Framed bytes queued for sending by this connection's handlers.
  uint64_t bytes_out = 0;
  /// Frames of unregistered types, skipped.
  uint64_t unknown_frames = 0;
  /// Writes refused with `would_block`.
  uint64_t would_block = 0;
  /// Heartbeats received.
  uint64_t heartbeats_in = 0;
};

} // namespace tao
