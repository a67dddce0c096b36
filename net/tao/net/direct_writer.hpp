#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

#include <caf/actor_clock.hpp>

#include "tao/net/outbound_budget.hpp"
#include "tao/protocol/frame.hpp"

namespace tao::net {

/// A plain TCP connection's socket, shared by its broker with the one actor
/// that writes most to it from another thread (the connection actor of
/// scheduled dispatch), so that this writer's bytes go to the kernel at once
/// instead of through the broker's mailbox and the multiplexer's wake-up.
///
/// Order on the wire stays the writers' order: the writer sends itself only
/// while nothing is queued ahead of it, that is while CAF's write buffer is
/// empty (`set_broker_pending`) and none of its own earlier bytes are on the
/// way to the broker (`hand_over`/`handed_over`). Otherwise it hands its
/// bytes to the broker, which sends them in mailbox order. The broker's own
/// sends (other writers, heartbeats) take `lock_for_send`, so no two sends
/// interleave; and where the kernel took only part of a buffer, the writer
/// keeps the rest, which must follow on the wire before any other byte:
/// the broker's next send, or the hand-over's arrival, whichever comes
/// first, takes it and sends it first.
///
/// The socket is used only under the lock and only until `close`, which the
/// broker calls before the socket can be closed or reset: a write never
/// reaches a closed descriptor or one the kernel reused.
///
/// Thread-safety: every member is safe from any thread.
class direct_writer {
public:
  /// What became of a `write`.
  struct outcome {
    /// True if the broker must take over: post `bytes` as
    /// `(handover_atom, bytes, counted)` (exactly once, in order). `bytes`
    /// is empty after a partial send: the writer keeps the rest until the
    /// broker takes it (`take_rest`, `lock_for_send`).
    bool hand_over = false;
    /// True if the observer saw the bytes already (the broker must not
    /// count them again).
    bool counted = false;
    /// True if the write took the queue down to the low-water mark after a
    /// refusal: the writer's `on_writable` is due.
    bool writable = false;
  };

  /// Observer of every written buffer (whole frames), e.g. metrics; called
  /// under the lock, from the writing thread. May be empty.
  using write_observer = std::function<void(const protocol::byte_buffer&)>;

  /// The socket `fd` of a connection whose outbound bytes `budget` counts.
  direct_writer(int64_t fd, std::shared_ptr<outbound_budget> budget,
                write_observer on_write) noexcept;

  direct_writer(const direct_writer&) = delete;
  direct_writer& operator=(const direct_writer&) = delete;

  /// Writer side. Sends `bytes` (whole frames, reserved in the budget), as
  /// much as the kernel takes, if nothing is queued ahead of them; releases
  /// what was sent from the budget. If nothing was sent, leaves the bytes
  /// in `bytes`; if part was, keeps the rest; either way asks for a
  /// hand-over. `now` is the writer's clock, recorded as the connection's
  /// last output.
  outcome write(protocol::byte_buffer& bytes, caf::actor_clock::time_point now);

  /// Broker side: holds the writer's state, e.g. to change
  /// `set_broker_pending`. Not for sends: those take `lock_for_send`.
  std::unique_lock<std::mutex> lock() {
    return std::unique_lock<std::mutex>{mtx_};
  }

  /// Broker side: holds the socket for a send of `bytes`, and puts in front
  /// of them what the writer kept of a partly sent buffer (still reserved
  /// in the budget and counted by the observer), which must be sent first.
  std::unique_lock<std::mutex> lock_for_send(protocol::byte_buffer& bytes);

  /// Broker side, on a hand-over's arrival: puts in front of its `bytes`
  /// what the writer kept of a partly sent buffer, if the broker did not
  /// take it already.
  void take_rest(protocol::byte_buffer& bytes);

  /// Broker side, under `lock()`: whether CAF's write buffer holds bytes.
  void set_broker_pending(bool pending) noexcept {
    broker_pending_ = pending;
  }

  /// Broker side: a hand-over from `write` reached the broker and its bytes
  /// (with `take_rest`) were sent or queued in CAF's buffer.
  void handed_over();

  /// Broker side: no more direct sends (the connection is closing or gone).
  /// Idempotent; later writes hand everything over.
  void close();

  /// Bytes sent directly so far (the kernel took them).
  uint64_t bytes_sent();

  /// When bytes were last sent directly (`time_point{}` if never).
  caf::actor_clock::time_point last_output();

private:
  /// Under the lock: moves `rest_` in front of `bytes`.
  void prepend_rest(protocol::byte_buffer& bytes);

  std::mutex mtx_;
  int64_t fd_;
  std::shared_ptr<outbound_budget> budget_;
  write_observer on_write_;
  bool open_ = true;
  bool broker_pending_ = false;
  uint32_t in_flight_ = 0;
  /// What the kernel did not take of a partly sent buffer.
  protocol::byte_buffer rest_;
  uint64_t sent_ = 0;
  caf::actor_clock::time_point last_output_{};
};

/// Shared between a broker and the writer.
using direct_writer_ptr = std::shared_ptr<direct_writer>;

} // namespace tao::net
