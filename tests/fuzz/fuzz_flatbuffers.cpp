// libFuzzer target: FlatBuffers payloads (examples/flatbuffers' ChatNote)
// through the registry, as a server receiving message type 3 would.
//
// Input: byte 0 picks the payload's misalignment (0..7 bytes, to take both
// the aligned and the copying path), the rest is the payload. Invariants: a
// decode fails only as malformed_payload (the verifier rejects what it
// cannot read); a decoded table re-encodes to a buffer that verifies and
// decodes to equal fields.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tao/protocol/error.hpp"
#include "tao/protocol/registry.hpp"

#include "chat_note.hpp"
#include "fuzz_support.hpp"

namespace {

using note = tao_example::ChatNoteT;
using tao::protocol::byte_buffer;

const tao::protocol::registry& the_registry() {
  static const auto reg = [] {
    tao::protocol::registry r;
    (void)r.add<note>();
    return r;
  }();
  return reg;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1)
    return 0;
  // A heap copy at the chosen offset of an aligned allocation, so ASan sees
  // every read past the payload.
  size_t shift = data[0] % 8;
  std::string buf(shift + size - 1, '\0');
  buf.replace(shift, size - 1, reinterpret_cast<const char*>(data + 1), size - 1);
  std::string_view payload{buf.data() + shift, size - 1};
  auto result = the_registry().decode({3, payload});
  if (!result) {
    TAO_FUZZ_CHECK(is(result.error(), tao::protocol::errc::malformed_payload),
                   "bad bytes are malformed_payload");
    return 0;
  }
  TAO_FUZZ_CHECK(result->match_element<note>(0), "the message holds a ChatNoteT");
  const auto& x = result->get_as<note>(0);
  byte_buffer once;
  TAO_FUZZ_CHECK(!tao::protocol::encode_payload(x, once), "a decoded table encodes");
  auto again = tao::protocol::decode_payload<note>({once.data(), once.size()});
  TAO_FUZZ_CHECK(again.engaged(), "the re-encoding verifies and decodes");
  TAO_FUZZ_CHECK(again->author == x.author && again->text == x.text
                   && again->sequence == x.sequence,
                 "the re-encoding decodes to equal fields");
  return 0;
}
