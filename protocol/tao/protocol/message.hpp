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

/// True if `T`'s payload codec declares `views_frame`: decoded values point
/// into the frame's bytes and must not outlive the handler call
/// (`raw_view_payload`).
template <class T, class = void>
struct views_frame : std::false_type {};

/// Specialization for codecs that declare the flag.
template <class T>
struct views_frame<T, std::void_t<decltype(message_traits<T>::payload::views_frame)>>
  : std::bool_constant<message_traits<T>::payload::views_frame> {};

/// Shorthand for `views_frame<T>::value`.
template <class T>
inline constexpr bool views_frame_v = views_frame<T>::value;

/// True if `T`'s payload codec has `assign(T&, std::string_view)`: a decode
/// that cannot fail (`raw_payload`), so no error is made per frame.
template <class T, class = void>
struct has_payload_assign : std::false_type {};

/// Specialization for codecs with `assign`.
template <class T>
struct has_payload_assign<T, std::void_t<decltype(message_traits<T>::payload::assign(
                               std::declval<T&>(), std::string_view{}))>> : std::true_type {};

/// Decodes a payload into the existing `x` (only for `decodes_in_place_v<T>`),
/// reusing its buffers: no allocation once they are large enough. Returns
/// true on success; on failure stores the error (as for `decode_payload`) in
/// `err` and returns false, leaving `x` unspecified but valid. `err` is not
/// touched on success, so the hot path makes no `caf::error` per frame.
/// Always inlined: it runs for every frame of a typed handler, and GCC kept
/// it out of line (its exception handlers) at about 16 instructions a call.
template <class T>
[[gnu::always_inline]] inline bool decode_payload_into(T& x, std::string_view bytes,
                                                       caf::error& err) {
  static_assert(decodes_in_place_v<T>, "T's payload codec does not decode in place");
  using payload = typename message_traits<T>::payload;
  try {
    if constexpr (has_payload_assign<T>::value) {
      payload::assign(x, bytes);
      return true;
    } else {
      if (auto e = payload::decode(x, bytes)) {
        err = std::move(e);
        return false;
      }
      return true;
    }
  } catch (const std::exception& ex) {
    err = make_error(errc::malformed_payload, std::string{"decoder threw: "} + ex.what());
  } catch (...) {
    err = make_error(errc::malformed_payload, "decoder threw an unknown exception");
  }
  return false;
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

/// `encode_message` for the hot path: returns true on success and leaves
/// `err` untouched; on error stores it in `err`, returns false and leaves
/// `out` as it was.
template <class T>
bool encode_message_into(const codec& c, const T& x, byte_buffer& out, caf::error& err) {
  if constexpr (has_payload_bytes<T>::value) {
    return c.encode_into(type_number_v<T>, message_traits<T>::payload::bytes_of(x), out, err);
  } else {
    if (auto e = encode_message(c, x, out)) {
      err = std::move(e);
      return false;
    }
    return true;
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
