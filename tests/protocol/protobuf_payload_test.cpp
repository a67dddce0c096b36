#define BOOST_TEST_MODULE protocol_protobuf_payload
#include <boost/test/unit_test.hpp>

// Protocol Buffers payloads: the frame carries the message's wire format,
// byte for byte, and bad bytes are a clean malformed_payload.

#include <string>

#include "tao/protocol/codec.hpp"
#include "tao/protocol/message.hpp"
#include "tao/protocol/registry.hpp"

#include "chat_line.hpp"

using tao::protocol::byte_buffer;
using tao::protocol::errc;

BOOST_AUTO_TEST_SUITE(protocol_protobuf_payload)

BOOST_AUTO_TEST_CASE(frames_carry_the_protobuf_wire_format) {
  tao_example::ChatLine line;
  line.set_author("a");
  line.set_text("hi");
  line.set_sequence(7);
  byte_buffer frame;
  BOOST_REQUIRE(!tao::protocol::encode_message(*tao::protocol::default_codec(), line, frame));
  // type 2, length 9, then field 1 "a", field 2 "hi", field 3 varint 7.
  const std::string expected{"\x02\0\0\0\x09\0\0\0"
                             "\x0a\x01"
                             "a"
                             "\x12\x02"
                             "hi"
                             "\x18\x07",
                             17};
  BOOST_CHECK(std::string(frame.data(), frame.size()) == expected);
  auto back = tao::protocol::decode_payload<tao_example::ChatLine>(
    std::string_view{frame.data() + 8, frame.size() - 8});
  BOOST_REQUIRE(back);
  BOOST_CHECK_EQUAL(back->author(), "a");
  BOOST_CHECK_EQUAL(back->text(), "hi");
  BOOST_CHECK_EQUAL(back->sequence(), 7u);
}

BOOST_AUTO_TEST_CASE(empty_messages_and_bad_bytes) {
  auto empty = tao::protocol::decode_payload<tao_example::ChatLine>({});
  BOOST_REQUIRE(empty);
  BOOST_CHECK(empty->text().empty());
  // Field 2 announces 100 bytes, 1 follows.
  auto bad = tao::protocol::decode_payload<tao_example::ChatLine>(std::string_view{"\x12\x64x", 3});
  BOOST_REQUIRE(!bad);
  BOOST_CHECK(tao::protocol::is(bad.error(), errc::malformed_payload));
  BOOST_CHECK(tao::protocol::render(bad.error()).find("tao_example.ChatLine") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(registered_like_any_message_type) {
  tao::protocol::registry reg;
  BOOST_REQUIRE(!reg.add<tao_example::ChatLine>());
  BOOST_CHECK(reg.contains(2));
  auto msg = reg.decode(tao::protocol::frame_view{2, std::string_view{"\x12\x02ok", 4}});
  BOOST_REQUIRE(msg);
  BOOST_REQUIRE(msg->match_elements<tao_example::ChatLine>());
  BOOST_CHECK_EQUAL(msg->get_as<tao_example::ChatLine>(0).text(), "ok");
}

BOOST_AUTO_TEST_SUITE_END()
