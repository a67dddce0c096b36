#include "tao/detail/tick_clock.hpp"

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>

namespace tao::detail {

namespace {

std::string first_line(const char* path) {
  std::ifstream in{path};
  std::string line;
  std::getline(in, line);
  return line;
}

/// True if the flags of the first processor in /proc/cpuinfo hold `flag`.
bool cpu_has_flag(const std::string& flag) {
  std::ifstream in{"/proc/cpuinfo"};
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) != 0)
      continue;
    std::istringstream words{line.substr(line.find(':') + 1)};
    std::string word;
    while (words >> word)
      if (word == flag)
        return true;
    return false;
  }
  return false;
}

bool probe_tsc() {
#if defined(__x86_64__) || defined(__i386__)
  return first_line("/sys/devices/system/clocksource/clocksource0/current_clocksource") == "tsc"
         && cpu_has_flag("constant_tsc") && cpu_has_flag("nonstop_tsc");
#else
  return false;
#endif
}

} // namespace

uint64_t tick_clock::steady_nanoseconds() noexcept {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::steady_clock::now().time_since_epoch())
                                 .count());
}

bool tick_clock::invariant_tsc() {
  static const bool result = [] {
    bool yes = probe_tsc();
    tsc_state_.store(yes ? state::yes : state::no, std::memory_order_relaxed);
    return yes;
  }();
  return result;
}

double tick_clock::seconds_per_tick() {
  static const double result = [] {
    if (!invariant_tsc())
      return 1e-9;
    // Both clocks over the same interval; 200 us keeps the error of the
    // end points (tens of nanoseconds) near 0.01%.
    using clock = std::chrono::steady_clock;
    auto t0 = clock::now();
    auto c0 = now();
    auto t1 = t0;
    while (t1 - t0 < std::chrono::microseconds(200))
      t1 = clock::now();
    auto c1 = now();
    auto seconds = std::chrono::duration<double>(t1 - t0).count();
    return c1 > c0 ? seconds / static_cast<double>(c1 - c0) : 1e-9;
  }();
  return result;
}

} // namespace tao::detail
