#pragma once

#include <cstdint>
#include <string_view>

#include <caf/error.hpp>
#include <caf/meta/type_name.hpp>

#include "tao/protocol/frame.hpp"

namespace tao::protocol {

/// Payload codec of Tao's heartbeat: exactly 8 bytes, an int64 little-endian.
struct heartbeat_payload {
  /// Appends the 8-byte timestamp.
  template <class T>
  static caf::error encode(const T& x, byte_buffer& out) {
    return encode_timestamp(x.timestamp, out);
  }

  /// Reads the 8-byte timestamp; any other length is `errc::malformed_payload`.
  template <class T>
  static caf::error decode(T& x, std::string_view bytes) {
    return decode_timestamp(bytes, x.timestamp);
  }

  /// Appends `ts` as 8 little-endian bytes.
  static caf::error encode_timestamp(int64_t ts, byte_buffer& out);

  /// Parses 8 little-endian bytes into `ts`.
  static caf::error decode_timestamp(std::string_view bytes, int64_t& ts);
};

/// Tao's heartbeat message: type 0, payload an int64 LE timestamp in
/// nanoseconds since the Unix epoch (`time.Now().UnixNano()` in Go).
struct heartbeat {
  /// Nanoseconds since the Unix epoch at the sender.
  int64_t timestamp = 0;
  /// Wire type number (Tao's `HeartBeat`).
  static constexpr int32_t tao_type = heartbeat_type;
  /// 8-byte little-endian payload.
  using tao_payload = heartbeat_payload;

  /// A heartbeat stamped with the current system time.
  static heartbeat now();

  /// Equal if the timestamps are.
  friend bool operator==(const heartbeat& x, const heartbeat& y) {
    return x.timestamp == y.timestamp;
  }
};

/// CAF inspection for `heartbeat`.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, heartbeat& x) {
  return f(caf::meta::type_name("tao.heartbeat"), x.timestamp);
}

} // namespace tao::protocol
