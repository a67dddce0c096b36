#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include <caf/error.hpp>
#include <caf/fwd.hpp>
#include <caf/io/fwd.hpp>
#include <caf/message_handler.hpp>
#include <caf/result.hpp>
#include <caf/system_messages.hpp>

#include "tao/net/direct_writer.hpp"
#include "tao/net/endpoint.hpp"
#include "tao/net/inbound_window.hpp"
#include "tao/net/liveness.hpp"
#include "tao/net/outbound_budget.hpp"
#include "tao/net/tls_session.hpp"
#include "tao/protocol/frame.hpp"
#include "tao/protocol/frame_batch.hpp"

namespace tao::net {

/// What a connection broker tells its sink about the connection it serves.
struct connection_info {
  /// Process-unique connection id (Tao's NetID), assigned by the acceptor or
  /// connector.
  uint64_t id = 0;
  /// The peer's address.
  endpoint remote;
  /// Our address.
  endpoint local;
  /// Outbound byte accounting shared with every writer.
  std::shared_ptr<outbound_budget> budget;
  /// Inbound backpressure shared with the connection's actor.
  std::shared_ptr<inbound_window> window;
  /// The connection's clock, for its supervisor (I/O thread only).
  liveness_ptr clock;
};

/// The broker side a sink may drive. Valid only on the I/O thread, during the
/// sink's callbacks.
class broker_io {
public:
  virtual ~broker_io();

  /// The broker actor itself (e.g. to schedule timers or to spawn helpers).
  virtual caf::io::abstract_broker* self() noexcept = 0;

  /// Appends framed bytes to the output and flushes. The bytes must already
  /// be reserved in the connection's budget.
  virtual void write(protocol::byte_buffer&& bytes) = 0;

  /// Closes gracefully: every byte reserved so far is delivered (within the
  /// drain timeout), then FIN. `reason` reaches `on_closed`.
  virtual void close(caf::error reason) = 0;

  /// Resets the connection now, discarding what is queued.
  virtual void abort(caf::error reason) = 0;

  /// Stops reading (inbound backpressure from an inline sink that holds
  /// frames back). No effect once the connection stopped reading for good.
  virtual void pause_reading() = 0;

  /// Reads again after `pause_reading`.
  virtual void resume_reading() = 0;

  /// The socket shared with one writer on another thread (see
  /// `direct_writer`), made on the first call; null where bytes must pass
  /// through the broker (TLS, WebSocket, CAF's test multiplexer) or once
  /// the connection is closing. The writer posts what it cannot send as
  /// `(handover_atom, bytes, counted)`.
  virtual direct_writer_ptr share_socket() = 0;
};

/// Receives what a connection broker reads, on the I/O thread. A sink either
/// handles frames in place (inline dispatch) or forwards them to an actor on
/// the scheduler. The broker owns its sink and destroys it after `on_closed`.
class connection_sink {
public:
  virtual ~connection_sink();

  /// Called once, right after the broker stored the sink; the sink may
  /// write or close from here. Does nothing by default.
  virtual void on_open();

  /// Frames read, in order. Returns true if the sink holds them for later
  /// processing (bytes count against the inbound window), false if it
  /// handled them in place. The batch may borrow the broker's read buffer
  /// (`frame_batch::borrows`), valid only during this call: a sink that
  /// keeps frames beyond it calls `frame_batch::own` first.
  virtual bool on_frames(protocol::frame_batch&& batch) = 0;

  /// A non-fatal error, or the error a fatal one's close will carry.
  virtual void on_error(const caf::error& err) = 0;

  /// The outbound queue fell to the low-water mark after a refusal.
  virtual void on_writable() = 0;

  /// The TLS handshake completed. Does nothing by default.
  virtual void on_tls_established(const tls_session& session);

  /// The connection failed (protocol, TLS or liveness error): the broker
  /// reads no more and wants it closed gracefully, with `reason`, once the
  /// frames already handed over are handled. The sink closes it through
  /// `broker_io::close` when ready.
  virtual void on_close_request(const caf::error& reason) = 0;

  /// The peer ended its input (FIN or TLS close_notify); `reason` is none
  /// for a clean end or says what was cut (e.g. `truncated_frame`).
  /// Return true to keep the connection open for writing: the sink then
  /// closes it through `broker_io::close` when its work is done, so that
  /// replies reach a half-open peer before the FIN. Return false (the
  /// default) to end the connection now with `on_closed(reason)`.
  virtual bool on_input_closed(const caf::error& reason);

  /// The connection is gone; `reason` is none for a clean close. Last call.
  virtual void on_closed(const caf::error& reason) = 0;

  /// A message the broker does not know (nor `extra_handlers`), e.g. one of
  /// the user's own messages to the connection's actor. Returns the reply,
  /// or an error (`sec::unexpected_message` by default).
  virtual caf::result<caf::message> on_message(caf::message& msg);

  /// An actor monitored from the sink's side terminated (not the owner).
  /// Does nothing by default.
  virtual void on_down(const caf::down_msg& msg);

  /// Extra message handlers the broker runs for messages it does not know
  /// (e.g. timers of inline handlers). Empty by default.
  virtual caf::message_handler extra_handlers();
};

/// Creates the sink of a new connection, on the I/O thread, after the
/// broker was set up. Returning nullptr refuses the connection.
using sink_factory =
  std::function<std::unique_ptr<connection_sink>(broker_io&, const connection_info&)>;

} // namespace tao::net
