#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "tao/net/liveness.hpp"
#include "tao/net/outbound_budget.hpp"
#include "tao/policies.hpp"
#include "tao/protocol/codec.hpp"
#include "tao/protocol/message.hpp"

namespace tao {

namespace detail {
class client_outlet;
} // namespace detail

/// A handle on a connection for code outside its handlers: other actors,
/// rooms, timers of other connections. Copyable and cheap (a few shared
/// pointers); may be stored and used from any thread.
///
/// Writes are encoded in the caller's thread and go straight to the
/// connection's broker, accounted in the connection's outbound budget. Writes
/// through one handle keep their order; writes from different senders
/// interleave at frame boundaries.
class connection_ref {
public:
  /// An invalid handle; every write fails with `errc::closed`.
  connection_ref() = default;

  /// Builds a handle (used by the framework).
  connection_ref(uint64_t id, caf::actor broker, caf::actor handler_actor,
                 protocol::codec_ptr codec, std::shared_ptr<net::outbound_budget> budget,
                 overflow_policy overflow, net::liveness_ptr clock = nullptr)
    : id_(id), broker_(std::move(broker)), handler_actor_(std::move(handler_actor)),
      codec_(std::move(codec)), budget_(std::move(budget)), overflow_(overflow),
      clock_(std::move(clock)) {
  }

  /// The connection's id (Tao's NetID).
  uint64_t id() const noexcept {
    return id_;
  }

  /// True if the handle refers to a connection (which may have closed since).
  explicit operator bool() const noexcept {
    return static_cast<bool>(broker_);
  }

  /// The broker actor that owns the socket. Send it `(net::close_atom, ...)`
  /// or `(net::write_atom, bytes)` directly only if you manage the budget.
  const caf::actor& broker() const noexcept {
    return broker_;
  }

  /// The actor that runs the connection's handlers (the broker itself in
  /// inline dispatch). Monitor it to learn when the connection is gone.
  const caf::actor& actor() const noexcept {
    return handler_actor_;
  }

  /// Encodes `msg` and queues it. Fails with `errc::would_block` when the
  /// queue is above its high-water mark under the would-block policy, with
  /// `errc::closed` on an invalid handle or once the connection started
  /// closing (nothing queued then), or with the encoder's error. A write that
  /// succeeded is delivered, or the connection's end reports it lost
  /// (on_close gets an error naming the bytes not delivered).
  template <class T>
  caf::error write(const T& msg) const {
    protocol::byte_buffer buf;
    if (auto err = check_writable())
      return err;
    if (auto err = protocol::encode_message(*codec_, msg, buf))
      return err;
    return send_bytes(std::move(buf));
  }

  /// Queues one frame with a raw payload.
  caf::error write_frame(int32_t type, std::string_view payload) const;

  /// Writes `msg` as `write` does and asks for a receipt: `notify` (usually
  /// the calling actor) later gets `(written_atom, receipt)` once the kernel
  /// took every byte of it, or `(write_failed_atom, receipt, caf::error)`
  /// if the connection ended before (Netty's write future, as a message).
  /// Returns the receipt (process-unique) or, if the write is refused at
  /// once, the error (no message follows then). Writes without a receipt
  /// pay nothing for this.
  template <class T>
  caf::expected<uint64_t> write_with_receipt(const T& msg, const caf::actor& notify) const {
    protocol::byte_buffer buf;
    if (auto err = check_writable())
      return err;
    if (auto err = protocol::encode_message(*codec_, msg, buf))
      return err;
    return send_with_receipt(std::move(buf), notify);
  }

  /// Queues bytes that are already framed with this connection's codec (as
  /// `server::broadcast` does, encoding once for many connections).
  caf::error write_encoded(protocol::byte_buffer bytes) const;

  /// Closes the connection gracefully once the work under way is done:
  /// frames received before this call are handled, pending replies awaited,
  /// queued writes delivered, then FIN. Does nothing once the connection
  /// finished (nothing is sent to its actors then). Thread-safe.
  void close() const;

  /// Resets the connection at once, discarding queued writes (also during
  /// a graceful close). Does nothing once the connection finished.
  /// Thread-safe.
  void abort() const;

  /// The connection's clock, for a supervisor (`supervisor::watch`); touch
  /// it only on the I/O thread.
  const net::liveness_ptr& clock() const noexcept {
    return clock_;
  }

  /// Bytes queued and not yet written to the socket.
  size_t queued_bytes() const noexcept {
    return budget_ ? budget_->queued() : 0;
  }

private:
  /// For `write_admitted`.
  friend class detail::client_outlet;

  /// Queues framed bytes that were admitted elsewhere (a client's offline
  /// queue, bounded by its own limit) and count as accepted: refused only
  /// once the connection is closed, never above the high-water mark.
  caf::error write_admitted(protocol::byte_buffer&& bytes) const;

  caf::error check_writable() const;
  caf::error closed_error() const;
  caf::error send_bytes(protocol::byte_buffer&& bytes) const;
  caf::expected<uint64_t> send_with_receipt(protocol::byte_buffer&& bytes,
                                            const caf::actor& notify) const;

  uint64_t id_ = 0;
  caf::actor broker_;
  caf::actor handler_actor_;
  protocol::codec_ptr codec_;
  std::shared_ptr<net::outbound_budget> budget_;
  overflow_policy overflow_ = overflow_policy::would_block;
  net::liveness_ptr clock_;
};

} // namespace tao

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tao::connection_ref)
