#include "tao/protocol/append_bytes.hpp"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>

namespace tao::protocol::detail {

namespace {

/// A memcpy the compiler cannot see through, so the timed copies happen.
void* (*volatile opaque_memcpy)(void*, const void*, size_t) = std::memcpy;

/// Nanoseconds of the fastest of 5 rounds of 16 calls of `copy`, after one
/// uncounted round that warms caches and page mappings.
template <class Copy>
double fastest_round(Copy copy) {
  double best = std::numeric_limits<double>::infinity();
  for (int round = 0; round <= 5; ++round) {
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 16; ++i)
      copy();
    auto ns =
      std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
    if (round > 0)
      best = std::min(best, ns);
  }
  return best;
}

} // namespace

bool measure_aliased_copy_is_slow() noexcept {
  constexpr size_t page = 4096;
  constexpr size_t n = 2 * copy_piece;
  struct free_deleter {
    void operator()(char* p) const noexcept {
      std::free(p);
    }
  };
  std::unique_ptr<char, free_deleter> area{static_cast<char*>(std::aligned_alloc(page, 4 * page))};
  if (!area)
    return false;
  std::memset(area.get(), 0x5a, 4 * page);
  const char* src = area.get() + 64;
  char* dst = area.get() + 2 * page + 64 + 8;
  auto whole = fastest_round([&] { opaque_memcpy(dst, src, n); });
  auto pieces = fastest_round([&] {
    for (size_t done = 0; done < n; done += copy_piece)
      opaque_memcpy(dst + done, src + done, copy_piece);
  });
  return whole > 2 * pieces;
}

} // namespace tao::protocol::detail
