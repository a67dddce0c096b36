#pragma once

// Shared helpers of the libFuzzer targets: an invariant check that aborts
// (libFuzzer then saves the input as a crash artifact) and a deterministic
// chunker that cuts an input the way reads from a socket would.

#include <cstddef>
#include <cstdio>
#include <cstdlib>

/// Aborts with `what` unless `cond` holds: an invariant of the code under
/// test is broken.
#define TAO_FUZZ_CHECK(cond, what)                                                                 \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      std::fprintf(stderr, "invariant broken: %s (%s) at %s:%d\n", what, #cond, __FILE__,          \
                   __LINE__);                                                                      \
      std::abort();                                                                                \
    }                                                                                              \
  } while (false)

namespace tao::fuzz {

/// Chunk sizes from 1 to 97 bytes, drawn from a linear congruential
/// generator seeded by one input byte: the same input always gives the same
/// cuts, so every crash reproduces.
class chunker {
public:
  /// A chunker seeded with `seed`.
  explicit chunker(unsigned seed) noexcept : state_(seed) {
  }

  /// The next chunk size, at most `remaining` (which must be positive).
  size_t next(size_t remaining) noexcept {
    state_ = state_ * 1103515245u + 12345u;
    size_t n = 1 + (state_ >> 16) % 97;
    return n < remaining ? n : remaining;
  }

private:
  unsigned state_;
};

} // namespace tao::fuzz
