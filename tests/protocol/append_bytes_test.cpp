#define BOOST_TEST_MODULE protocol_append_bytes
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "tao/protocol/append_bytes.hpp"
#include "tao/protocol/codec.hpp"
#include "tao/protocol/frame_batch.hpp"

using namespace tao::protocol;

namespace {

constexpr size_t page = 4096;

/// A source area of several pages filled with a pattern that differs at
/// every position of a copy, so a misplaced or missing piece shows.
struct source_area {
  std::vector<char> bytes = std::vector<char>(4 * page + 64 * 1024);

  source_area() {
    for (size_t i = 0; i < bytes.size(); ++i)
      bytes[i] = static_cast<char>((i * 131 + i / 251) & 0xff);
  }

  /// A pointer into the area such that `dst` lies `distance` bytes after
  /// it modulo 4 KiB, with at least `n` bytes after it.
  const char* at_distance(const void* dst, size_t distance, size_t n) const {
    auto d = reinterpret_cast<uintptr_t>(dst);
    auto base = reinterpret_cast<uintptr_t>(bytes.data());
    auto offset = (d - distance - base) & (page - 1);
    BOOST_REQUIRE(offset + n <= bytes.size());
    return bytes.data() + offset;
  }
};

/// Appends `n` bytes whose copy lands `distance` bytes after the source
/// modulo 4 KiB behind a prefix of `prefix` bytes, and checks every byte;
/// `pieces` forces the piecewise copy, which this host may not choose.
template <class Buffer>
void check_append(const source_area& area, size_t prefix, size_t distance, size_t n, bool pieces) {
  Buffer out;
  out.reserve(prefix + n);
  out.assign(prefix, 'p');
  const auto* src = area.at_distance(out.data() + prefix, distance, n);
  BOOST_CHECK_EQUAL(copy_would_alias(out.data() + prefix, src, n), n > copy_piece && distance < 64);
  if (pieces)
    detail::append_in_steps(out, src, n, copy_piece);
  else
    append_bytes(out, src, n);
  BOOST_REQUIRE_EQUAL(out.size(), prefix + n);
  BOOST_CHECK(std::string_view(out.data(), prefix) == std::string(prefix, 'p'));
  BOOST_CHECK_MESSAGE(std::string_view(out.data() + prefix, n) == std::string_view(src, n),
                      "copy of " << n << " bytes at distance " << distance << " after " << prefix
                                 << " bytes differs");
}

} // namespace

BOOST_AUTO_TEST_CASE(alias_predicate_marks_large_copies_just_after_their_source) {
  alignas(64) static char area[3 * page];
  const char* src = area + 100;
  BOOST_CHECK(copy_would_alias(src + 8, src, 4096));
  BOOST_CHECK(copy_would_alias(src + page + 31, src, 3000));
  BOOST_CHECK(copy_would_alias(src + 63, src, copy_piece + 1));
  BOOST_CHECK(copy_would_alias(src, src, 8192));
  BOOST_CHECK(!copy_would_alias(src + 64, src, 4096));
  BOOST_CHECK(!copy_would_alias(src + 8, src, copy_piece));
  BOOST_CHECK(!copy_would_alias(src - 8, src, 4096));
  BOOST_CHECK(!copy_would_alias(src + 2048, src, 4096));
}

BOOST_AUTO_TEST_CASE(the_host_decision_is_measured_once_and_kept) {
  bool first = aliased_copy_is_slow();
  BOOST_TEST_MESSAGE("aliased copies are " << (first ? "slow" : "fast") << " on this host");
  for (int i = 0; i < 3; ++i)
    BOOST_CHECK_EQUAL(aliased_copy_is_slow(), first);
}

BOOST_AUTO_TEST_CASE(vector_appends_are_exact_at_every_distance_and_size) {
  source_area area;
  for (size_t n : {size_t{1}, size_t{64}, copy_piece - 1, copy_piece, copy_piece + 1, size_t{3000},
                   size_t{4096}, size_t{4097}, size_t{6144 + 5}, size_t{65536}})
    for (size_t distance : {size_t{0}, size_t{1}, size_t{8}, size_t{31}, size_t{63}, size_t{64},
                            size_t{2048}, size_t{4095}})
      for (size_t prefix : {size_t{0}, size_t{8}, size_t{13}})
        for (bool pieces : {false, true})
          check_append<byte_buffer>(area, prefix, distance, n, pieces);
}

BOOST_AUTO_TEST_CASE(string_appends_are_exact_at_every_distance_and_size) {
  source_area area;
  for (size_t n : {size_t{5}, size_t{64}, copy_piece, copy_piece + 1, size_t{4096}, size_t{10000}})
    for (size_t distance : {size_t{0}, size_t{8}, size_t{40}, size_t{100}})
      for (size_t prefix : {size_t{0}, size_t{8}})
        for (bool pieces : {false, true})
          check_append<std::string>(area, prefix, distance, n, pieces);
}

BOOST_AUTO_TEST_CASE(appends_grow_geometrically_and_keep_earlier_bytes) {
  source_area area;
  byte_buffer out;
  std::string expected;
  size_t reallocations = 0;
  for (size_t i = 0; i < 200; ++i) {
    size_t n = 1 + (i * 977) % 5000;
    const char* src = area.bytes.data() + (i * 37) % page;
    auto before = out.capacity();
    append_bytes(out, src, n);
    reallocations += out.capacity() != before;
    expected.append(src, n);
  }
  BOOST_CHECK(std::string_view(out.data(), out.size()) == expected);
  BOOST_CHECK_LT(reallocations, 20u);
  append_bytes(out, area.bytes.data(), 0);
  BOOST_CHECK_EQUAL(out.size(), expected.size());
}

BOOST_AUTO_TEST_CASE(tlv_round_trip_of_a_payload_that_aliases_its_frame) {
  // The encoder's own worst case: the payload has the page offset of the
  // output buffer, so it lands 8 bytes after its source.
  source_area area;
  tlv_codec codec;
  byte_buffer out;
  out.reserve(64 * 1024);
  const size_t n = 4096;
  const char* src = area.at_distance(out.data() + tlv_header_size, tlv_header_size, n);
  BOOST_REQUIRE(copy_would_alias(out.data() + tlv_header_size, src, n));
  BOOST_REQUIRE(!codec.encode(9, std::string_view(src, n), out));
  BOOST_REQUIRE_EQUAL(out.size(), tlv_header_size + n);
  auto whole = codec.make_decoder();
  frame_batch frames;
  BOOST_REQUIRE(!whole->feed(out.data(), out.size(), frames));
  BOOST_REQUIRE_EQUAL(frames.size(), 1u);
  BOOST_CHECK_EQUAL(frames[0].type, 9);
  BOOST_CHECK(frames[0].payload == std::string_view(src, n));
  // In two reads the decoder gathers the payload in its partial buffer.
  auto split = codec.make_decoder();
  frame_batch held;
  BOOST_REQUIRE(!split->feed(out.data(), 100, held));
  BOOST_CHECK_EQUAL(held.size(), 0u);
  BOOST_REQUIRE(!split->feed(out.data() + 100, out.size() - 100, held));
  BOOST_REQUIRE_EQUAL(held.size(), 1u);
  BOOST_CHECK(held[0].payload == std::string_view(src, n));
}
