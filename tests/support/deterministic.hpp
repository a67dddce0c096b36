#pragma once

// tao's own deterministic suites run on the installed test kit
// (tao/test/fixture.hpp): CAF's test coordinator and test multiplexer, no
// threads, no sockets, virtual time. This header keeps the names the suites
// were written with and adds a raw TLV frame builder.

#include <cstdint>
#include <string>
#include <string_view>

#include "tao/protocol/byte_order.hpp"
#include "tao/protocol/frame.hpp"
#include "tao/test/fixture.hpp"
#include "tao/test/scripted_peer.hpp"

namespace tao::test {

/// Actor system configuration for deterministic tests.
using deterministic_config = tao::test::config;

/// Owns a deterministic actor system and drives it.
using deterministic_fixture = tao::test::fixture;

/// One TLV frame as bytes.
inline std::string tlv(int32_t type, std::string_view payload) {
  std::string result(protocol::tlv_header_size, '\0');
  protocol::store_le32(result.data(), static_cast<uint32_t>(type));
  protocol::store_le32(result.data() + 4, static_cast<uint32_t>(payload.size()));
  result.append(payload);
  return result;
}

} // namespace tao::test
