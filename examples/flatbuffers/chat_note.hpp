#pragma once

// ChatNoteT (generated from chat_note.fbs, object API) as tao message type 3.

#include <caf/allowed_unsafe_message_type.hpp>

#include "tao/protocol/flatbuffers_payload.hpp"
#include "tao/protocol/message.hpp"

#include "chat_note_generated.h"

/// ChatNoteT travels as type 3 with a finished ChatNote buffer as payload.
template <>
struct tao::protocol::message_traits<tao_example::ChatNoteT> {
  /// The type number on the wire.
  static constexpr int32_t type = 3;
  /// The payload codec.
  using payload = tao::protocol::flatbuffers_payload<tao_example::ChatNote>;
};

// Decoded messages stay inside the process (CAF messages, never across
// nodes), so CAF need not know how to serialize them.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tao_example::ChatNoteT)
