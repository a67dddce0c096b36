// libFuzzer target: Protocol Buffers payloads (examples/protobuf's ChatLine)
// through the registry, as a server receiving message type 2 would.
//
// Input: the payload. Invariants: a decode fails only as malformed_payload;
// a decoded message re-encodes to bytes that decode to an equal message,
// and whose encoding is stable.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include <google/protobuf/stubs/logging.h>

#include "tao/protocol/error.hpp"
#include "tao/protocol/registry.hpp"

#include "chat_line.hpp"
#include "fuzz_support.hpp"

namespace {

using line = tao_example::ChatLine;
using tao::protocol::byte_buffer;

const tao::protocol::registry& the_registry() {
  static const auto reg = [] {
    tao::protocol::registry r;
    (void)r.add<line>();
    return r;
  }();
  return reg;
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Invalid UTF-8 in a string field is logged by libprotobuf on every parse.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view payload{reinterpret_cast<const char*>(data), size};
  auto result = the_registry().decode({2, payload});
  if (!result) {
    TAO_FUZZ_CHECK(is(result.error(), tao::protocol::errc::malformed_payload),
                   "bad bytes are malformed_payload");
    return 0;
  }
  TAO_FUZZ_CHECK(result->match_element<line>(0), "the message holds a ChatLine");
  const auto& x = result->get_as<line>(0);
  byte_buffer once;
  TAO_FUZZ_CHECK(!tao::protocol::encode_payload(x, once), "a decoded message encodes");
  auto again = tao::protocol::decode_payload<line>({once.data(), once.size()});
  TAO_FUZZ_CHECK(again.engaged(), "the re-encoding decodes");
  TAO_FUZZ_CHECK(again->author() == x.author() && again->text() == x.text()
                   && again->sequence() == x.sequence(),
                 "the re-encoding decodes to an equal message");
  byte_buffer twice;
  TAO_FUZZ_CHECK(!tao::protocol::encode_payload(*again, twice), "it encodes again");
  TAO_FUZZ_CHECK(once == twice, "the encoding is stable");
  return 0;
}
