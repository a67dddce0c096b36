#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>

#include "tao/protocol/frame.hpp"

namespace tao::protocol {

/// The frames cut out of one or more reads, in arrival order, ready to be
/// handed over in one message (one hop per batch instead of one per frame).
///
/// Memory: payloads that arrive whole within one read are copied once into a
/// shared storage buffer that the decoder reserves up front (so it never
/// reallocates while frames are appended); a payload that spans reads is
/// assembled once in a buffer of its own, which the batch then adopts by move.
/// Either way each payload byte is copied exactly once on the way in.
///
/// Borrowing: a reader that hands the batch to a consumer running in the
/// same call (inline dispatch) may `set_borrowing(true)`; `append_copy` then
/// records a view of the caller's bytes instead of copying them, so frames
/// go from the read buffer to their handler without a copy. Such a batch is
/// valid only while the read buffer is; whoever keeps it beyond the call
/// must call `own()` first (`borrows()` says whether it has to).
///
/// Not thread-safe; a batch is a value that is moved between actors.
class frame_batch {
public:
  /// Number of frames.
  size_t size() const noexcept {
    return entries_.size();
  }

  /// True if the batch holds no frame.
  bool empty() const noexcept {
    return entries_.empty();
  }

  /// The `i`-th frame; `i < size()`. The view lives as long as the batch
  /// is neither modified nor destroyed.
  frame_view operator[](size_t i) const noexcept {
    const auto& e = entries_[i];
    if (e.buffer == borrowed_buffer)
      return {e.type, {reinterpret_cast<const char*>(e.offset), e.size}};
    return {e.type, {buffers_[e.buffer].data() + e.offset, e.size}};
  }

  /// Total payload bytes of all frames.
  size_t payload_bytes() const noexcept {
    return payload_bytes_;
  }

  /// Removes all frames, keeping the shared storage's capacity. Also makes
  /// a moved-from batch usable again.
  void clear() noexcept;

  /// Bytes of memory the batch keeps after `clear`: its shared storage and
  /// frame index. A reader that recycles batches bounds what it keeps by it.
  size_t retained_bytes() const noexcept;

  /// Ensures that `n` more payload bytes fit into the shared storage without
  /// reallocation. Decoders call this with the size of a read before
  /// appending the frames found in it.
  void reserve_shared(size_t n);

  /// Appends a frame whose payload is copied from `data`. The bytes go into
  /// the shared storage; call `reserve_shared` first to avoid reallocation.
  /// While borrowing, records a view of `data` instead (inline: it runs for
  /// every frame of a plain TCP read).
  void append_copy(int32_t type, const char* data, size_t size) {
    if (!borrowing_) {
      copy_in(type, data, size);
      return;
    }
    entries_.push_back(
      {type, borrowed_buffer, static_cast<size_t>(reinterpret_cast<uintptr_t>(data)), size});
    payload_bytes_ += size;
    ++borrowed_;
  }

  /// Appends a frame whose payload buffer is adopted without copying.
  void append_owned(int32_t type, byte_buffer&& payload);

  /// Appends every frame of `other`, which is left empty. Frames `other`
  /// borrows stay borrowed.
  void append(frame_batch&& other);

  /// Makes `append_copy` record views of the caller's bytes (true) or copy
  /// them (false, the default; `clear` resets it).
  void set_borrowing(bool on) noexcept {
    borrowing_ = on;
  }

  /// True if some frames are views of bytes the batch does not own.
  bool borrows() const noexcept {
    return borrowed_ > 0;
  }

  /// Copies the payloads of borrowed frames into the batch's own storage
  /// (once, in one reservation) and stops borrowing: afterwards the batch
  /// may be kept, moved to another actor or modified. No-op for a batch
  /// that owns everything.
  void own();

private:
  /// `append_copy` without borrowing.
  void copy_in(int32_t type, const char* data, size_t size);

  struct entry {
    int32_t type;
    uint32_t buffer;
    size_t offset;
    size_t size;
  };

  // buffers_[0] is the shared storage; further buffers are adopted payloads.
  std::vector<byte_buffer> buffers_{1};
  /// `entry::buffer` of a borrowed frame, whose `offset` is its address.
  static constexpr uint32_t borrowed_buffer = ~uint32_t{0};
  std::vector<entry> entries_;
  size_t payload_bytes_ = 0;
  /// Number of borrowed frames.
  size_t borrowed_ = 0;
  bool borrowing_ = false;
};

} // namespace tao::protocol

// A batch travels only between actors of one process (broker to handler
// actor); it is never serialized.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tao::protocol::frame_batch)
