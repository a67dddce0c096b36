#pragma once

// ChatLine (generated from chat_line.proto) as tao message type 2.

#include <caf/allowed_unsafe_message_type.hpp>

#include "tao/protocol/message.hpp"
#include "tao/protocol/protobuf_payload.hpp"

#include "chat_line.pb.h"

/// ChatLine travels as type 2 with its protobuf wire format as the payload.
template <>
struct tao::protocol::message_traits<tao_example::ChatLine> {
  /// The type number on the wire.
  static constexpr int32_t type = 2;
  /// The payload codec.
  using payload = tao::protocol::protobuf_payload;
};

// Decoded messages travel inside the process as CAF messages (never across
// nodes), so CAF need not know how to serialize them.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tao_example::ChatLine)
