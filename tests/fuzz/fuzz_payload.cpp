// libFuzzer target: the registry's decode path and the built-in payload
// codecs (raw text, heartbeat, empty, CAF `inspect` binary payloads).
//
// Input: byte 0 picks the frame type, the rest is the payload. Invariants:
// - a decode fails only with `unknown_type` (unregistered type, and only
//   then) or `malformed_payload`;
// - raw and heartbeat payloads re-encode to exactly the input;
// - an `inspect` payload that decodes re-encodes to a canonical form (no
//   longer than the input, bit vectors aside), which decodes again and
//   re-encodes identically.

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/optional.hpp>

#include "tao/protocol/error.hpp"
#include "tao/protocol/heartbeat.hpp"
#include "tao/protocol/message.hpp"
#include "tao/protocol/registry.hpp"

#include "fuzz_support.hpp"

namespace {

using tao::protocol::byte_buffer;
using tao::protocol::errc;

struct point {
  static constexpr int32_t tao_type = 7;
  using tao_payload = tao::protocol::inspect_payload;
  int32_t x = 0;
  std::string label;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, point& p) {
  return f(p.x, p.label);
}

struct ping {
  static constexpr int32_t tao_type = 8;
  using tao_payload = tao::protocol::empty_payload;
};

/// Every field kind CAF's binary format has a rule for.
struct record {
  static constexpr int32_t tao_type = 9;
  using tao_payload = tao::protocol::inspect_payload;
  bool flag = false;
  int8_t i8 = 0;
  uint16_t u16 = 0;
  int32_t i32 = 0;
  uint64_t u64 = 0;
  float f = 0;
  double d = 0;
  std::string text;
  std::u16string wide;
  std::u32string wider;
  std::vector<std::string> lines;
  std::map<int32_t, std::string> names;
  std::vector<point> points;
  std::array<uint16_t, 3> triple{};
  std::pair<int16_t, std::string> tagged;
  caf::optional<int32_t> maybe;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, record& r) {
  return f(r.flag, r.i8, r.u16, r.i32, r.u64, r.f, r.d, r.text, r.wide, r.wider, r.lines, r.names,
           r.points, r.triple, r.tagged, r.maybe);
}

/// Byte and bit sequences, which CAF reads with dedicated fast paths.
struct blob {
  static constexpr int32_t tao_type = 10;
  using tao_payload = tao::protocol::inspect_payload;
  std::vector<uint8_t> bytes;
  std::vector<char> chars;
  std::vector<bool> bits;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, blob& b) {
  return f(b.bytes, b.chars, b.bits);
}

using text = tao::protocol::text_message<1>;

const tao::protocol::registry& the_registry() {
  static const auto reg = [] {
    tao::protocol::registry r;
    (void)r.add<text>();
    (void)r.add<tao::protocol::heartbeat>();
    (void)r.add<point>();
    (void)r.add<ping>();
    (void)r.add<record>();
    (void)r.add<blob>();
    return r;
  }();
  return reg;
}

/// Checks the canonical-form invariants of an `inspect` payload type.
/// `bounded_size`: the canonical form is never longer than the input. Not
/// so with `std::vector<bool>`, which CAF writes as a bit count plus a byte
/// vector with a length of its own; a short byte vector decodes (missing
/// bits are false) and re-encodes longer.
template <class T>
void check_inspect(const caf::message& msg, std::string_view input, bool bounded_size) {
  TAO_FUZZ_CHECK(msg.match_element<T>(0), "the message holds the registered type");
  byte_buffer once;
  TAO_FUZZ_CHECK(!tao::protocol::encode_payload(msg.get_as<T>(0), once), "a decoded value encodes");
  TAO_FUZZ_CHECK(!bounded_size || once.size() <= input.size(),
                 "the canonical form is never longer");
  auto again = tao::protocol::decode_payload<T>({once.data(), once.size()});
  TAO_FUZZ_CHECK(again.engaged(), "the canonical form decodes");
  byte_buffer twice;
  TAO_FUZZ_CHECK(!tao::protocol::encode_payload(*again, twice), "it encodes again");
  TAO_FUZZ_CHECK(once == twice, "the canonical form is stable");
}

template <class T>
void check_exact(const caf::message& msg, std::string_view input) {
  TAO_FUZZ_CHECK(msg.match_element<T>(0), "the message holds the registered type");
  byte_buffer out;
  TAO_FUZZ_CHECK(!tao::protocol::encode_payload(msg.get_as<T>(0), out), "a decoded value encodes");
  TAO_FUZZ_CHECK(std::string_view(out.data(), out.size()) == input,
                 "the payload re-encodes to exactly the input");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1)
    return 0;
  auto type = static_cast<int32_t>(data[0] % 12);
  std::string_view payload{reinterpret_cast<const char*>(data + 1), size - 1};
  const auto& reg = the_registry();
  auto result = reg.decode({type, payload});
  if (!result) {
    if (reg.contains(type))
      TAO_FUZZ_CHECK(is(result.error(), errc::malformed_payload),
                     "a registered type fails only as malformed");
    else
      TAO_FUZZ_CHECK(is(result.error(), errc::unknown_type), "an unregistered type is unknown");
    return 0;
  }
  TAO_FUZZ_CHECK(reg.contains(type), "only registered types decode");
  switch (type) {
  case text::tao_type:
    check_exact<text>(*result, payload);
    break;
  case tao::protocol::heartbeat_type:
    check_exact<tao::protocol::heartbeat>(*result, payload);
    break;
  case ping::tao_type:
    TAO_FUZZ_CHECK(payload.empty(), "an empty message has an empty payload");
    break;
  case point::tao_type:
    check_inspect<point>(*result, payload, true);
    break;
  case record::tao_type:
    check_inspect<record>(*result, payload, true);
    break;
  case blob::tao_type:
    check_inspect<blob>(*result, payload, false);
    break;
  default:
    break;
  }
  return 0;
}
