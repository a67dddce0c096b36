#include "tao/protocol/header_decoder.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "tao/protocol/error.hpp"

namespace tao::protocol {

header_decoder::header_decoder(const header_codec& codec) noexcept
  : codec_(codec), header_size_(codec.header_size()), max_payload_(codec.max_payload()) {
}

size_t header_decoder::buffered() const noexcept {
  return in_payload_ ? partial_.size() + header_size_ : header_have_;
}

caf::error header_decoder::start_payload(const frame_header& hdr, const char*& pos, const char* end,
                                         frame_batch& out) {
  if (hdr.length > max_payload_) {
    failure_ =
      make_error(errc::oversized_frame, "frame of type " + std::to_string(hdr.type) + " announces "
                                          + std::to_string(hdr.length) + " bytes, the limit is "
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
  partial_.insert(partial_.end(), pos, end);
  pos = end;
  return {};
}

caf::error header_decoder::feed(const char* data, size_t size, frame_batch& out) {
  if (failure_)
    return failure_;
  out.reserve_shared(size);
  const char* pos = data;
  const char* end = data + size;
  while (pos != end) {
    if (in_payload_) {
      auto n = std::min(need_, static_cast<size_t>(end - pos));
      partial_.insert(partial_.end(), pos, pos + n);
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
      hdr = codec_.read_header(pos);
      pos += header_size_;
    } else {
      auto n = std::min(header_size_ - header_have_, static_cast<size_t>(end - pos));
      std::memcpy(header_ + header_have_, pos, n);
      header_have_ += n;
      pos += n;
      if (header_have_ < header_size_)
        break;
      header_have_ = 0;
      hdr = codec_.read_header(header_);
    }
    if (auto err = start_payload(hdr, pos, end, out))
      return err;
  }
  return {};
}

} // namespace tao::protocol
