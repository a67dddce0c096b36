#include "tao/protocol/heartbeat.hpp"

#include <chrono>
#include <string>

#include "tao/protocol/byte_order.hpp"
#include "tao/protocol/error.hpp"

namespace tao::protocol {

caf::error heartbeat_payload::encode_timestamp(int64_t ts, byte_buffer& out) {
  char buf[8];
  store_le64(buf, static_cast<uint64_t>(ts));
  out.insert(out.end(), buf, buf + 8);
  return {};
}

caf::error heartbeat_payload::decode_timestamp(std::string_view bytes, int64_t& ts) {
  if (bytes.size() != 8)
    return make_error(errc::malformed_payload,
                      "heartbeat payload must be 8 bytes, got " + std::to_string(bytes.size()));
  ts = static_cast<int64_t>(load_le64(bytes.data()));
  return {};
}

heartbeat heartbeat::now() {
  auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return {std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch).count()};
}

} // namespace tao::protocol
