#define BOOST_TEST_MODULE protocol_flatbuffers_payload
#include <boost/test/unit_test.hpp>

// FlatBuffers payloads: a round trip at any alignment, and verified input
// only (garbage and truncated buffers are a clean malformed_payload).

#include <string>

#include "tao/protocol/codec.hpp"
#include "tao/protocol/message.hpp"
#include "tao/protocol/registry.hpp"

#include "chat_note.hpp"

using tao::protocol::byte_buffer;
using tao::protocol::errc;
using note = tao_example::ChatNoteT;

namespace {

byte_buffer payload_of(const note& x) {
  byte_buffer frame;
  BOOST_REQUIRE(!tao::protocol::encode_message(*tao::protocol::default_codec(), x, frame));
  BOOST_REQUIRE_GE(frame.size(), 8u);
  BOOST_CHECK_EQUAL(frame[0], 3); // type 3
  return byte_buffer(frame.begin() + 8, frame.end());
}

} // namespace

BOOST_AUTO_TEST_SUITE(protocol_flatbuffers_payload)

BOOST_AUTO_TEST_CASE(round_trip_at_every_alignment) {
  note x;
  x.author = "bob";
  x.text = "flat";
  x.sequence = 42;
  auto payload = payload_of(x);
  for (size_t offset = 0; offset < 8; ++offset) {
    std::string shifted(offset, '\0');
    shifted.append(payload.data(), payload.size());
    auto back = tao::protocol::decode_payload<note>(
      std::string_view{shifted.data() + offset, payload.size()});
    BOOST_REQUIRE_MESSAGE(back, "offset " << offset);
    BOOST_CHECK_EQUAL(back->author, "bob");
    BOOST_CHECK_EQUAL(back->text, "flat");
    BOOST_CHECK_EQUAL(back->sequence, 42u);
  }
}

BOOST_AUTO_TEST_CASE(garbage_and_truncated_buffers_are_rejected) {
  note x;
  x.text = std::string(100, 'x');
  auto payload = payload_of(x);
  for (auto bad : {std::string{}, std::string{"\xff\xff\xff\x7f garbage", 12},
                   std::string(payload.data(), payload.size() / 2)}) {
    auto back = tao::protocol::decode_payload<note>(bad);
    BOOST_REQUIRE(!back);
    BOOST_CHECK(tao::protocol::is(back.error(), errc::malformed_payload));
  }
}

BOOST_AUTO_TEST_CASE(registered_like_any_message_type) {
  tao::protocol::registry reg;
  BOOST_REQUIRE(!reg.add<note>());
  note x;
  x.text = "via registry";
  auto payload = payload_of(x);
  auto msg = reg.decode(tao::protocol::frame_view{3, {payload.data(), payload.size()}});
  BOOST_REQUIRE(msg);
  BOOST_CHECK_EQUAL(msg->get_as<note>(0).text, "via registry");
}

BOOST_AUTO_TEST_SUITE_END()
