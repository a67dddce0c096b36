#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

#include "tao/protocol/frame.hpp"
#include "tao/protocol/message.hpp"

namespace tao::protocol {

/// What a registry knows of one message type.
struct message_info {
  /// Wire type number.
  int32_t type = 0;
  /// Name for logs, errors and metrics.
  std::string name;
  /// Decodes a payload into a `caf::message` holding one typed value. Must not
  /// throw (wrap decoders with `decode_payload`, which catches).
  std::function<caf::expected<caf::message>(std::string_view)> decode;
};

/// Maps wire type numbers to decoders: tao's counterpart of Tao's global
/// `Register(type, unmarshaler, ...)`, but a value owned by one server or
/// client rather than a process global.
///
/// Thread-safety: fill it before handing it to a server or client; after
/// that it is only read, and concurrent reads are safe.
class registry {
public:
  /// Registers message type `T` (see `message_traits`). `name` defaults to
  /// "type <number>". Fails with `errc::duplicate_registration` if the type
  /// number is taken; the registry is then unchanged.
  template <class T>
  caf::error add(std::string name = {}) {
    constexpr auto type = type_number_v<T>;
    if (name.empty())
      name = "type " + std::to_string(type);
    return add(message_info{type, std::move(name), [](std::string_view bytes) {
                              auto x = decode_payload<T>(bytes);
                              if (!x)
                                return caf::expected<caf::message>{std::move(x.error())};
                              return caf::expected<caf::message>{caf::make_message(std::move(*x))};
                            }});
  }

  /// Registers a type described at run time. Fails with
  /// `errc::duplicate_registration` if `info.type` is taken and with
  /// `errc::invalid_argument` if `info.decode` is empty.
  caf::error add(message_info info);

  /// The entry for `type`, or nullptr. The pointer stays valid until the
  /// registry is modified or destroyed.
  const message_info* find(int32_t type) const noexcept;

  /// True if `type` is registered.
  bool contains(int32_t type) const noexcept {
    return find(type) != nullptr;
  }

  /// Decodes a frame. Fails with `errc::unknown_type` (not fatal: skip the
  /// frame) or `errc::malformed_payload` (fatal for the connection).
  caf::expected<caf::message> decode(const frame_view& frame) const;

  /// Number of registered types.
  size_t size() const noexcept {
    return entries_.size();
  }

  /// All registered type numbers, ascending.
  std::vector<int32_t> types() const;

private:
  std::unordered_map<int32_t, message_info> entries_;
};

} // namespace tao::protocol
