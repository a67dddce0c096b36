#include "tao/protocol/frame_batch.hpp"

#include <cstring>

#include "tao/protocol/append_bytes.hpp"

namespace tao::protocol {

void frame_batch::clear() noexcept {
  buffers_.resize(1);
  buffers_[0].clear();
  entries_.clear();
  payload_bytes_ = 0;
  borrowed_ = 0;
  borrowing_ = false;
}

size_t frame_batch::retained_bytes() const noexcept {
  auto shared = buffers_.empty() ? 0 : buffers_[0].capacity();
  return shared + entries_.capacity() * sizeof(entry) + buffers_.capacity() * sizeof(byte_buffer);
}

void frame_batch::reserve_shared(size_t n) {
  if (borrowing_)
    return;
  auto& shared = buffers_[0];
  if (shared.capacity() - shared.size() < n)
    shared.reserve(shared.size() + n);
}

void frame_batch::copy_in(int32_t type, const char* data, size_t size) {
  auto& shared = buffers_[0];
  auto offset = shared.size();
  append_bytes(shared, data, size);
  entries_.push_back({type, 0, offset, size});
  payload_bytes_ += size;
}

void frame_batch::append_owned(int32_t type, byte_buffer&& payload) {
  auto size = payload.size();
  buffers_.push_back(std::move(payload));
  entries_.push_back({type, static_cast<uint32_t>(buffers_.size() - 1), 0, size});
  payload_bytes_ += size;
}

void frame_batch::append(frame_batch&& other) {
  if (other.empty())
    return;
  if (empty()) {
    *this = std::move(other);
    other.clear();
    return;
  }
  // Adopt other's buffers (its shared storage becomes an ordinary buffer)
  // and rebase its entries; no payload bytes are copied.
  auto base = static_cast<uint32_t>(buffers_.size());
  for (auto& buf : other.buffers_)
    buffers_.push_back(std::move(buf));
  for (auto e : other.entries_) {
    if (e.buffer != borrowed_buffer)
      e.buffer += base;
    entries_.push_back(e);
  }
  payload_bytes_ += other.payload_bytes_;
  borrowed_ += other.borrowed_;
  other.clear();
}

void frame_batch::own() {
  borrowing_ = false;
  if (borrowed_ == 0)
    return;
  size_t bytes = 0;
  for (const auto& e : entries_)
    if (e.buffer == borrowed_buffer)
      bytes += e.size;
  auto& shared = buffers_[0];
  shared.reserve(shared.size() + bytes);
  for (auto& e : entries_) {
    if (e.buffer != borrowed_buffer)
      continue;
    const auto* data = reinterpret_cast<const char*>(e.offset);
    auto offset = shared.size();
    append_bytes(shared, data, e.size);
    e.buffer = 0;
    e.offset = offset;
  }
  borrowed_ = 0;
}

} // namespace tao::protocol
