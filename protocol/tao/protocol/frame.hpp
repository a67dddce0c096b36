#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace tao::protocol {

/// Contiguous bytes as CAF's io layer hands them out (`std::vector<char>`).
using byte_buffer = std::vector<char>;

/// Size of a frame header in Tao's default (TLV) codec: int32 type + uint32 length.
inline constexpr size_t tlv_header_size = 8;

/// Tao's default maximum payload: 8 MiB (`MessageMaxBytes = 1 << 23`).
/// A frame announcing more is rejected before anything is allocated.
inline constexpr uint32_t default_max_payload = 8u * 1024u * 1024u;

/// Message type number of Tao's heartbeat (`HeartBeat = 0`).
inline constexpr int32_t heartbeat_type = 0;

/// A decoded frame header.
struct frame_header {
  /// Message type number; any int32 value, negative ones included.
  int32_t type = 0;
  /// Payload length in bytes, excluding the header.
  uint32_t length = 0;
};

/// A non-owning view on one frame: its type and payload bytes.
/// Valid only as long as the `frame_batch` (or buffer) it came from.
struct frame_view {
  /// Message type number.
  int32_t type = 0;
  /// The payload bytes (may be empty).
  std::string_view payload;
};

} // namespace tao::protocol
