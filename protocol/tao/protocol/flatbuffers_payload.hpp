#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <flatbuffers/flatbuffers.h>

#include "tao/protocol/error.hpp"
#include "tao/protocol/frame.hpp"

namespace tao::protocol {

/// Payload codec for FlatBuffers tables through their object API (`flatc
/// --gen-object-api`): messages are the generated `RootT` structs, the
/// payload is a finished buffer of table `Root`, so any FlatBuffers
/// implementation reads it. Give `RootT` a type number with
/// `message_traits`:
///
///   template <>
///   struct tao::protocol::message_traits<chat::LineT> {
///     static constexpr int32_t type = 3;
///     using payload = tao::protocol::flatbuffers_payload<chat::Line>;
///   };
///
/// plus `CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chat::LineT)`. Incoming buffers are
/// verified (`flatbuffers::Verifier`) before use; a buffer that fails
/// verification is `errc::malformed_payload`. Include this header only where
/// FlatBuffers (Debian's libflatbuffers-dev) is available.
template <class Root>
struct flatbuffers_payload {
  /// Packs `x` into a finished buffer and appends it to `out`.
  template <class T>
  static caf::error encode(const T& x, byte_buffer& out) {
    flatbuffers::FlatBufferBuilder fbb;
    fbb.Finish(Root::Pack(fbb, &x));
    auto* data = reinterpret_cast<const char*>(fbb.GetBufferPointer());
    out.insert(out.end(), data, data + fbb.GetSize());
    return {};
  }

  /// Verifies `bytes` as a `Root` buffer and unpacks it into `x`.
  template <class T>
  static caf::error decode(T& x, std::string_view bytes) {
    // FlatBuffers reads scalars in place and wants them aligned; payloads
    // sit at any offset of the read buffer.
    std::vector<uint8_t> copy;
    auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
    if (reinterpret_cast<std::uintptr_t>(data) % alignof(std::max_align_t) != 0) {
      copy.assign(data, data + bytes.size());
      data = copy.data();
    }
    flatbuffers::Verifier verifier{data, bytes.size()};
    if (bytes.empty() || !verifier.VerifyBuffer<Root>(nullptr))
      return make_error(errc::malformed_payload, "not a valid FlatBuffers buffer of this table");
    flatbuffers::GetRoot<Root>(data)->UnPackTo(&x);
    return {};
  }
};

} // namespace tao::protocol
