#pragma once

// The lines of one origin that a room keeps for replay, bounded by a count
// and a number of bytes.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>

namespace chat_node {

/// Bounds of what a room retains per origin. The defaults keep the last
/// 10,000 lines or 4 MiB (whichever is reached first): about 8 minutes of a
/// busy room (20 lines/s said on one node), more for quieter ones.
struct retention_limits {
  size_t max_lines = 10000;
  /// Counted as text bytes plus `retained_lines::line_overhead` per line.
  size_t max_bytes = 4u << 20;
};

/// One retained line.
struct retained_line {
  int64_t ts = 0;
  std::string text;
};

/// Consecutive lines of one origin, the oldest dropped first when a bound is
/// exceeded. Not thread-safe (owned by one room).
class retained_lines {
public:
  /// Accounted memory per line besides its text: the entry in the deque
  /// (40 bytes) and the allocator's rounding of the text. Measured heap per
  /// line: 43 bytes for texts of up to 15 bytes (kept inline), text + 61 to
  /// 67 bytes above (docs/distributed.md).
  static constexpr size_t line_overhead = sizeof(retained_line) + 24;

  explicit retained_lines(retention_limits limits = {}) : limits_(limits) {
  }

  /// Appends line `seq`, which must be `last_seq() + 1` (the first append
  /// after construction or `reset` may take any `seq` above `last_seq()`),
  /// then trims to the bounds. The newest line is always kept.
  void append(uint64_t seq, int64_t ts, std::string text);

  /// Drops every line and continues after `seq` (lines up to it count as
  /// trimmed: a replay from there starts with a gap).
  void reset(uint64_t seq, int64_t ts);

  /// Sequence number of the oldest retained line; `last_seq() + 1` if none.
  uint64_t first_seq() const noexcept {
    return last_seq_ + 1 - lines_.size();
  }

  /// Sequence number of the newest line appended (or passed to `reset`).
  uint64_t last_seq() const noexcept {
    return last_seq_;
  }

  /// The retained line `seq`, or null.
  const retained_line* find(uint64_t seq) const noexcept;

  /// The first retained line at or after time `ts`; `last_seq() + 1` if none.
  uint64_t first_at_or_after(int64_t ts) const noexcept;

  /// Highest sequence number dropped by the bounds or `reset` (0: none) and
  /// that line's time: lines after it are all retained.
  uint64_t trimmed_seq() const noexcept {
    return first_seq() - 1;
  }
  int64_t trimmed_ts() const noexcept {
    return trimmed_ts_;
  }

  /// Lines retained now.
  size_t size() const noexcept {
    return lines_.size();
  }

  /// Bytes accounted now (text plus `line_overhead` per line).
  size_t bytes() const noexcept {
    return bytes_;
  }

private:
  void trim();

  retention_limits limits_;
  std::deque<retained_line> lines_;
  uint64_t last_seq_ = 0;
  int64_t trimmed_ts_ = 0;
  size_t bytes_ = 0;
};

} // namespace chat_node
