#include "tao/net/outbound_budget.hpp"

#include <algorithm>

namespace tao::net {

outbound_budget::outbound_budget(size_t high_water_mark, size_t low_water_mark) noexcept
  : high_(high_water_mark), low_(std::min(low_water_mark, high_water_mark)) {
}

bool outbound_budget::try_reserve(size_t n) noexcept {
  auto cur = queued_.load();
  for (;;) {
    if (cur >= high_) {
      blocked_.store(true);
      // A release may have drained the queue before it could see the flag:
      // look again so that no refused writer waits for a notification that
      // never comes.
      cur = queued_.load();
      if (cur >= high_)
        return false;
    }
    if (queued_.compare_exchange_weak(cur, cur + n))
      return true;
  }
}

bool outbound_budget::force_reserve(size_t n) noexcept {
  if (queued_.fetch_add(n) + n < high_)
    return false;
  blocked_.store(true);
  return true;
}

bool outbound_budget::release(size_t n) noexcept {
  auto now = queued_.fetch_sub(n) - n;
  return now <= low_ && blocked_.load() && blocked_.exchange(false);
}

} // namespace tao::net
