#pragma once

#include <cstddef>

#include <caf/error.hpp>

#include "tao/protocol/codec.hpp"
#include "tao/protocol/decoder.hpp"

namespace tao::protocol {

/// Incremental decoder for any `header_codec`.
///
/// Memory: a frame found whole within one chunk is copied once into the
/// batch's shared storage (reserved for the chunk before parsing); a frame
/// that spans chunks is assembled once in a buffer reserved to its announced
/// length (after the length was checked against the limit) and then moved
/// into the batch. Header bytes split across chunks are staged in a 16-byte
/// array. An oversized length is rejected before anything is allocated.
class header_decoder final : public decoder {
public:
  /// A decoder for `codec`, which must outlive it.
  explicit header_decoder(const header_codec& codec) noexcept;

  caf::error feed(const char* data, size_t size, frame_batch& out) override;

  size_t buffered() const noexcept override;

private:
  caf::error start_payload(const frame_header& hdr, const char*& pos, const char* end,
                           frame_batch& out);

  const header_codec& codec_;
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
