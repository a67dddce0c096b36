#include "tao/detail/connection_ids.hpp"

#include <atomic>

namespace tao::detail {

uint64_t next_connection_id() noexcept {
  static std::atomic<uint64_t> counter{0};
  return counter.fetch_add(1, std::memory_order_relaxed) + 1;
}

} // namespace tao::detail
