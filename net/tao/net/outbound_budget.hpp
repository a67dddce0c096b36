#pragma once

#include <atomic>
#include <cstddef>

namespace tao::net {

/// Byte accounting of one connection's outbound queue, shared between every
/// writer (handlers, other actors, the server's broadcast) and the connection
/// broker. Writers `reserve` the encoded size before sending bytes to the
/// broker; the broker `release`s what the socket accepted. The count thus
/// covers bytes in the broker's mailbox, in CAF's write buffers and not yet
/// acknowledged by the kernel: nothing about the queue is unbounded.
///
/// Thread-safe: all members are lock-free atomics.
class outbound_budget {
public:
  /// A budget with the given marks; `low <= high` (low is clamped to high).
  outbound_budget(size_t high_water_mark, size_t low_water_mark) noexcept;

  /// True if the queue is below the high-water mark, i.e. a write may start.
  /// A single write may take the queue above the mark: the bound is
  /// high-water mark plus one frame.
  bool writable() const noexcept {
    return queued_.load(std::memory_order_relaxed) < high_;
  }

  /// Reserves `n` bytes if the queue is below the high-water mark. Returns
  /// false (nothing reserved) otherwise and remembers that a writer was
  /// refused, so that `release` reports when the queue drained.
  bool try_reserve(size_t n) noexcept;

  /// Reserves `n` bytes unconditionally; returns true if the queue is now
  /// above the high-water mark.
  bool force_reserve(size_t n) noexcept;

  /// Releases `n` bytes. Returns true exactly once per refusal episode: when
  /// the queue falls to the low-water mark after `try_reserve` failed or
  /// `force_reserve` crossed the high-water mark.
  bool release(size_t n) noexcept;

  /// Bytes currently queued.
  size_t queued() const noexcept {
    return queued_.load(std::memory_order_relaxed);
  }

  /// The high-water mark.
  size_t high_water_mark() const noexcept {
    return high_;
  }

  /// The low-water mark.
  size_t low_water_mark() const noexcept {
    return low_;
  }

private:
  std::atomic<size_t> queued_{0};
  std::atomic<bool> blocked_{false};
  size_t high_;
  size_t low_;
};

} // namespace tao::net
