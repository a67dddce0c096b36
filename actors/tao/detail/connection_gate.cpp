#include "tao/detail/connection_gate.hpp"

namespace tao::detail {

connection_gate::connection_gate(size_t shards, size_t max)
  : shards_(shards == 0 ? 1 : shards), max_(max),
    counts_(std::make_unique<padded_count[]>(shards_)) {
}

bool connection_gate::try_enter() noexcept {
  auto n = total_.load(std::memory_order_relaxed);
  do {
    if (n >= max_)
      return false;
  } while (!total_.compare_exchange_weak(n, n + 1, std::memory_order_relaxed));
  return true;
}

void connection_gate::leave(size_t shard) noexcept {
  total_.fetch_sub(1, std::memory_order_relaxed);
  unassign(shard);
}

void connection_gate::unassign(size_t shard) noexcept {
  counts_[shard].value.fetch_sub(1, std::memory_order_relaxed);
}

size_t connection_gate::pick() noexcept {
  auto best = next_ % shards_;
  auto fewest = assigned(best);
  for (size_t k = 1; k < shards_; ++k) {
    auto i = (next_ + k) % shards_;
    if (auto n = assigned(i); n < fewest) {
      best = i;
      fewest = n;
    }
  }
  next_ = best + 1;
  counts_[best].value.fetch_add(1, std::memory_order_relaxed);
  return best;
}

} // namespace tao::detail
