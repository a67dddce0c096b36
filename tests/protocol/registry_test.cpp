#define BOOST_TEST_MODULE protocol_registry
#include <stdexcept>
#include <string>

#include <boost/test/unit_test.hpp>
#include <caf/message.hpp>

#include "tao/protocol/error.hpp"
#include "tao/protocol/frame_batch.hpp"
#include "tao/protocol/heartbeat.hpp"
#include "tao/protocol/message.hpp"
#include "tao/protocol/registry.hpp"

using namespace tao::protocol;

namespace {

struct point {
  static constexpr int32_t tao_type = 7;
  using tao_payload = inspect_payload;
  int32_t x = 0;
  int32_t y = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, point& p) {
  return f(p.x, p.y);
}

struct ping {
  static constexpr int32_t tao_type = 8;
  using tao_payload = empty_payload;
};

struct throwing_payload {
  template <class T>
  static caf::error encode(const T&, byte_buffer&) {
    return {};
  }
  template <class T>
  static caf::error decode(T&, std::string_view) {
    throw std::runtime_error("boom");
  }
};

struct exploding {
  static constexpr int32_t tao_type = 9;
  using tao_payload = throwing_payload;
};

using chat = text_message<1>;

byte_buffer payload_of(const point& p) {
  byte_buffer out;
  BOOST_REQUIRE(!encode_payload(p, out));
  return out;
}

} // namespace

BOOST_AUTO_TEST_CASE(decodes_registered_types_into_messages) {
  registry reg;
  BOOST_REQUIRE(!reg.add<chat>("chat"));
  BOOST_REQUIRE(!reg.add<heartbeat>());
  BOOST_REQUIRE(!reg.add<point>());
  auto msg = reg.decode({1, "hello"});
  BOOST_REQUIRE(msg);
  BOOST_REQUIRE(msg->match_elements<chat>());
  BOOST_CHECK_EQUAL(msg->get_as<chat>(0).text, "hello");
  auto buf = payload_of(point{3, -4});
  auto pt = reg.decode({7, {buf.data(), buf.size()}});
  BOOST_REQUIRE(pt);
  BOOST_CHECK_EQUAL(pt->get_as<point>(0).y, -4);
  BOOST_CHECK_EQUAL(reg.size(), 3u);
  BOOST_CHECK(reg.types() == (std::vector<int32_t>{0, 1, 7}));
  BOOST_CHECK_EQUAL(reg.find(1)->name, "chat");
  BOOST_CHECK_EQUAL(reg.find(0)->name, "type 0");
}

BOOST_AUTO_TEST_CASE(duplicates_are_refused_and_leave_the_registry_unchanged) {
  registry reg;
  BOOST_REQUIRE(!reg.add<chat>("chat"));
  auto err = reg.add<text_message<1>>("again");
  BOOST_CHECK(is(err, errc::duplicate_registration));
  BOOST_CHECK_EQUAL(reg.size(), 1u);
  BOOST_CHECK_EQUAL(reg.find(1)->name, "chat");
}

BOOST_AUTO_TEST_CASE(runtime_entries_need_a_decoder) {
  registry reg;
  BOOST_CHECK(is(reg.add(message_info{5, "x", {}}), errc::invalid_argument));
  BOOST_CHECK(!reg.contains(5));
}

BOOST_AUTO_TEST_CASE(unknown_types_are_reported_not_fatal) {
  registry reg;
  auto msg = reg.decode({42, "?"});
  BOOST_REQUIRE(!msg);
  BOOST_CHECK(is(msg.error(), errc::unknown_type));
}

BOOST_AUTO_TEST_CASE(malformed_payloads) {
  registry reg;
  BOOST_REQUIRE(!reg.add<heartbeat>());
  BOOST_REQUIRE(!reg.add<point>());
  BOOST_REQUIRE(!reg.add<ping>());
  BOOST_REQUIRE(!reg.add<exploding>());
  // A heartbeat is exactly 8 bytes.
  BOOST_CHECK(is(reg.decode({0, "1234567"}).error(), errc::malformed_payload));
  BOOST_CHECK(is(reg.decode({0, "123456789"}).error(), errc::malformed_payload));
  // Truncated and over-long inspect payloads.
  auto buf = payload_of(point{1, 2});
  BOOST_CHECK(is(reg.decode({7, {buf.data(), buf.size() - 1}}).error(), errc::malformed_payload));
  buf.push_back('!');
  BOOST_CHECK(is(reg.decode({7, {buf.data(), buf.size()}}).error(), errc::malformed_payload));
  // Empty payload messages accept only empty payloads.
  BOOST_CHECK(reg.decode({8, ""}));
  BOOST_CHECK(is(reg.decode({8, "x"}).error(), errc::malformed_payload));
  // A throwing decoder is contained.
  auto thrown = reg.decode({9, "x"});
  BOOST_REQUIRE(!thrown);
  BOOST_CHECK(is(thrown.error(), errc::malformed_payload));
  BOOST_CHECK(render(thrown.error()).find("boom") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(frame_batches_merge_without_losing_order) {
  frame_batch a;
  a.reserve_shared(16);
  a.append_copy(1, "one", 3);
  a.append_owned(2, byte_buffer{'t', 'w', 'o'});
  frame_batch b;
  b.append_copy(3, "three", 5);
  a.append(std::move(b));
  BOOST_CHECK(b.empty());
  BOOST_REQUIRE_EQUAL(a.size(), 3u);
  BOOST_CHECK_EQUAL(a[0].payload, "one");
  BOOST_CHECK_EQUAL(a[1].payload, "two");
  BOOST_CHECK_EQUAL(a[2].payload, "three");
  BOOST_CHECK_EQUAL(a[2].type, 3);
  BOOST_CHECK_EQUAL(a.payload_bytes(), 11u);
  a.clear();
  BOOST_CHECK(a.empty());
  BOOST_CHECK_EQUAL(a.payload_bytes(), 0u);
  frame_batch c;
  c.append(std::move(a));
  BOOST_CHECK(c.empty());
}
