#pragma once

#include <cstdint>
#include <cstring>

namespace tao::protocol {

/// Stores `x` at `out` as 4 little-endian bytes. `out` must hold 4 bytes.
inline void store_le32(char* out, uint32_t x) noexcept {
  unsigned char b[4] = {static_cast<unsigned char>(x), static_cast<unsigned char>(x >> 8),
                        static_cast<unsigned char>(x >> 16), static_cast<unsigned char>(x >> 24)};
  std::memcpy(out, b, 4);
}

/// Loads 4 little-endian bytes from `in`.
inline uint32_t load_le32(const char* in) noexcept {
  unsigned char b[4];
  std::memcpy(b, in, 4);
  return static_cast<uint32_t>(b[0]) | static_cast<uint32_t>(b[1]) << 8
         | static_cast<uint32_t>(b[2]) << 16 | static_cast<uint32_t>(b[3]) << 24;
}

/// Stores `x` at `out` as 8 little-endian bytes. `out` must hold 8 bytes.
inline void store_le64(char* out, uint64_t x) noexcept {
  store_le32(out, static_cast<uint32_t>(x));
  store_le32(out + 4, static_cast<uint32_t>(x >> 32));
}

/// Loads 8 little-endian bytes from `in`.
inline uint64_t load_le64(const char* in) noexcept {
  return static_cast<uint64_t>(load_le32(in)) | static_cast<uint64_t>(load_le32(in + 4)) << 32;
}

/// Stores the low `width` bytes (1..4) of `x` at `out`, most significant first.
inline void store_be(char* out, uint32_t x, unsigned width) noexcept {
  for (unsigned i = 0; i < width; ++i)
    out[i] = static_cast<char>(static_cast<unsigned char>(x >> (8 * (width - 1 - i))));
}

/// Loads `width` bytes (1..4) from `in`, most significant first.
inline uint32_t load_be(const char* in, unsigned width) noexcept {
  uint32_t x = 0;
  for (unsigned i = 0; i < width; ++i)
    x = (x << 8) | static_cast<unsigned char>(in[i]);
  return x;
}

} // namespace tao::protocol
