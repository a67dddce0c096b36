#pragma once

#include <cstddef>

#include <caf/error.hpp>

#include "tao/protocol/frame_batch.hpp"

namespace tao::protocol {

/// Incremental frame decoder: cuts frames out of a byte stream delivered in
/// arbitrary chunks. One decoder per connection and direction; decoders are
/// created by a `codec`.
///
/// Not thread-safe: a decoder belongs to the single actor that reads the
/// connection.
class decoder {
public:
  virtual ~decoder();

  /// Consumes all `size` bytes at `data` and appends every frame they
  /// complete to `out`, in order. Bytes of an incomplete frame are kept for
  /// the next call. Returns an error (e.g. `errc::oversized_frame`) when the
  /// stream is corrupt; frames completed before the corruption are still in
  /// `out`, and every later call returns the same error (the stream cannot be
  /// resynchronised).
  virtual caf::error feed(const char* data, size_t size, frame_batch& out) = 0;

  /// Number of bytes held for a frame not yet complete (0 at a frame boundary).
  /// A non-zero value when the peer closes means a truncated frame.
  virtual size_t buffered() const noexcept = 0;
};

} // namespace tao::protocol
