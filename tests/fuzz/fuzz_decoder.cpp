// libFuzzer target: the incremental frame decoders (tlv, lp32, lp16 and a
// custom header codec using the generic virtual-reader decoder).
//
// Input: byte 0 picks the codec (low two bits) and a small or large limit
// (bit 7); byte 1 seeds the chunk sizes; the rest is the byte stream as a
// peer would send it. Invariants checked on every input:
// - the stream cut into chunks and the stream fed whole give the same
//   frames and the same verdict;
// - no frame exceeds the limit;
// - re-encoding the frames gives back exactly the bytes they came from, and
//   those plus `buffered()` account for every byte fed;
// - a failure is an oversized announcement at exactly that offset, and it
//   is sticky.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tao/protocol/byte_order.hpp"
#include "tao/protocol/codec.hpp"
#include "tao/protocol/error.hpp"

#include "fuzz_support.hpp"

namespace {

using tao::protocol::byte_buffer;
using tao::protocol::frame_batch;
using tao::protocol::frame_header;

/// A 5-byte header (int8 type, uint32 BE length) that uses the generic
/// decoder calling `read_header` virtually.
class custom_codec final : public tao::protocol::header_codec {
public:
  explicit custom_codec(uint32_t limit) noexcept : limit_(limit) {
  }
  std::string name() const override {
    return "custom";
  }
  uint32_t max_payload() const noexcept override {
    return limit_;
  }
  size_t header_size() const noexcept override {
    return 5;
  }
  caf::error write_header(char* out, int32_t type, uint32_t length) const override {
    if (type < -128 || type > 127)
      return make_error(tao::protocol::errc::unsupported_type, "type out of int8 range");
    out[0] = static_cast<char>(type);
    tao::protocol::store_be(out + 1, length, 4);
    return {};
  }
  frame_header read_header(const char* in) const noexcept override {
    return {static_cast<int8_t>(in[0]), tao::protocol::load_be(in + 1, 4)};
  }

private:
  uint32_t limit_;
};

struct frame {
  int32_t type;
  std::string payload;
  bool operator==(const frame& other) const {
    return type == other.type && payload == other.payload;
  }
};

struct outcome {
  std::vector<frame> frames;
  bool failed = false;
  size_t buffered = 0;
};

void collect(const frame_batch& batch, std::vector<frame>& out) {
  for (size_t i = 0; i < batch.size(); ++i)
    out.push_back({batch[i].type, std::string{batch[i].payload}});
}

outcome run(const tao::protocol::codec& codec, const char* data, size_t size, unsigned seed,
            bool chunked) {
  outcome result;
  auto dec = codec.make_decoder();
  tao::fuzz::chunker chunks{seed};
  size_t pos = 0;
  while (pos < size) {
    auto n = chunked ? chunks.next(size - pos) : size - pos;
    frame_batch batch;
    auto err = dec->feed(data + pos, n, batch);
    collect(batch, result.frames);
    if (err) {
      TAO_FUZZ_CHECK(is(err, tao::protocol::errc::oversized_frame),
                     "the only stream error is an oversized frame");
      frame_batch again;
      TAO_FUZZ_CHECK(dec->feed(data, size, again) && again.empty(), "a failure is sticky");
      result.failed = true;
      return result;
    }
    pos += n;
  }
  result.buffered = dec->buffered();
  return result;
}

std::unique_ptr<tao::protocol::header_codec> make_codec(uint8_t selector) {
  uint32_t limit = (selector & 0x80) != 0 ? 64 : 1u << 20;
  switch (selector % 4) {
  case 0:
    return std::make_unique<tao::protocol::tlv_codec>(limit);
  case 1:
    return std::make_unique<tao::protocol::length_prefixed_codec>(1, 4, limit);
  case 2:
    return std::make_unique<tao::protocol::length_prefixed_codec>(7, 2, limit);
  default:
    return std::make_unique<custom_codec>(limit);
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* raw, size_t size) {
  if (size < 2)
    return 0;
  auto codec = make_codec(raw[0]);
  unsigned seed = raw[1];
  auto* data = reinterpret_cast<const char*>(raw + 2);
  size -= 2;

  auto pieces = run(*codec, data, size, seed, true);
  auto whole = run(*codec, data, size, seed, false);
  TAO_FUZZ_CHECK(pieces.failed == whole.failed, "chunking does not change the verdict");
  TAO_FUZZ_CHECK(pieces.frames == whole.frames, "chunking does not change the frames");
  TAO_FUZZ_CHECK(pieces.buffered == whole.buffered, "chunking does not change what is held");

  byte_buffer encoded;
  for (const auto& f : whole.frames) {
    TAO_FUZZ_CHECK(f.payload.size() <= codec->max_payload(), "frames respect the limit");
    TAO_FUZZ_CHECK(!codec->encode(f.type, f.payload, encoded), "a decoded frame re-encodes");
  }
  TAO_FUZZ_CHECK(encoded.size() <= size, "frames never hold more bytes than were fed");
  TAO_FUZZ_CHECK(std::equal(encoded.begin(), encoded.end(), data),
                 "re-encoding gives back the bytes the frames came from");
  if (whole.failed) {
    TAO_FUZZ_CHECK(size - encoded.size() >= codec->header_size(),
                   "a failure follows a complete header");
    auto hdr = codec->read_header(data + encoded.size());
    TAO_FUZZ_CHECK(hdr.length > codec->max_payload(), "a failure is an oversized announcement");
  } else {
    TAO_FUZZ_CHECK(encoded.size() + whole.buffered == size,
                   "every byte fed is in a frame or held for the next one");
  }
  return 0;
}
