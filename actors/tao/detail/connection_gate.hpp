#pragma once

#include <atomic>
#include <cstddef>
#include <memory>

namespace tao::detail {

/// The connection count of a server whose connections live on several I/O
/// shards: one limit (`max_connections`) over all shards, and the sockets
/// assigned to each shard (admitted or still on their way), so that the
/// dealer hands a new socket to the least busy one even during a burst of
/// accepts. Touched a few times per connection, never per frame.
///
/// A socket's life: `pick` assigns it to a shard; that shard either admits
/// it (`try_enter`, and `leave` when it is gone) or refuses it (`unassign`).
///
/// Thread-safety: `try_enter`, `leave` and `unassign` from any shard's
/// thread, `pick` from the dealer's only; lock-free atomics, each shard's
/// count on a cache line of its own.
class connection_gate {
public:
  /// A gate for `shards` shards (at least 1) admitting `max` connections.
  connection_gate(size_t shards, size_t max);

  /// Assigns a new socket to the shard with the fewest assigned; among
  /// equals, the one after the previous pick (round robin). Returns it.
  size_t pick() noexcept;

  /// Admits a connection unless `max` are open; false (nothing counted) if
  /// they are.
  bool try_enter() noexcept;

  /// A connection admitted on `shard` is gone (ends its assignment too).
  void leave(size_t shard) noexcept;

  /// A socket assigned to `shard` was not admitted.
  void unassign(size_t shard) noexcept;

  /// Connections open on all shards.
  size_t open() const noexcept {
    return total_.load(std::memory_order_relaxed);
  }

  /// Sockets assigned to `shard` (admitted or on their way).
  size_t assigned(size_t shard) const noexcept {
    return counts_[shard].value.load(std::memory_order_relaxed);
  }

  /// Number of shards.
  size_t shards() const noexcept {
    return shards_;
  }

private:
  struct alignas(64) padded_count {
    std::atomic<size_t> value{0};
  };

  size_t shards_;
  size_t max_;
  size_t next_ = 0;
  alignas(64) std::atomic<size_t> total_{0};
  std::unique_ptr<padded_count[]> counts_;
};

} // namespace tao::detail
