#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string>

#include <caf/error.hpp>

#include "tao/protocol/append_bytes.hpp"
#include "tao/protocol/decoder.hpp"
#include "tao/protocol/error.hpp"
#include "tao/protocol/frame.hpp"

namespace tao::protocol {

/// Incremental decoder for framings with a fixed-size header. `Reader` is a
/// small copyable function object `frame_header(const char*)` that reads one
/// header; the decoder owns its copy, so it never refers back to the codec
/// that created it.
///
/// Memory: a frame found whole within one chunk is copied once into the
/// batch's shared storage (reserved for the chunk before parsing); a frame
/// that spans chunks is assembled once in a buffer reserved to its announced
/// length (after the length was checked against the limit) and then moved
/// into the batch. Header bytes split across chunks are staged in a 16-byte
/// array. An oversized length is rejected before anything is allocated.
template <class Reader>
class basic_header_decoder final : public decoder {
public:
  /// A decoder for headers of `header_size` bytes (1..16) read by `reader`,
  /// rejecting payloads above `max_payload`.
  basic_header_decoder(Reader reader, size_t header_size, uint32_t max_payload) noexcept
    : reader_(std::move(reader)), header_size_(std::min<size_t>(header_size, 16)),
      max_payload_(max_payload) {
  }

  caf::error feed(const char* data, size_t size, frame_batch& out) override {
    if (failure_)
      return failure_;
    out.reserve_shared(size);
    const char* pos = data;
    const char* end = data + size;
    while (pos != end) {
      if (in_payload_) {
        auto n = std::min(need_, static_cast<size_t>(end - pos));
        append_bytes(partial_, pos, n);
        pos += n;
        need_ -= n;
        if (need_ == 0) {
          in_payload_ = false;
          out.append_owned(type_, std::move(partial_));
          partial_ = byte_buffer{};
        }
        continue;
      }
      frame_header hdr;
      if (header_have_ == 0 && static_cast<size_t>(end - pos) >= header_size_) {
        hdr = reader_(pos);
        pos += header_size_;
      } else {
        auto n = std::min(header_size_ - header_have_, static_cast<size_t>(end - pos));
        std::memcpy(header_ + header_have_, pos, n);
        header_have_ += n;
        pos += n;
        if (header_have_ < header_size_)
          break;
        header_have_ = 0;
        hdr = reader_(header_);
      }
      if (auto err = start_payload(hdr, pos, end, out))
        return err;
    }
    return {};
  }

  size_t buffered() const noexcept override {
    return in_payload_ ? partial_.size() + header_size_ : header_have_;
  }

private:
  caf::error start_payload(const frame_header& hdr, const char*& pos, const char* end,
                           frame_batch& out) {
    if (hdr.length > max_payload_) {
      failure_ = make_error(errc::oversized_frame, "frame of type " + std::to_string(hdr.type)
                                                     + " announces " + std::to_string(hdr.length)
                                                     + " bytes, the limit is "
                                                     + std::to_string(max_payload_));
      return failure_;
    }
    auto avail = static_cast<size_t>(end - pos);
    if (avail >= hdr.length) {
      // Fast path: the whole payload is in this chunk.
      out.append_copy(hdr.type, pos, hdr.length);
      pos += hdr.length;
      return {};
    }
    // The payload spans chunks: assemble it once in its own buffer.
    in_payload_ = true;
    type_ = hdr.type;
    need_ = hdr.length - avail;
    partial_.clear();
    partial_.reserve(hdr.length);
    append_bytes(partial_, pos, static_cast<size_t>(end - pos));
    pos = end;
    return {};
  }

  Reader reader_;
  size_t header_size_;
  uint32_t max_payload_;
  char header_[16];
  size_t header_have_ = 0;
  bool in_payload_ = false;
  int32_t type_ = 0;
  size_t need_ = 0;
  byte_buffer partial_;
  caf::error failure_;
};

} // namespace tao::protocol
