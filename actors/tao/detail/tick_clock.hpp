#pragma once

#include <cstdint>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

namespace tao::detail {

/// The cheapest monotonic time stamp for timing handlers frame by frame:
/// the CPU's time-stamp counter where the kernel itself keeps time with it
/// (clocksource `tsc`, and the CPU reports `constant_tsc` and `nonstop_tsc`:
/// a constant rate, synchronised between cores), else `steady_clock` in
/// nanoseconds. Reading the counter directly costs about a third of
/// `steady_clock::now()`, which reads the same counter and scales it. Ticks
/// are only meaningful as differences, converted with `seconds_per_tick`.
///
/// Thread-safe. The first call reads /proc/cpuinfo and the clocksource;
/// the first `seconds_per_tick` calibrates the counter against
/// `steady_clock` (1 ms, a few more on a loaded machine), once per process:
/// `tao::metrics` does it when it is made, off the I/O threads.
class tick_clock {
public:
  /// The current tick count.
  static uint64_t now() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    if (invariant_tsc())
      return __rdtsc();
#endif
    return steady_nanoseconds();
  }

  /// Seconds per tick (1e-9 without an invariant counter).
  static double seconds_per_tick();

  /// Ticks in `seconds`, rounded down.
  static uint64_t ticks(double seconds) {
    return static_cast<uint64_t>(seconds / seconds_per_tick());
  }

  /// True if `now` reads the time-stamp counter (decided once, by
  /// `probe_invariant_tsc`; after that a load and a branch).
  static bool invariant_tsc() {
    static const bool yes = probe_invariant_tsc();
    return yes;
  }

private:
  static bool probe_invariant_tsc();

  static uint64_t steady_nanoseconds() noexcept;
};

} // namespace tao::detail
