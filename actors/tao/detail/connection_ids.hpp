#pragma once

#include <cstddef>
#include <cstdint>

namespace tao::detail {

/// A new process-unique connection id (Tao's NetID), starting at 1; 0 is
/// never used. Thread-safe.
uint64_t next_connection_id() noexcept;

/// Where an id keeps the I/O shard of its connection on a server with
/// several I/O threads: the top 8 bits (0 for shard 0, so that ids of a
/// server with one I/O thread are plain counters).
constexpr unsigned shard_shift = 56;

/// `id` tagged with `shard` (< 256).
constexpr uint64_t with_shard(uint64_t id, size_t shard) noexcept {
  return id | (static_cast<uint64_t>(shard) << shard_shift);
}

/// The shard an id was tagged with.
constexpr size_t shard_of(uint64_t id) noexcept {
  return static_cast<size_t>(id >> shard_shift);
}

} // namespace tao::detail
