#pragma once

// A pass-through codec for pingpong benchmarks, in bench code only: every
// read becomes one frame of type 1 holding exactly the bytes read, and
// writing a frame writes its payload with no header. Framing is gone, so a
// tao echo handler becomes muduo's raw echo server.

#include <memory>
#include <string>

#include "tao/protocol/codec.hpp"

namespace tao::bench {

/// Decoder half of `raw_codec`: one frame per chunk, nothing ever buffered.
class raw_decoder final : public protocol::decoder {
public:
  caf::error feed(const char* data, size_t size, protocol::frame_batch& out) override {
    out.reserve_shared(size);
    out.append_copy(1, data, size);
    return {};
  }

  size_t buffered() const noexcept override {
    return 0;
  }
};

/// Unframed bytes as type-1 frames (see the file comment).
class raw_codec final : public protocol::codec {
public:
  std::string name() const override {
    return "raw";
  }

  std::unique_ptr<protocol::decoder> make_decoder() const override {
    return std::make_unique<raw_decoder>();
  }

  uint32_t max_payload() const noexcept override {
    return protocol::default_max_payload;
  }

  size_t begin_frame(protocol::byte_buffer& out) const override {
    return out.size();
  }

  caf::error end_frame(int32_t, protocol::byte_buffer&, size_t) const override {
    return {};
  }
};

} // namespace tao::bench
