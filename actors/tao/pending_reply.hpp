#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>

#include <caf/actor.hpp>
#include <caf/error.hpp>

#include "tao/connection_ref.hpp"

namespace tao {

/// A reply a connection still owes its peer, to be written from anywhere
/// (another actor's answer, a computation on another thread): made by
/// `connection::defer()`. While one exists, the connection stays open for
/// it: a peer that half-closed gets it before our FIN, and a graceful close
/// waits for it, both bounded by the drain timeout. Write through it (any
/// number of frames), then let it go (`release()` or destruction).
///
/// Movable, not copyable; thread-safe to use from one thread at a time.
class pending_reply {
public:
  /// An empty token; writes fail with `errc::closed`.
  pending_reply() = default;

  /// Builds a token (used by the framework): `holds` counts the connection's
  /// pending replies and already includes this one; `connection_actor` is
  /// told when the last one is released.
  pending_reply(connection_ref conn, std::shared_ptr<std::atomic<uint32_t>> holds,
                caf::actor connection_actor) noexcept;

  pending_reply(pending_reply&& other) noexcept;

  pending_reply& operator=(pending_reply&& other) noexcept;

  pending_reply(const pending_reply&) = delete;

  pending_reply& operator=(const pending_reply&) = delete;

  /// Releases the connection if still held.
  ~pending_reply();

  /// True until released.
  explicit operator bool() const noexcept {
    return static_cast<bool>(holds_);
  }

  /// Writes `msg` as `connection_ref::write` does; accepted also while the
  /// connection waits for this reply to close. Fails with `errc::closed`
  /// once released (or if the drain timeout ended the wait), with
  /// `errc::would_block` above the high-water mark, or with the encoder's
  /// error.
  template <class T>
  caf::error write(const T& msg) const {
    if (!holds_)
      return released_error();
    return conn_.write(msg);
  }

  /// Writes one frame with a raw payload; see `write`.
  caf::error write_frame(int32_t type, std::string_view payload) const;

  /// The connection this reply belongs to.
  const connection_ref& ref() const noexcept {
    return conn_;
  }

  /// Lets the connection go: if this was its last pending reply and it is
  /// waiting to close, it closes now (after what was written). Idempotent.
  void release() noexcept;

private:
  static caf::error released_error();

  connection_ref conn_;
  std::shared_ptr<std::atomic<uint32_t>> holds_;
  caf::actor connection_actor_;
};

} // namespace tao
