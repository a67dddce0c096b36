#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>

#include <caf/actor.hpp>
#include <caf/actor_clock.hpp>
#include <caf/allowed_unsafe_message_type.hpp>

#include "tao/net/direct_writer.hpp"
#include "tao/net/inbound_window.hpp"
#include "tao/net/socket_ops.hpp"

namespace tao::net {

/// One connection's clock: what its supervisor needs to judge whether the
/// peer is alive and the connection idle. The connection broker writes it as
/// bytes come and go; the supervisor reads it on its ticks. There is no
/// other record of these times.
///
/// Thread-safety: not synchronised. Every broker and every supervisor of an
/// actor system runs on the system's one I/O (multiplexer) thread, and only
/// they touch it; a connection's handlers never do. The one exception,
/// `direct`, synchronises itself.
struct liveness {
  /// When the connection opened.
  caf::actor_clock::time_point opened;
  /// When bytes last arrived from the peer, or when the broker last found
  /// itself behind on reading (the peer is not to blame for that time).
  caf::actor_clock::time_point last_input;
  /// When the last complete frame arrived (or the connection opened): the
  /// read-idle measure, so that a peer trickling bytes without ever
  /// completing a frame is idle.
  caf::actor_clock::time_point last_frame;
  /// When the broker last wrote bytes to the connection (any writer but a
  /// direct one; see `last_write`).
  caf::actor_clock::time_point last_output;
  /// The sink actor's direct writer, if it has one (it records its own
  /// output times, on its thread).
  direct_writer_ptr direct;
  /// Complete frames received so far.
  uint64_t frames_in = 0;
  /// The broker (takes heartbeats and failures); reset when it is done, so
  /// that a supervisor never keeps a finished connection's actor alive.
  caf::actor broker;
  /// The actor running the connection's handlers (takes idle events); reset
  /// with `broker`.
  caf::actor connection_actor;
  /// The socket, to ask the kernel for unread bytes; -1 when simulated.
  int64_t fd = -1;
  /// Inbound backpressure of the connection: a stopped window means the
  /// broker paused reading on purpose.
  std::shared_ptr<inbound_window> window;

  /// When bytes were last written to the connection, by any writer.
  caf::actor_clock::time_point last_write() const {
    return direct ? std::max(last_output, direct->last_output()) : last_output;
  }

  /// True once the broker is done; the supervisor forgets the record.
  bool finished() const noexcept {
    return !broker;
  }

  /// True if silence from the peer is the connection's own doing: reads are
  /// paused for inbound backpressure, or bytes wait unread in the kernel.
  bool behind() const noexcept {
    return (window && window->stopped()) || socket_ops::readable_bytes(fd) > 0;
  }
};

/// Shared between a broker and its supervisor.
using liveness_ptr = std::shared_ptr<liveness>;

} // namespace tao::net

// The record travels only between actors of one process (broker and sink to
// the supervisor); it is never serialized.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tao::net::liveness_ptr)
