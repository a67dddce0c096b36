#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <caf/error.hpp>

#include "tao/protocol/append_bytes.hpp"
#include "tao/protocol/bounded_deserializer.hpp"
#include "tao/protocol/error.hpp"
#include "tao/protocol/finite_serializer.hpp"
#include "tao/protocol/frame.hpp"

namespace tao::protocol {

/// Payload codec mapping the raw payload bytes onto one member of type
/// `std::string` or `byte_buffer`: what Tao's examples send. Use it as
/// `using tao_payload = tao::protocol::raw_payload<&chat_message::text>;`.
/// Decoding never fails; every byte sequence is a valid payload.
template <auto Member>
struct raw_payload {
  /// Appends the member's bytes to `out`.
  template <class T>
  static caf::error encode(const T& x, byte_buffer& out) {
    const auto& bytes = x.*Member;
    append_bytes(out, bytes.data(), bytes.size());
    return {};
  }

  /// Assigns `bytes` to the member.
  template <class T>
  static caf::error decode(T& x, std::string_view bytes) {
    assign(x, bytes);
    return {};
  }

  /// Assigns `bytes` to the member; cannot fail (but for `std::bad_alloc`).
  /// The member is cleared and appended to (`append_bytes`): for a
  /// `std::string` libstdc++'s short path when its buffer is large enough
  /// (`assign` takes the general `replace` path), and for any member no
  /// slow `rep movsb` copy of a large payload.
  template <class T>
  static void assign(T& x, std::string_view bytes) {
    auto& member = x.*Member;
    member.clear();
    append_bytes(member, bytes.data(), bytes.size());
  }

  /// The payload bytes of `x` as they go on the wire (the member itself),
  /// so that encoding writes the header first and copies them once.
  template <class T>
  static std::string_view bytes_of(const T& x) noexcept {
    const auto& bytes = x.*Member;
    return {bytes.data(), bytes.size()};
  }

  /// Decoding assigns the member and touches nothing else, so one value can
  /// be decoded into again and again (its buffer reused; see
  /// `decode_payload_into`).
  static constexpr bool decodes_in_place = true;

  /// True if `x` is worth keeping for the next decode: its buffer is at most
  /// `reuse_limit` bytes, so a rare large payload is not kept for ever.
  template <class T>
  static bool reusable(const T& x) noexcept {
    return (x.*Member).capacity() <= reuse_limit;
  }

  /// Largest buffer a reused value keeps (64 KiB).
  static constexpr size_t reuse_limit = 64 * 1024;
};

/// Payload codec mapping the raw payload bytes onto one `std::string_view`
/// member, without a copy: the receive side of a zero-copy echo or proxy.
/// Use it as `using tao_payload = tao::protocol::raw_view_payload<&T::bytes>;`.
///
/// Lifetime: a received value points into the connection's read buffer (or
/// its held frames) and is valid only during the handler call, like the
/// `frame_view` of `handlers::on_frame`; copy what you keep, and do not
/// capture it in a request's continuation. For sending, the view must stay
/// valid until `write` returns (`write` copies the bytes). Such types cannot
/// be registered with `handlers::add` (their values would outlive the
/// frame in a `caf::message`). Decoding never fails.
template <auto Member>
struct raw_view_payload {
  /// Appends the viewed bytes to `out`.
  template <class T>
  static caf::error encode(const T& x, byte_buffer& out) {
    std::string_view bytes = x.*Member;
    append_bytes(out, bytes.data(), bytes.size());
    return {};
  }

  /// Points the member at `bytes`.
  template <class T>
  static caf::error decode(T& x, std::string_view bytes) {
    assign(x, bytes);
    return {};
  }

  /// Points the member at `bytes`; no copy, cannot fail.
  template <class T>
  static void assign(T& x, std::string_view bytes) noexcept {
    x.*Member = bytes;
  }

  /// The viewed bytes, for header-first encoding.
  template <class T>
  static std::string_view bytes_of(const T& x) noexcept {
    return x.*Member;
  }

  /// Decoding only re-points the view: one value serves every frame.
  static constexpr bool decodes_in_place = true;

  /// Always true: a view holds no buffer.
  template <class T>
  static bool reusable(const T&) noexcept {
    return true;
  }

  /// Decoded values refer to the frame's bytes (see the lifetime note).
  static constexpr bool views_frame = true;
};

/// Payload codec for structs with a CAF `inspect` overload, serialized with
/// CAF's binary serializer (integers in network byte order). Decoding fails
/// with `errc::malformed_payload` on truncated input, on trailing bytes and on
/// sequences announcing more elements than the payload can hold. Floating-point
/// members must be finite: CAF 0.17 cannot encode infinity.
struct inspect_payload {
  /// Serializes `x` and appends the bytes to `out`. Fails with
  /// `errc::malformed_payload` for infinite or NaN floating-point members
  /// (see `finite_serializer`); `out` may then hold a partial payload, which
  /// `encode_message` truncates.
  template <class T>
  static caf::error encode(const T& x, byte_buffer& out) {
    finite_serializer sink{out};
    if (auto err = sink(const_cast<T&>(x)))
      return make_error(errc::malformed_payload, "cannot serialize: " + render(err));
    return {};
  }

  /// Deserializes `x` from exactly `bytes`. A sequence announcing more
  /// elements than the bytes can hold fails before anything is allocated
  /// (see `bounded_deserializer`).
  template <class T>
  static caf::error decode(T& x, std::string_view bytes) {
    bounded_deserializer source{bytes.data(), bytes.size()};
    if (auto err = source(x))
      return make_error(errc::malformed_payload, render(err));
    if (source.remaining() != 0)
      return make_error(errc::malformed_payload,
                        std::to_string(source.remaining()) + " trailing bytes");
    return {};
  }
};

/// Payload codec for messages without content: encodes nothing and accepts
/// only an empty payload.
struct empty_payload {
  /// Appends nothing.
  template <class T>
  static caf::error encode(const T&, byte_buffer&) {
    return {};
  }

  /// Fails with `errc::malformed_payload` unless `bytes` is empty.
  template <class T>
  static caf::error decode(T&, std::string_view bytes) {
    if (!bytes.empty())
      return make_error(errc::malformed_payload, "expected an empty payload");
    return {};
  }

  /// No payload bytes.
  template <class T>
  static std::string_view bytes_of(const T&) noexcept {
    return {};
  }

  /// Decoding touches nothing: one value serves every frame.
  static constexpr bool decodes_in_place = true;

  /// Always true: an empty message holds no buffer.
  template <class T>
  static bool reusable(const T&) noexcept {
    return true;
  }
};

} // namespace tao::protocol
