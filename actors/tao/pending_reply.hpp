#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/error.hpp>

#include "tao/connection_ref.hpp"

namespace tao {

/// A reply a connection still owes its peer, to be written from anywhere
/// (another actor's answer, a computation on another thread): made by
/// `connection::defer()`. While it exists, the connection stays open for
/// it: a peer that half-closed gets it before our FIN, and a graceful close
/// waits for it, both bounded by the drain timeout. Write through it (any
/// number of frames), then let it go.
///
/// Copies share one hold, released when the last copy is destroyed or
/// calls `release()`; so it can travel in CAF messages to the actor that
/// will answer. Thread-safe to copy and destroy; write through one copy at a
/// time.
class pending_reply {
public:
  /// An empty token; writes fail with `errc::closed`.
  pending_reply() = default;

  /// Builds a token (used by the framework): `holds` counts the connection's
  /// pending replies and already includes this one; `connection_actor` is
  /// told when the last one is released.
  pending_reply(connection_ref conn, std::shared_ptr<std::atomic<uint32_t>> holds,
                caf::actor connection_actor);

  /// True until this copy released.
  explicit operator bool() const noexcept {
    return static_cast<bool>(hold_);
  }

  /// Writes `msg` as `connection_ref::write` does; accepted also while the
  /// connection waits for this reply to close. Fails with `errc::closed`
  /// once released (or if the drain timeout ended the wait), with
  /// `errc::would_block` above the high-water mark, or with the encoder's
  /// error.
  template <class T>
  caf::error write(const T& msg) const {
    if (!hold_)
      return released_error();
    return conn_.write(msg);
  }

  /// Writes one frame with a raw payload; see `write`.
  caf::error write_frame(int32_t type, std::string_view payload) const;

  /// The connection this reply belongs to.
  const connection_ref& ref() const noexcept {
    return conn_;
  }

  /// Lets go of the hold through this copy: when no copy holds it any more
  /// and the connection waits to close, it closes (after what was written).
  /// Idempotent.
  void release() noexcept {
    hold_.reset();
  }

private:
  /// Released when the last copy lets go.
  class hold {
  public:
    hold(std::shared_ptr<std::atomic<uint32_t>> holds, caf::actor connection_actor) noexcept
      : holds_(std::move(holds)), connection_actor_(std::move(connection_actor)) {
    }
    hold(const hold&) = delete;
    hold& operator=(const hold&) = delete;
    ~hold();

  private:
    std::shared_ptr<std::atomic<uint32_t>> holds_;
    caf::actor connection_actor_;
  };

  static caf::error released_error();

  connection_ref conn_;
  std::shared_ptr<hold> hold_;
};

} // namespace tao

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tao::pending_reply)
