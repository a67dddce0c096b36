#define BOOST_TEST_MODULE protocol_inspect_payload
#include <boost/test/unit_test.hpp>

// CAF `inspect` payloads from untrusted bytes: a sequence that announces
// more elements than the payload holds fails as malformed_payload before
// anything of that size is allocated (found by fuzz_payload: CAF 0.17
// resizes byte and bit vectors to the announced size first), and infinite
// floats are refused rather than hang CAF's packing loop. The global
// operator new is replaced to record the largest allocation.

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <new>
#include <string>
#include <vector>

#include "tao/protocol/codec.hpp"
#include "tao/protocol/error.hpp"
#include "tao/protocol/message.hpp"

namespace {

std::atomic<size_t> largest_allocation{0};

} // namespace

void* operator new(size_t n) {
  auto seen = largest_allocation.load();
  while (n > seen && !largest_allocation.compare_exchange_weak(seen, n)) {
  }
  if (auto* p = std::malloc(n == 0 ? 1 : n))
    return p;
  throw std::bad_alloc{};
}

// The replacement pair uses malloc and free, which GCC cannot tell.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpragmas"
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void operator delete(void* p) noexcept {
  std::free(p);
}

void operator delete(void* p, size_t) noexcept {
  std::free(p);
}

#pragma GCC diagnostic pop

namespace {

using tao::protocol::errc;

struct blob {
  static constexpr int32_t tao_type = 10;
  using tao_payload = tao::protocol::inspect_payload;
  std::vector<char> chars;
  std::vector<uint8_t> bytes;
  std::vector<bool> bits;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, blob& b) {
  return f(b.chars, b.bytes, b.bits);
}

struct empty {};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, empty&) {
  return f();
}

struct nothings {
  static constexpr int32_t tao_type = 11;
  using tao_payload = tao::protocol::inspect_payload;
  std::vector<empty> items;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, nothings& x) {
  return f(x.items);
}

struct reading {
  static constexpr int32_t tao_type = 12;
  using tao_payload = tao::protocol::inspect_payload;
  float f = 0;
  double d = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reading& x) {
  return f(x.f, x.d);
}

/// CAF's varbyte encoding of `n` (7 bits per byte, low first; CAF 0.17
/// reads at most 32 bits).
std::string varbyte(uint64_t n) {
  std::string out;
  do {
    auto b = static_cast<char>(n & 0x7f);
    n >>= 7;
    if (n != 0)
      b = static_cast<char>(b | 0x80);
    out.push_back(b);
  } while (n != 0);
  return out;
}

/// Decodes `payload` as `T` and returns the largest allocation made meanwhile.
template <class T>
size_t decode_expecting_malformed(const std::string& payload) {
  largest_allocation = 0;
  auto x = tao::protocol::decode_payload<T>(payload);
  auto peak = largest_allocation.load();
  BOOST_REQUIRE(!x);
  BOOST_CHECK(is(x.error(), errc::malformed_payload));
  return peak;
}

} // namespace

BOOST_AUTO_TEST_SUITE(protocol_inspect_payload)

BOOST_AUTO_TEST_CASE(well_formed_blobs_round_trip) {
  blob x{{'a', 'b'}, {1, 2, 3}, {true, false, true}};
  tao::protocol::byte_buffer out;
  BOOST_REQUIRE(!tao::protocol::encode_payload(x, out));
  auto y = tao::protocol::decode_payload<blob>({out.data(), out.size()});
  BOOST_REQUIRE(y);
  BOOST_CHECK(y->chars == x.chars);
  BOOST_CHECK(y->bytes == x.bytes);
  BOOST_CHECK(y->bits == x.bits);
}

BOOST_AUTO_TEST_CASE(announced_byte_sequences_allocate_nothing_large) {
  constexpr uint64_t announced = 256u << 20; // 256 MiB in a few bytes
  BOOST_CHECK_LT(decode_expecting_malformed<blob>(varbyte(announced) + "abc"), 4096u);
  BOOST_CHECK_LT(decode_expecting_malformed<blob>(varbyte(0) + varbyte(announced) + "abc"), 4096u);
  BOOST_CHECK_LT(
    decode_expecting_malformed<blob>(varbyte(0) + varbyte(0) + varbyte(announced) + "abc"), 4096u);
}

BOOST_AUTO_TEST_CASE(sequences_of_empty_elements_end_promptly) {
  // Without the bound this loops (and allocates) 2^31 times.
  BOOST_CHECK_LT(decode_expecting_malformed<nothings>(varbyte(uint64_t{1} << 31)), 4096u);
  // Short ones still decode.
  auto x = tao::protocol::decode_payload<nothings>(varbyte(3));
  BOOST_REQUIRE(x);
  BOOST_CHECK_EQUAL(x->items.size(), 0u + 3u);
}

// CAF 0.17 packs floats by halving until below 2: infinity never gets
// there, so encoding one hung the sender (found by fuzz_payload, which
// decoded an all-ones exponent as infinity and re-encoded it).
BOOST_AUTO_TEST_CASE(non_finite_floats_are_refused_both_ways) {
  const float inf = std::numeric_limits<float>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (auto x : {reading{inf, 0}, reading{-inf, 0}, reading{0, nan}, reading{0, -1.0 / 0.0}}) {
    tao::protocol::byte_buffer out{'k'};
    auto err = tao::protocol::encode_message(*tao::protocol::default_codec(), x, out);
    BOOST_CHECK(is(err, errc::malformed_payload));
    BOOST_CHECK_EQUAL(out.size(), 1u); // nothing of the frame is left
  }
  reading ok{1.5f, -0.25};
  tao::protocol::byte_buffer out;
  BOOST_REQUIRE(!tao::protocol::encode_payload(ok, out));
  BOOST_REQUIRE_EQUAL(out.size(), 12u);
  auto back = tao::protocol::decode_payload<reading>({out.data(), out.size()});
  BOOST_REQUIRE(back);
  BOOST_CHECK_EQUAL(back->f, 1.5f);
  BOOST_CHECK_EQUAL(back->d, -0.25);
  // An all-ones exponent, which CAF unpacks as infinity, is malformed.
  std::string all_ones{"\xff\xff\xff\xff"};
  all_ones.append(out.data() + 4, 8);
  BOOST_CHECK(!tao::protocol::decode_payload<reading>(all_ones));
  std::string double_inf{out.data(), 4};
  double_inf += std::string{"\x7f\xf0\0\0\0\0\0\0", 8};
  BOOST_CHECK(!tao::protocol::decode_payload<reading>(double_inf));
}

BOOST_AUTO_TEST_SUITE_END()
