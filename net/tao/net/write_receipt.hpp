#pragma once

#include <cstdint>
#include <memory>
#include <utility>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/error.hpp>
#include <caf/send.hpp>

#include "tao/net/atoms.hpp"
#include "tao/protocol/error.hpp"

namespace tao::net {

/// The promise of one answer to a write with a receipt: `(written_atom, id)`
/// or `(write_failed_atom, id, error)` to `notify`, exactly once. Travels
/// with the bytes to the broker; if it is destroyed unanswered (the broker
/// was gone and its mailbox dropped the write), it answers the failure
/// itself, so a writer never waits for a receipt that cannot come. Not
/// thread-safe; one actor at a time holds it (moved in a message).
class write_receipt {
public:
  /// A receipt `id` for `notify`.
  write_receipt(uint64_t id, caf::actor notify) noexcept : id_(id), notify_(std::move(notify)) {
  }

  write_receipt(const write_receipt&) = delete;
  write_receipt& operator=(const write_receipt&) = delete;

  /// Answers `closed` if nothing was answered.
  ~write_receipt() {
    failed(protocol::make_error(protocol::errc::closed,
                                "the connection ended before the write reached it"));
  }

  /// The receipt's id.
  uint64_t id() const noexcept {
    return id_;
  }

  /// Answers success (once; later answers are ignored).
  void written() {
    if (notify_)
      caf::anon_send(std::exchange(notify_, caf::actor{}), written_atom::value, id_);
  }

  /// Answers failure with `reason` (once; later answers are ignored).
  void failed(const caf::error& reason) {
    if (notify_)
      caf::anon_send(std::exchange(notify_, caf::actor{}), write_failed_atom::value, id_, reason);
  }

private:
  uint64_t id_;
  caf::actor notify_;
};

/// How a receipt travels in a message.
using write_receipt_ptr = std::shared_ptr<write_receipt>;

} // namespace tao::net

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tao::net::write_receipt_ptr)
