#pragma once

#include <atomic>
#include <cstddef>

namespace tao::net {

/// Outcome of `outbound_budget::force_reserve`.
enum class reserve_status {
  /// Reserved; the queue is below the high-water mark.
  reserved,
  /// Reserved; the queue is now at or above the high-water mark.
  above_high_water_mark,
  /// Nothing reserved: the connection is closing or closed.
  closed,
};

/// Byte accounting of one connection's outbound queue, shared between every
/// writer (handlers, other actors, the server's broadcast) and the connection
/// broker. Writers reserve the encoded size before sending bytes to the
/// broker; the broker `release`s what the socket accepted. The count thus
/// covers bytes in the broker's mailbox, in CAF's write buffers and not yet
/// acknowledged by the kernel: nothing about the queue is unbounded.
///
/// The broker `close`s the budget when the connection starts closing: every
/// later reservation fails, so a writer learns at once that its bytes cannot
/// go out, and every reservation made before counts until delivered or
/// reported lost. Closing and reserving are one atomic word, so no write
/// slips between the two.
///
/// Thread-safe: all members are lock-free atomics.
class outbound_budget {
public:
  /// A budget with the given marks; `low <= high` (low is clamped to high).
  outbound_budget(size_t high_water_mark, size_t low_water_mark) noexcept;

  /// True if the budget is open and the queue is below the high-water mark,
  /// i.e. a write may start. A single write may take the queue above the
  /// mark: the bound is high-water mark plus one frame.
  bool writable() const noexcept {
    return word_.load(std::memory_order_relaxed) < high_;
  }

  /// Reserves `n` bytes if the budget is open and the queue is below the
  /// high-water mark. Returns false (nothing reserved) otherwise; a refusal
  /// of an open budget is remembered, so that `release` reports when the
  /// queue drained.
  bool try_reserve(size_t n) noexcept;

  /// Reserves `n` bytes whatever the marks say, unless the budget is closed.
  /// Inline: every handler write calls it.
  reserve_status force_reserve(size_t n) noexcept {
    auto cur = word_.load();
    do {
      if ((cur & closed_bit) != 0)
        return reserve_status::closed;
    } while (!word_.compare_exchange_weak(cur, cur + n));
    if (cur + n < high_)
      return reserve_status::reserved;
    return crossed_high_water_mark();
  }

  /// Counts `n` bytes the broker itself adds to the queue (TLS records,
  /// alerts), also after `close`.
  void add(size_t n) noexcept {
    word_.fetch_add(n);
  }

  /// Releases `n` bytes. Returns true exactly once per refusal episode: when
  /// the queue falls to the low-water mark after `try_reserve` failed or
  /// `force_reserve` crossed the high-water mark.
  bool release(size_t n) noexcept;

  /// Refuses every later reservation. Returns the bytes queued at that
  /// moment (reserved and not yet released). Idempotent.
  size_t close() noexcept {
    return word_.fetch_or(closed_bit) & ~closed_bit;
  }

  /// True once `close` was called.
  bool closed() const noexcept {
    return (word_.load(std::memory_order_relaxed) & closed_bit) != 0;
  }

  /// Marks the broker finished (called by it last, after `close`): anything
  /// sent to it from now on is never read. Handles check this before they
  /// message the broker, which must not happen once its actor system may be
  /// gone (an I/O shard of `tao::io_pool`).
  void retire() noexcept {
    retired_.store(true, std::memory_order_release);
  }

  /// True once `retire` was called.
  bool retired() const noexcept {
    return retired_.load(std::memory_order_acquire);
  }

  /// Bytes currently queued.
  size_t queued() const noexcept {
    return word_.load(std::memory_order_relaxed) & ~closed_bit;
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
  /// `force_reserve`'s rare path: remembers the crossing for `release`.
  reserve_status crossed_high_water_mark() noexcept;

  /// The top bit of the word: set once closed. A closed word compares above
  /// any mark, so `writable` needs no second load.
  static constexpr size_t closed_bit = ~(~size_t{0} >> 1);

  /// Bytes queued, plus `closed_bit`.
  std::atomic<size_t> word_{0};
  std::atomic<bool> blocked_{false};
  std::atomic<bool> retired_{false};
  size_t high_;
  size_t low_;
};

} // namespace tao::net
