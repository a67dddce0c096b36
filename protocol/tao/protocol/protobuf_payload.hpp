#pragma once

#include <climits>
#include <string_view>

#include <caf/error.hpp>

#include "tao/protocol/error.hpp"
#include "tao/protocol/frame.hpp"

namespace tao::protocol {

/// Payload codec for Protocol Buffers messages: the payload is the message's
/// wire format (`SerializeToArray` / `ParseFromArray`), so a peer in any
/// language with the same `.proto` reads it. Generated classes cannot carry
/// `tao_type`, so give them a type number with `message_traits`:
///
///   template <>
///   struct tao::protocol::message_traits<chat::Line> {
///     static constexpr int32_t type = 2;
///     using payload = tao::protocol::protobuf_payload;
///   };
///
/// Decoded values travel inside the process as CAF messages, so also
/// declare `CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chat::Line)` (or give the type an
/// `inspect` overload if it must cross nodes).
///
/// Needs no protobuf header itself (it calls the generated methods), so
/// tao does not depend on protobuf; the program using it links
/// `protobuf::libprotobuf`. Decoding fails with `errc::malformed_payload`.
struct protobuf_payload {
  /// Serializes `x` and appends the bytes to `out`.
  template <class T>
  static caf::error encode(const T& x, byte_buffer& out) {
    auto n = x.ByteSizeLong();
    if (n > static_cast<size_t>(INT_MAX))
      return make_error(errc::oversized_frame,
                        "protobuf message of " + std::to_string(n) + " bytes");
    auto old = out.size();
    out.resize(old + n);
    if (!x.SerializeToArray(out.data() + old, static_cast<int>(n))) {
      out.resize(old);
      return make_error(errc::malformed_payload, "cannot serialize " + x.GetTypeName());
    }
    return {};
  }

  /// Parses `x` from exactly `bytes`.
  template <class T>
  static caf::error decode(T& x, std::string_view bytes) {
    if (bytes.size() > static_cast<size_t>(INT_MAX)
        || !x.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
      return make_error(errc::malformed_payload, "not a valid " + x.GetTypeName());
    return {};
  }
};

} // namespace tao::protocol
