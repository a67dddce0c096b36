// libFuzzer target: the frame decoder and the registry's decode path.
//
// The first input byte picks the codec (TLV, 4-byte or 2-byte length
// prefix); the next byte seeds the chunk sizes, so one input also explores
// how a stream is cut into reads. Every complete frame goes through a
// registry with a raw-text, a heartbeat, an inspect-payload and an
// empty-payload type. Nothing may crash, leak or trip a sanitizer; errors
// are fine.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "tao/protocol/codec.hpp"
#include "tao/protocol/heartbeat.hpp"
#include "tao/protocol/message.hpp"
#include "tao/protocol/registry.hpp"

namespace {

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

const tao::protocol::registry& the_registry() {
  static const auto reg = [] {
    tao::protocol::registry r;
    (void)r.add<tao::protocol::text_message<1>>();
    (void)r.add<tao::protocol::heartbeat>();
    (void)r.add<point>();
    (void)r.add<ping>();
    return r;
  }();
  return reg;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2)
    return 0;
  constexpr uint32_t limit = 1u << 20;
  std::unique_ptr<tao::protocol::codec> codec;
  switch (data[0] % 3) {
  case 0:
    codec = std::make_unique<tao::protocol::tlv_codec>(limit);
    break;
  case 1:
    codec = std::make_unique<tao::protocol::length_prefixed_codec>(1, 4, limit);
    break;
  default:
    codec = std::make_unique<tao::protocol::length_prefixed_codec>(7, 2, limit);
  }
  unsigned seed = data[1];
  data += 2;
  size -= 2;
  auto dec = codec->make_decoder();
  const auto& reg = the_registry();
  size_t pos = 0;
  while (pos < size) {
    seed = seed * 1103515245u + 12345u;
    size_t chunk = 1 + (seed >> 16) % 97;
    chunk = chunk > size - pos ? size - pos : chunk;
    tao::protocol::frame_batch batch;
    auto err = dec->feed(reinterpret_cast<const char*>(data + pos), chunk, batch);
    for (size_t i = 0; i < batch.size(); ++i)
      (void)reg.decode(batch[i]);
    if (err)
      break;
    pos += chunk;
  }
  (void)dec->buffered();
  return 0;
}
