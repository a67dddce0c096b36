#define BOOST_TEST_MODULE protocol_decoder
#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "tao/protocol/byte_order.hpp"
#include "tao/protocol/codec.hpp"
#include "tao/protocol/error.hpp"

using namespace tao::protocol;

namespace {

struct expected_frame {
  int32_t type;
  std::string payload;
};

std::string frame(int32_t type, const std::string& payload) {
  byte_buffer out;
  BOOST_REQUIRE(!tlv_codec{}.encode(type, payload, out));
  return {out.begin(), out.end()};
}

std::string header(int32_t type, uint32_t length) {
  std::string result(8, '\0');
  store_le32(result.data(), static_cast<uint32_t>(type));
  store_le32(result.data() + 4, length);
  return result;
}

/// How `feed_cut` hands chunks to the decoder.
enum class chunk_mode {
  /// The batch copies what it keeps.
  copy,
  /// The batch borrows each chunk (as a broker's read does), owns its
  /// frames, and then the chunk is overwritten, as the next read would.
  borrow_then_own,
};

/// Feeds `bytes` cut at `cuts` (ascending offsets) and returns the frames.
std::vector<expected_frame> feed_cut(const std::string& bytes, const std::vector<size_t>& cuts,
                                     chunk_mode mode = chunk_mode::copy) {
  auto dec = tlv_codec{}.make_decoder();
  std::vector<expected_frame> result;
  size_t pos = 0;
  auto feed_to = [&](size_t end) {
    frame_batch batch;
    std::string chunk = bytes.substr(pos, end - pos);
    batch.set_borrowing(mode == chunk_mode::borrow_then_own);
    BOOST_REQUIRE(!dec->feed(chunk.data(), chunk.size(), batch));
    if (mode == chunk_mode::borrow_then_own) {
      batch.own();
      BOOST_CHECK(!batch.borrows());
    }
    std::fill(chunk.begin(), chunk.end(), 'X');
    for (size_t i = 0; i < batch.size(); ++i)
      result.push_back({batch[i].type, std::string{batch[i].payload}});
    pos = end;
  };
  for (auto cut : cuts)
    feed_to(cut);
  feed_to(bytes.size());
  BOOST_CHECK_EQUAL(dec->buffered(), 0u);
  return result;
}

const std::vector<expected_frame> sample{
  {1, "hi"}, {0, std::string(8, '\7')}, {-5, ""}, {1, std::string(300, 'x')}, {99, "tail"}};

std::string sample_bytes() {
  std::string result;
  for (auto& f : sample)
    result += frame(f.type, f.payload);
  return result;
}

void check_sample(const std::vector<expected_frame>& got) {
  BOOST_REQUIRE_EQUAL(got.size(), sample.size());
  for (size_t i = 0; i < got.size(); ++i) {
    BOOST_CHECK_EQUAL(got[i].type, sample[i].type);
    BOOST_CHECK(got[i].payload == sample[i].payload);
  }
}

} // namespace

BOOST_AUTO_TEST_CASE(whole_buffer_in_one_chunk) {
  check_sample(feed_cut(sample_bytes(), {}));
}

BOOST_AUTO_TEST_CASE(every_single_cut_point) {
  auto bytes = sample_bytes();
  for (size_t cut = 0; cut <= bytes.size(); ++cut)
    check_sample(feed_cut(bytes, {cut}));
}

BOOST_AUTO_TEST_CASE(every_pair_of_cut_points_around_frame_edges) {
  // All pairs would be ~80k runs; take every pair among the first 40 bytes
  // (headers, a heartbeat, an empty frame) plus a dense sample of the rest.
  auto bytes = sample_bytes();
  for (size_t a = 0; a <= 40; ++a)
    for (size_t b = a; b <= bytes.size(); b += (b < 60 ? 1 : 7))
      check_sample(feed_cut(bytes, {a, b}));
}

BOOST_AUTO_TEST_CASE(one_byte_at_a_time) {
  auto bytes = sample_bytes();
  std::vector<size_t> cuts;
  for (size_t i = 1; i < bytes.size(); ++i)
    cuts.push_back(i);
  check_sample(feed_cut(bytes, cuts));
}

BOOST_AUTO_TEST_CASE(random_chunkings_with_a_fixed_seed) {
  auto bytes = sample_bytes();
  std::mt19937 rng{42};
  for (int run = 0; run < 500; ++run) {
    std::vector<size_t> cuts;
    std::uniform_int_distribution<size_t> step{1, 64};
    for (size_t pos = step(rng); pos < bytes.size(); pos += step(rng))
      cuts.push_back(pos);
    check_sample(feed_cut(bytes, cuts));
  }
}

BOOST_AUTO_TEST_CASE(many_frames_per_chunk) {
  std::string bytes;
  for (int i = 0; i < 10'000; ++i)
    bytes += frame(i, std::to_string(i));
  auto got = feed_cut(bytes, {bytes.size() / 3});
  BOOST_REQUIRE_EQUAL(got.size(), 10'000u);
  for (int i = 0; i < 10'000; ++i) {
    BOOST_CHECK_EQUAL(got[static_cast<size_t>(i)].type, i);
    BOOST_CHECK_EQUAL(got[static_cast<size_t>(i)].payload, std::to_string(i));
  }
}

BOOST_AUTO_TEST_CASE(exactly_the_limit_is_accepted) {
  std::string payload(default_max_payload, 'm');
  auto bytes = frame(1, payload);
  auto got = feed_cut(bytes, {8, 65536, 1'000'000});
  BOOST_REQUIRE_EQUAL(got.size(), 1u);
  BOOST_CHECK(got[0].payload == payload);
}

BOOST_AUTO_TEST_CASE(one_more_than_the_limit_fails_on_the_header_alone) {
  auto dec = tlv_codec{}.make_decoder();
  frame_batch batch;
  auto hdr = header(1, default_max_payload + 1);
  auto err = dec->feed(hdr.data(), hdr.size(), batch);
  BOOST_CHECK(is(err, errc::oversized_frame));
  BOOST_CHECK(batch.empty());
  // The decoder stays failed: the stream cannot be resynchronised.
  auto next = frame(1, "ok");
  BOOST_CHECK(is(dec->feed(next.data(), next.size(), batch), errc::oversized_frame));
  BOOST_CHECK(batch.empty());
}

BOOST_AUTO_TEST_CASE(four_gib_length_is_rejected) {
  auto dec = tlv_codec{}.make_decoder();
  frame_batch batch;
  auto hdr = header(1, 0xFFFFFFFFu);
  BOOST_CHECK(is(dec->feed(hdr.data(), hdr.size(), batch), errc::oversized_frame));
}

BOOST_AUTO_TEST_CASE(frames_before_an_oversized_one_are_kept) {
  auto bytes = frame(1, "first") + header(2, 17);
  auto dec = tlv_codec{16}.make_decoder();
  frame_batch batch;
  auto err = dec->feed(bytes.data(), bytes.size(), batch);
  BOOST_CHECK(is(err, errc::oversized_frame));
  BOOST_REQUIRE_EQUAL(batch.size(), 1u);
  BOOST_CHECK_EQUAL(batch[0].payload, "first");
}

BOOST_AUTO_TEST_CASE(a_configured_small_limit_applies) {
  auto dec = tlv_codec{16}.make_decoder();
  frame_batch batch;
  auto ok = frame(1, std::string(16, 'a'));
  BOOST_CHECK(!dec->feed(ok.data(), ok.size(), batch));
  BOOST_CHECK_EQUAL(batch.size(), 1u);
}

BOOST_AUTO_TEST_CASE(buffered_reports_incomplete_frames) {
  auto dec = tlv_codec{}.make_decoder();
  frame_batch batch;
  auto bytes = frame(1, "hello");
  BOOST_CHECK_EQUAL(dec->buffered(), 0u);
  BOOST_REQUIRE(!dec->feed(bytes.data(), 3, batch));
  BOOST_CHECK_EQUAL(dec->buffered(), 3u);
  BOOST_REQUIRE(!dec->feed(bytes.data() + 3, 7, batch));
  BOOST_CHECK_EQUAL(dec->buffered(), 10u);
  BOOST_REQUIRE(!dec->feed(bytes.data() + 10, 3, batch));
  BOOST_CHECK_EQUAL(dec->buffered(), 0u);
  BOOST_CHECK_EQUAL(batch.size(), 1u);
}

BOOST_AUTO_TEST_CASE(borrowed_frames_survive_their_chunk_once_owned) {
  std::mt19937 rng{7};
  auto bytes = sample_bytes();
  for (int round = 0; round < 200; ++round) {
    std::vector<size_t> cuts;
    std::uniform_int_distribution<size_t> at{0, bytes.size()};
    for (int i = 0; i < 4; ++i)
      cuts.push_back(at(rng));
    std::sort(cuts.begin(), cuts.end());
    check_sample(feed_cut(bytes, cuts, chunk_mode::borrow_then_own));
  }
}

BOOST_AUTO_TEST_CASE(a_borrowing_batch_views_the_readers_bytes_until_owned) {
  auto dec = tlv_codec{}.make_decoder();
  auto bytes = frame(1, "aa") + frame(2, "bb") + frame(3, std::string(40, 'c'));
  frame_batch batch;
  batch.set_borrowing(true);
  // The third frame is cut: its payload is assembled (owned) by the decoder.
  BOOST_REQUIRE(!dec->feed(bytes.data(), 40, batch));
  BOOST_REQUIRE_EQUAL(batch.size(), 2u);
  BOOST_CHECK(batch.borrows());
  BOOST_CHECK(batch[0].payload.data() == bytes.data() + 8);
  BOOST_CHECK(batch[1].payload.data() == bytes.data() + 18);
  BOOST_REQUIRE(!dec->feed(bytes.data() + 40, bytes.size() - 40, batch));
  BOOST_REQUIRE_EQUAL(batch.size(), 3u);
  BOOST_CHECK_EQUAL(batch.payload_bytes(), 44u);
  // Appending to another batch keeps views and owned payloads apart.
  frame_batch front;
  front.append_copy(9, "zz", 2);
  front.append(std::move(batch));
  BOOST_CHECK(front.borrows());
  front.own();
  BOOST_CHECK(!front.borrows());
  std::fill(bytes.begin(), bytes.end(), 'X');
  BOOST_REQUIRE_EQUAL(front.size(), 4u);
  BOOST_CHECK_EQUAL(front[0].payload, "zz");
  BOOST_CHECK_EQUAL(front[1].payload, "aa");
  BOOST_CHECK_EQUAL(front[2].payload, "bb");
  BOOST_CHECK_EQUAL(front[3].payload, std::string(40, 'c'));
  BOOST_CHECK_EQUAL(front[2].type, 2);
  // `clear` ends borrowing: the next frames are copied.
  front.clear();
  std::string again = frame(4, "dd");
  BOOST_REQUIRE(!dec->feed(again.data(), again.size(), front));
  BOOST_CHECK(!front.borrows());
  BOOST_CHECK(front[0].payload.data() != again.data() + 8);
}

BOOST_AUTO_TEST_CASE(spanning_payloads_are_adopted_whole_ones_share_storage) {
  // Observable consequences of the one-copy design: a frame whole in a read
  // lies in the batch's shared storage next to its neighbours; a frame that
  // spans reads arrives in a buffer of its own.
  auto dec = tlv_codec{}.make_decoder();
  auto bytes = frame(1, "aa") + frame(1, "bb") + frame(1, std::string(100, 'c'));
  frame_batch first;
  BOOST_REQUIRE(!dec->feed(bytes.data(), 40, first));
  BOOST_REQUIRE_EQUAL(first.size(), 2u);
  BOOST_CHECK(first[0].payload.data() + 2 == first[1].payload.data());
  frame_batch second;
  BOOST_REQUIRE(!dec->feed(bytes.data() + 40, bytes.size() - 40, second));
  BOOST_REQUIRE_EQUAL(second.size(), 1u);
  BOOST_CHECK_EQUAL(second[0].payload, std::string(100, 'c'));
}
