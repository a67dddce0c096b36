#include "tao/protocol/append_bytes.hpp"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace tao::protocol::detail {

namespace {

/// A memcpy the compiler cannot see through, so the timed copies happen.
void* (*volatile opaque_memcpy)(void*, const void*, size_t) = std::memcpy;

/// Fastest of a few rounds of `copies` copies of `n` bytes, in nanoseconds.
template <class Copy>
double fastest_round(Copy copy) {
  constexpr int rounds = 5;
  constexpr int copies = 16;
  double best = 0;
  for (int round = 0; round <= rounds; ++round) {
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < copies; ++i)
      copy();
    auto ns =
      std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
    // Round 0 warms caches and page mappings and is not counted.
    if (round == 1 || (round > 1 && ns < best))
      best = ns;
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
