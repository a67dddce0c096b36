#include "tao/reconnect_policy.hpp"

#include <algorithm>
#include <cmath>

namespace tao {

caf::timespan reconnect_policy::bound(unsigned n) const noexcept {
  auto initial = static_cast<double>(initial_delay.count());
  auto grown = initial * std::pow(std::max(1.0, factor), static_cast<double>(n));
  auto cap = static_cast<double>(max_delay.count());
  return caf::timespan{static_cast<caf::timespan::rep>(std::min(grown, cap))};
}

caf::timespan reconnect_policy::delay(unsigned n, std::minstd_rand& rng) const {
  auto b = bound(n);
  if (!jitter || b.count() <= 0)
    return b;
  std::uniform_int_distribution<caf::timespan::rep> dist{0, b.count()};
  return caf::timespan{dist(rng)};
}

} // namespace tao
