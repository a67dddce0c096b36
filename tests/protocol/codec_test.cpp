#define BOOST_TEST_MODULE protocol_codec
#include <string>

#include <boost/test/unit_test.hpp>

#include "tao/protocol/codec.hpp"
#include "tao/protocol/error.hpp"
#include "tao/protocol/heartbeat.hpp"
#include "tao/protocol/message.hpp"

using namespace tao::protocol;

namespace {

std::string bytes(const byte_buffer& buf) {
  return {buf.begin(), buf.end()};
}

std::string hex(const byte_buffer& buf) {
  static const char* digits = "0123456789abcdef";
  std::string result;
  for (auto c : buf) {
    auto b = static_cast<unsigned char>(c);
    if (!result.empty())
      result += ' ';
    result += digits[b >> 4];
    result += digits[b & 0xF];
  }
  return result;
}

} // namespace

BOOST_AUTO_TEST_CASE(tao_golden_vector_type_1_hi) {
  byte_buffer out;
  BOOST_REQUIRE(!tlv_codec{}.encode(1, "hi", out));
  BOOST_CHECK_EQUAL(hex(out), "01 00 00 00 02 00 00 00 68 69");
}

BOOST_AUTO_TEST_CASE(negative_type_and_empty_payload) {
  byte_buffer out;
  BOOST_REQUIRE(!tlv_codec{}.encode(-1, "", out));
  BOOST_CHECK_EQUAL(hex(out), "ff ff ff ff 00 00 00 00");
}

BOOST_AUTO_TEST_CASE(heartbeat_is_type_0_with_int64_le) {
  byte_buffer out;
  BOOST_REQUIRE(!encode_message(tlv_codec{}, heartbeat{0x0102030405060708}, out));
  BOOST_CHECK_EQUAL(hex(out), "00 00 00 00 08 00 00 00 08 07 06 05 04 03 02 01");
  auto hb = decode_payload<heartbeat>(std::string_view{out.data() + 8, 8});
  BOOST_REQUIRE(hb);
  BOOST_CHECK_EQUAL(hb->timestamp, 0x0102030405060708);
  BOOST_CHECK(heartbeat::now().timestamp > 1'600'000'000'000'000'000);
}

BOOST_AUTO_TEST_CASE(frames_append_to_existing_bytes) {
  byte_buffer out{'x'};
  tlv_codec c;
  BOOST_REQUIRE(!c.encode(1, "a", out));
  BOOST_REQUIRE(!encode_message(c, text_message<2>{"bc"}, out));
  BOOST_CHECK_EQUAL(hex(out), "78 01 00 00 00 01 00 00 00 61 02 00 00 00 02 00 00 00 62 63");
}

BOOST_AUTO_TEST_CASE(encoding_more_than_the_limit_fails_and_leaves_the_buffer) {
  tlv_codec small{4};
  byte_buffer out{'k', 'e', 'e', 'p'};
  auto err = small.encode(1, "12345", out);
  BOOST_CHECK(is(err, errc::oversized_frame));
  BOOST_CHECK_EQUAL(bytes(out), "keep");
  BOOST_CHECK(!small.encode(1, "1234", out));
  BOOST_CHECK_EQUAL(out.size(), 4u + 8u + 4u);
}

BOOST_AUTO_TEST_CASE(default_codec_is_tlv_with_8_mib) {
  auto c = default_codec();
  BOOST_CHECK_EQUAL(c->name(), "tlv");
  BOOST_CHECK_EQUAL(c->max_payload(), 8u * 1024u * 1024u);
  BOOST_CHECK_EQUAL(default_max_payload, 1u << 23);
}

BOOST_AUTO_TEST_CASE(length_prefixed_codecs) {
  length_prefixed_codec lp32{7};
  length_prefixed_codec lp16{7, 2};
  byte_buffer out;
  BOOST_REQUIRE(!lp32.encode(7, "hi", out));
  BOOST_CHECK_EQUAL(hex(out), "00 00 00 02 68 69");
  out.clear();
  BOOST_REQUIRE(!lp16.encode(7, "hi", out));
  BOOST_CHECK_EQUAL(hex(out), "00 02 68 69");
  BOOST_CHECK_EQUAL(lp16.max_payload(), 0xFFFFu);
  BOOST_CHECK_EQUAL(lp32.name(), "lp32");
  // Only the configured type can be carried; a failed encode leaves nothing.
  out.clear();
  BOOST_CHECK(is(lp32.encode(8, "x", out), errc::unsupported_type));
  BOOST_CHECK(out.empty());
}

BOOST_AUTO_TEST_CASE(round_trips_through_every_codec) {
  tlv_codec tlv;
  length_prefixed_codec lp{3};
  for (const codec* c : {static_cast<const codec*>(&tlv), static_cast<const codec*>(&lp)}) {
    byte_buffer out;
    std::string big(100'000, 'z');
    BOOST_REQUIRE(!c->encode(3, "", out));
    BOOST_REQUIRE(!c->encode(3, "abc", out));
    BOOST_REQUIRE(!c->encode(3, big, out));
    auto dec = c->make_decoder();
    frame_batch batch;
    BOOST_REQUIRE(!dec->feed(out.data(), out.size(), batch));
    BOOST_REQUIRE_EQUAL(batch.size(), 3u);
    BOOST_CHECK_EQUAL(batch[0].payload, "");
    BOOST_CHECK_EQUAL(batch[1].payload, "abc");
    BOOST_CHECK_EQUAL(batch[2].payload, big);
    BOOST_CHECK_EQUAL(batch[2].type, 3);
    BOOST_CHECK_EQUAL(dec->buffered(), 0u);
  }
}

BOOST_AUTO_TEST_CASE(error_rendering) {
  BOOST_CHECK_EQUAL(render(make_error(errc::oversized_frame, "length 9 exceeds 8")),
                    "tao.oversized_frame: length 9 exceeds 8");
  BOOST_CHECK_EQUAL(render(make_error(errc::closed)), "tao.closed");
  BOOST_CHECK_EQUAL(render(caf::error{}), "none");
  BOOST_CHECK(is(make_error(errc::would_block), errc::would_block));
  BOOST_CHECK(!is(make_error(errc::would_block), errc::closed));
  BOOST_CHECK(!is(caf::error{}, errc::none));
  for (int i = 0; i <= static_cast<int>(errc::connect_timeout); ++i)
    BOOST_CHECK(std::string{to_string(static_cast<errc>(i))} != "unknown_error_code");
  // A tao error converts implicitly from its code.
  caf::error err = errc::unknown_type;
  BOOST_CHECK(is(err, errc::unknown_type));
}

BOOST_AUTO_TEST_CASE(tlv_fast_encode_writes_what_the_generic_path_writes) {
  tlv_codec c{16};
  for (std::string payload : {std::string{}, std::string{"abc"}, std::string(16, 'x')}) {
    byte_buffer fast{'p'};
    byte_buffer generic{'p'};
    BOOST_REQUIRE(!c.encode(-7, payload, fast));
    BOOST_REQUIRE(!c.codec::encode(-7, payload, generic));
    BOOST_CHECK(fast == generic);
  }
  byte_buffer fast{'p'};
  byte_buffer generic{'p'};
  auto a = c.encode(1, std::string(17, 'y'), fast);
  auto b = c.codec::encode(1, std::string(17, 'y'), generic);
  BOOST_CHECK(is(a, errc::oversized_frame));
  BOOST_CHECK_EQUAL(tao::protocol::render(a), tao::protocol::render(b));
  BOOST_CHECK(fast == generic);
}
