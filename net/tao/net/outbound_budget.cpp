#include "tao/net/outbound_budget.hpp"

#include <algorithm>

namespace tao::net {

outbound_budget::outbound_budget(size_t high_water_mark, size_t low_water_mark) noexcept
  : high_(std::min(high_water_mark, ~closed_bit)), low_(std::min(low_water_mark, high_water_mark)) {
}

bool outbound_budget::try_reserve(size_t n) noexcept {
  auto cur = word_.load();
  for (;;) {
    if ((cur & closed_bit) != 0)
      return false;
    if (cur >= high_) {
      blocked_.store(true);
      // A release may have drained the queue before it could see the flag:
      // look again so that no refused writer waits for a notification that
      // never comes.
      cur = word_.load();
      if (cur >= high_)
        return false;
    }
    if (word_.compare_exchange_weak(cur, cur + n))
      return true;
  }
}

reserve_status outbound_budget::crossed_high_water_mark() noexcept {
  blocked_.store(true);
  return reserve_status::above_high_water_mark;
}

bool outbound_budget::release(size_t n) noexcept {
  auto now = (word_.fetch_sub(n) - n) & ~closed_bit;
  return now <= low_ && blocked_.load() && blocked_.exchange(false);
}

} // namespace tao::net
