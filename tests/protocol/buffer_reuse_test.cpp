#define BOOST_TEST_MODULE protocol_buffer_reuse
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include <boost/test/unit_test.hpp>

#include "tao/protocol/frame_batch.hpp"
#include "tao/protocol/message.hpp"
#include "tao/protocol/spare_buffer.hpp"

using namespace tao::protocol;

namespace {

struct point {
  static constexpr int32_t tao_type = 7;
  using tao_payload = inspect_payload;
  int32_t x = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, point& p) {
  return f(p.x);
}

struct ping {
  static constexpr int32_t tao_type = 3;
  using tao_payload = empty_payload;
};

struct view {
  static constexpr int32_t tao_type = 5;
  std::string_view bytes;
  using tao_payload = raw_view_payload<&view::bytes>;
};

struct blob {
  static constexpr int32_t tao_type = 4;
  byte_buffer bytes;
  using tao_payload = raw_payload<&blob::bytes>;
};

} // namespace

BOOST_AUTO_TEST_CASE(only_overwriting_codecs_decode_in_place) {
  BOOST_CHECK(decodes_in_place_v<text_message<1>>);
  BOOST_CHECK(decodes_in_place_v<ping>);
  BOOST_CHECK(!decodes_in_place_v<point>);
}

BOOST_AUTO_TEST_CASE(decoding_into_a_value_replaces_its_bytes_and_keeps_its_buffer) {
  text_message<1> x;
  caf::error err;
  BOOST_REQUIRE(decode_payload_into(x, std::string(500, 'a'), err));
  auto capacity = x.text.capacity();
  auto* storage = x.text.data();
  BOOST_REQUIRE(decode_payload_into(x, "short", err));
  BOOST_CHECK_EQUAL(x.text, "short");
  BOOST_CHECK_EQUAL(x.text.capacity(), capacity);
  BOOST_CHECK(x.text.data() == storage);
  BOOST_REQUIRE(decode_payload_into(x, "", err));
  BOOST_CHECK(x.text.empty());
  using codec = text_message<1>::tao_payload;
  BOOST_CHECK(codec::reusable(x));
  BOOST_REQUIRE(decode_payload_into(x, std::string(codec::reuse_limit + 1, 'b'), err));
  BOOST_CHECK(!codec::reusable(x));
  BOOST_CHECK(!err);
}

BOOST_AUTO_TEST_CASE(byte_buffer_members_decode_in_place_too) {
  blob x;
  caf::error err;
  BOOST_REQUIRE(decode_payload_into(x, "first", err));
  BOOST_REQUIRE(decode_payload_into(x, "2nd", err));
  BOOST_CHECK_EQUAL(std::string(x.bytes.begin(), x.bytes.end()), "2nd");
  BOOST_CHECK(!err);
}

BOOST_AUTO_TEST_CASE(view_payloads_point_at_the_frame_and_encode_like_raw_ones) {
  BOOST_CHECK(views_frame_v<view>);
  BOOST_CHECK(!views_frame_v<text_message<1>>);
  BOOST_CHECK(decodes_in_place_v<view>);
  std::string frame_bytes = "payload";
  view v;
  caf::error err;
  BOOST_REQUIRE(decode_payload_into(v, frame_bytes, err));
  BOOST_CHECK(v.bytes.data() == frame_bytes.data());
  BOOST_CHECK_EQUAL(v.bytes.size(), frame_bytes.size());
  tlv_codec codec;
  byte_buffer as_view;
  byte_buffer as_text;
  BOOST_REQUIRE(encode_message_into(codec, v, as_view, err));
  BOOST_REQUIRE(!encode_message(codec, text_message<5>{"payload"}, as_text));
  BOOST_CHECK(as_view == as_text);
  byte_buffer plain;
  BOOST_REQUIRE(!encode_payload(v, plain));
  BOOST_CHECK_EQUAL(std::string(plain.begin(), plain.end()), "payload");
  BOOST_CHECK(!err);
}

BOOST_AUTO_TEST_CASE(empty_payloads_still_refuse_bytes_in_place) {
  ping p;
  caf::error err;
  BOOST_CHECK(decode_payload_into(p, "", err));
  BOOST_CHECK(!err);
  BOOST_REQUIRE(!decode_payload_into(p, "x", err));
  BOOST_REQUIRE(err);
  BOOST_CHECK(static_cast<errc>(err.code()) == errc::malformed_payload);
}

BOOST_AUTO_TEST_CASE(a_spare_buffer_comes_back_empty_with_its_capacity) {
  // This thread may hold a spare from an earlier case: start from none.
  auto old = take_spare_buffer();
  byte_buffer buf(1000, 'x');
  auto* storage = buf.data();
  give_back_buffer(std::move(buf));
  auto again = take_spare_buffer();
  BOOST_CHECK(again.empty());
  BOOST_CHECK(again.data() == storage);
  BOOST_CHECK_GE(again.capacity(), 1000u);
  // Taken: the thread has no spare until one is given back.
  BOOST_CHECK_EQUAL(take_spare_buffer().capacity(), 0u);
}

BOOST_AUTO_TEST_CASE(a_spare_buffer_is_bounded_and_per_thread) {
  auto old = take_spare_buffer();
  byte_buffer large(spare_buffer_limit + 1);
  give_back_buffer(std::move(large));
  BOOST_CHECK_EQUAL(take_spare_buffer().capacity(), 0u);
  byte_buffer small(100);
  give_back_buffer(std::move(small));
  size_t elsewhere = 1;
  std::thread other{[&] {
    elsewhere = take_spare_buffer().capacity();
  }};
  other.join();
  BOOST_CHECK_EQUAL(elsewhere, 0u);
  BOOST_CHECK_GE(take_spare_buffer().capacity(), 100u);
}

BOOST_AUTO_TEST_CASE(a_cleared_batch_is_reusable_even_after_a_move) {
  frame_batch batch;
  batch.reserve_shared(64);
  batch.append_copy(1, "hello", 5);
  auto moved = std::move(batch);
  batch.clear();
  BOOST_CHECK(batch.empty());
  batch.reserve_shared(16);
  batch.append_copy(2, "again", 5);
  BOOST_REQUIRE_EQUAL(batch.size(), 1u);
  BOOST_CHECK_EQUAL(batch[0].type, 2);
  BOOST_CHECK_EQUAL(std::string(batch[0].payload.data(), batch[0].payload.size()), "again");
  BOOST_CHECK_EQUAL(moved.size(), 1u);
  auto kept = moved.retained_bytes();
  BOOST_CHECK_GE(kept, 64u);
  moved.clear();
  BOOST_CHECK_EQUAL(moved.retained_bytes(), kept);
}
