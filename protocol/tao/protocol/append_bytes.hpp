#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>

namespace tao::protocol {

/// Size of the pieces in which `append_bytes` copies a block whose copy
/// would hit the slow case described at `copy_would_alias` (2 KiB: below
/// glibc's `rep movsb` threshold, so each piece takes the vector-register
/// loop).
inline constexpr size_t copy_piece = 2048;

/// True if a `memcpy` of `n` bytes from `src` to `dst` may hit the slow case
/// of glibc's `rep movsb` copy found on some AMD Zen hosts: above about
/// 2 KiB glibc copies with `rep movsb`, which ran about 25 times slower there
/// when the destination lay a few bytes (measured: 1 to 31) after the source
/// modulo 4 KiB. An encoder that copies a payload just after an 8-byte header
/// into a buffer with the same page offset as the payload's hits exactly that
/// case (see docs/benchmarks.md, "Large copies on AMD Zen"). The check takes
/// a margin of 64 bytes. Pure arithmetic on the addresses; never
/// dereferences them.
inline bool copy_would_alias(const void* dst, const void* src, size_t n) noexcept {
  auto d = reinterpret_cast<uintptr_t>(dst);
  auto s = reinterpret_cast<uintptr_t>(src);
  return n > copy_piece && ((d - s) & uintptr_t{4095}) < 64;
}

namespace detail {

/// Times a few 4 KiB copies at distance 8 modulo 4 KiB, whole and in
/// `copy_piece` pieces, and returns true if the whole copy is more than
/// twice as slow (a margin no scheduling noise reaches: the slow case is
/// 25 times, and where it is absent pieces are slower). Takes well under a
/// millisecond, even on a slow host. Never throws.
bool measure_aliased_copy_is_slow() noexcept;

/// Appends `n` bytes at `src` to `out`, whose capacity must already hold
/// them, in copies of at most `step` bytes.
template <class Buffer>
void append_in_steps(Buffer& out, const typename Buffer::value_type* src, size_t n, size_t step) {
  size_t done = 0;
  while (done < n) {
    const size_t len = std::min(step, n - done);
    // A range insert into a std::string takes libstdc++'s general replace
    // path, measurably slower for small payloads than append.
    if constexpr (std::is_same_v<Buffer, std::basic_string<typename Buffer::value_type>>)
      out.append(src + done, len);
    else
      out.insert(out.end(), src + done, src + done + len);
    done += len;
  }
}

} // namespace detail

/// True if this host's `memcpy` is slow for the copies `copy_would_alias`
/// marks, so that `append_bytes` should copy them in pieces. Measured once
/// per process, on first use (`detail::measure_aliased_copy_is_slow`);
/// thread-safe.
inline bool aliased_copy_is_slow() noexcept {
  static const bool slow = detail::measure_aliased_copy_is_slow();
  return slow;
}

namespace detail {

/// `append_bytes` for copies above `copy_piece`: reserves once, then copies
/// whole or in pieces. Kept out of line so that the small-copy path, taken
/// for nearly every frame, inlines into its callers.
template <class Buffer>
[[gnu::noinline]] void append_large(Buffer& out, const typename Buffer::value_type* src, size_t n) {
  const size_t old = out.size();
  if (out.capacity() - old < n)
    out.reserve(std::max(old + n, 2 * out.capacity()));
  const bool pieces = copy_would_alias(out.data() + old, src, n) && aliased_copy_is_slow();
  append_in_steps(out, src, n, pieces ? copy_piece : n);
}

} // namespace detail

/// Appends the `n` bytes at `data` to `out` (a `std::vector` of a byte type
/// or a `std::string`), growing its capacity geometrically as `insert`
/// would. A copy that `copy_would_alias` marks goes in pieces of
/// `copy_piece` bytes on hosts where that is faster (`aliased_copy_is_slow`),
/// in one piece elsewhere. `data` must not point into `out`. Strong
/// guarantee: throws `std::bad_alloc` (or `length_error`) only before
/// anything is appended.
///
/// Copies of up to `copy_piece` bytes (every frame header, most payloads)
/// are one `append`/`insert` at the end, inline: the general path's
/// prologue, reservation and alias check cost about as much as copying
/// 64 bytes (callgrind: 76 and 94 instructions per 64-byte append before,
/// for the encoder's and the decoder's copies).
template <class Buffer>
inline void append_bytes(Buffer& out, const void* data, size_t n) {
  using value_type = typename Buffer::value_type;
  static_assert(sizeof(value_type) == 1, "append_bytes appends bytes");
  const auto* src = static_cast<const value_type*>(data);
  if (n > copy_piece) {
    detail::append_large(out, src, n);
    return;
  }
  if constexpr (std::is_same_v<Buffer, std::basic_string<value_type>>)
    out.append(src, n);
  else
    out.insert(out.end(), src, src + n);
}

} // namespace tao::protocol
