#include "tao/detail/tick_clock.hpp"

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>

namespace tao::detail {

namespace {

[[maybe_unused]] std::string first_line(const char* path) {
  std::ifstream in{path};
  std::string line;
  std::getline(in, line);
  return line;
}

/// True if the flags of the first processor in /proc/cpuinfo hold `flag`.
[[maybe_unused]] bool cpu_has_flag(const std::string& flag) {
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

} // namespace

uint64_t tick_clock::steady_nanoseconds() noexcept {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::steady_clock::now().time_since_epoch())
                                 .count());
}

bool tick_clock::probe_invariant_tsc() {
#if defined(__x86_64__) || defined(__i386__)
  return first_line("/sys/devices/system/clocksource/clocksource0/current_clocksource") == "tsc"
         && cpu_has_flag("constant_tsc") && cpu_has_flag("nonstop_tsc");
#else
  return false;
#endif
}

double tick_clock::seconds_per_tick() {
  static const double result = [] {
    if (!invariant_tsc())
      return 1e-9;
    // Counter and steady_clock over the same 1 ms. Each end's counter read
    // is bracketed by two clock reads; a preemption inside a bracket (a
    // loaded machine) would skew the result by the time it took, so an
    // attempt counts only if both brackets are narrow, and the narrowest
    // of a few is kept otherwise. 1 us of bracket over 1 ms: 0.1%.
    using clock = std::chrono::steady_clock;
    using std::chrono::duration;
    double best = 1e-9;
    auto best_width = clock::duration::max();
    for (int attempt = 0; attempt < 8; ++attempt) {
      auto a0 = clock::now();
      auto c0 = now();
      auto b0 = clock::now();
      auto t = b0;
      while (t - b0 < std::chrono::milliseconds(1))
        t = clock::now();
      auto a1 = clock::now();
      auto c1 = now();
      auto b1 = clock::now();
      if (c1 <= c0)
        continue;
      auto width = (b0 - a0) + (b1 - a1);
      if (width < best_width) {
        best_width = width;
        auto elapsed = duration<double>((a1 - a0) + (b1 - b0)).count() / 2;
        best = elapsed / static_cast<double>(c1 - c0);
      }
      if (best_width < std::chrono::microseconds(1))
        break;
    }
    return best;
  }();
  return result;
}

} // namespace tao::detail
