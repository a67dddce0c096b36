#pragma once

#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "tao/protocol/codec.hpp"
#include "tao/protocol/error.hpp"
#include "tao/protocol/frame.hpp"
#include "tao/protocol/payload.hpp"

namespace tao::protocol {

/// How a C++ type travels as a tao message. The default reads two members of
/// `T`: `static constexpr int32_t tao_type` (the type number on the wire) and
/// `using tao_payload = ...` (a payload codec such as `raw_payload`,
/// `inspect_payload` or `empty_payload`). Specialize it to adapt types you
/// cannot change.
template <class T>
struct message_traits {
  /// The type number on the wire.
  static constexpr int32_t type = T::tao_type;
  /// The payload codec.
  using payload = typename T::tao_payload;
};

/// The wire type number of message type `T`.
template <class T>
inline constexpr int32_t type_number_v = message_traits<T>::type;

/// Serializes the payload of `x` (without header) and appends it to `out`.
template <class T>
caf::error encode_payload(const T& x, byte_buffer& out) {
  return message_traits<T>::payload::encode(x, out);
}

/// Decodes a `T` from a payload. A decoder that throws is reported as
/// `errc::malformed_payload` with the exception's message; nothing escapes.
template <class T>
caf::expected<T> decode_payload(std::string_view bytes) {
  try {
    T x{};
    if (auto err = message_traits<T>::payload::decode(x, bytes))
      return err;
    return x;
  } catch (const std::exception& ex) {
    return make_error(errc::malformed_payload, std::string{"decoder threw: "} + ex.what());
  } catch (...) {
    return make_error(errc::malformed_payload, "decoder threw an unknown exception");
  }
}

/// True if `T`'s payload codec declares `decodes_in_place`: decoding
/// overwrites exactly what it decodes, so a value may be decoded into again
/// (`raw_payload`, `empty_payload`). Codecs that build a value up (CAF's
/// inspectors, protobuf, flatbuffers, your own) are decoded into a fresh `T`.
template <class T, class = void>
struct decodes_in_place : std::false_type {};

/// Specialization for codecs that declare the flag.
template <class T>
struct decodes_in_place<T, std::void_t<decltype(message_traits<T>::payload::decodes_in_place)>>
  : std::bool_constant<message_traits<T>::payload::decodes_in_place> {};

/// Shorthand for `decodes_in_place<T>::value`.
template <class T>
inline constexpr bool decodes_in_place_v = decodes_in_place<T>::value;

/// Decodes a payload into the existing `x` (only for `decodes_in_place_v<T>`),
/// reusing its buffers: no allocation once they are large enough. Errors as
/// for `decode_payload`; on error `x` holds an unspecified but valid value.
template <class T>
caf::error decode_payload_into(T& x, std::string_view bytes) {
  static_assert(decodes_in_place_v<T>, "T's payload codec does not decode in place");
  try {
    return message_traits<T>::payload::decode(x, bytes);
  } catch (const std::exception& ex) {
    return make_error(errc::malformed_payload, std::string{"decoder threw: "} + ex.what());
  } catch (...) {
    return make_error(errc::malformed_payload, "decoder threw an unknown exception");
  }
}

/// True if `T`'s payload codec exposes the payload as one byte range
/// (`bytes_of`), as `raw_payload` and `empty_payload` do.
template <class T, class = void>
struct has_payload_bytes : std::false_type {};

/// Specialization for codecs with `bytes_of`.
template <class T>
struct has_payload_bytes<
  T, std::void_t<decltype(message_traits<T>::payload::bytes_of(std::declval<const T&>()))>>
  : std::true_type {};

/// Appends `x` as one complete frame in `codec`'s framing to `out`. On error
/// `out` is left as it was. A payload that is one byte range goes through
/// `codec::encode` (header first, one copy); others are serialized after a
/// reserved header that `end_frame` fills in.
template <class T>
caf::error encode_message(const codec& c, const T& x, byte_buffer& out) {
  if constexpr (has_payload_bytes<T>::value) {
    return c.encode(type_number_v<T>, message_traits<T>::payload::bytes_of(x), out);
  } else {
    auto start = c.begin_frame(out);
    if (auto err = encode_payload(x, out)) {
      out.resize(start);
      return err;
    }
    return c.end_frame(type_number_v<T>, out, start);
  }
}

/// A message whose payload is raw text: the shape of every message in Tao's
/// examples (echo, chat, pingpong all use type 1 with string bytes).
template <int32_t Type>
struct text_message {
  /// The payload bytes.
  std::string text;
  /// Wire type number.
  static constexpr int32_t tao_type = Type;
  /// The payload is the raw bytes of `text`.
  using tao_payload = raw_payload<&text_message::text>;

  /// Equal if the texts are.
  friend bool operator==(const text_message& x, const text_message& y) {
    return x.text == y.text;
  }
};

/// CAF inspection for `text_message`, so it can travel between actors and nodes.
template <class Inspector, int32_t Type>
typename Inspector::result_type inspect(Inspector& f, text_message<Type>& x) {
  return f(caf::meta::type_name("tao.text_message"), x.text);
}

} // namespace tao::protocol
