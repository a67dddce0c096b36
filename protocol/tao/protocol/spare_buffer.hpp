#pragma once

#include <cstddef>

#include "tao/protocol/frame.hpp"

namespace tao::protocol {

/// One spare byte buffer per thread, so that steady traffic does not
/// allocate an output buffer per write: a writer borrows the spare (with the
/// capacity a previous write left in it) and whoever consumes the bytes gives
/// the buffer back once they are gone (sent to the socket, say). Nothing is
/// ever shared between threads: a buffer given back on another thread than
/// it was borrowed on becomes that thread's spare.
///
/// Memory: at most one buffer of up to `spare_buffer_limit` bytes per thread;
/// larger buffers are freed when given back, so one large write is not kept
/// for ever.

/// Largest capacity a thread keeps in its spare buffer (64 KiB).
inline constexpr size_t spare_buffer_limit = 64 * 1024;

/// The calling thread's spare buffer, empty (it may have capacity); leaves
/// the thread without a spare until one is given back. Never throws.
byte_buffer take_spare_buffer() noexcept;

/// Makes `buf` the calling thread's spare (cleared) if it has capacity, at
/// most `spare_buffer_limit` bytes, and is larger than the current spare;
/// otherwise leaves `buf` to its owner. Never throws.
void give_back_buffer(byte_buffer&& buf) noexcept;

} // namespace tao::protocol
