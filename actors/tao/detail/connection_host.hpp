#pragma once

#include <memory>

#include <caf/actor.hpp>
#include <caf/error.hpp>
#include <caf/local_actor.hpp>

#include "tao/connection.hpp"
#include "tao/detail/traffic_meter.hpp"
#include "tao/net/connection_sink.hpp"
#include "tao/options.hpp"
#include "tao/protocol/frame_batch.hpp"
#include "tao/server.hpp"

namespace tao::detail {

/// Runs one connection's handlers, callbacks and timers. The two hosts differ
/// only in where they run and how bytes reach the broker: `handler_actor`
/// (a scheduled actor fed batches by the broker) and `inline_sink` (inside the
/// broker, on the I/O thread).
///
/// Not thread-safe: owned by the single actor that hosts it.
class connection_host {
public:
  /// A host for the connection `info` of `server` (an invalid handle for
  /// client connections). `owner` (the server or client actor) receives
  /// `(joined_atom, connection_ref)` once on_connect accepted the connection
  /// and `(left_atom, id, reason, deliberate)` when it is gone.
  connection_host(std::shared_ptr<const connection_options> options,
                  const net::connection_info& info, tao::server server, caf::actor owner);

  virtual ~connection_host();

  /// The hosted connection.
  tao::connection& conn() noexcept {
    return conn_;
  }

  /// The actor that owns this host (handler actor or broker).
  virtual caf::local_actor* self() noexcept = 0;

  /// The connection's broker.
  virtual caf::actor broker() const = 0;

  /// Runs on_connect, then tells the owner and arms the liveness checks.
  /// Returns false if the connection was refused (then a close is already
  /// under way).
  bool start();

  /// Runs the handlers for every frame of `batch`, then flushes.
  void handle_frames(const protocol::frame_batch& batch);

  /// Fires timer `id` if it still exists, then flushes.
  void handle_timer(timer_id id);

  /// Runs on_writable, then flushes.
  void handle_writable();

  /// Reports a non-fatal error to on_error.
  void handle_error(const caf::error& err);

  /// Ends the connection: drops timers, runs on_close once.
  void handle_closed(const caf::error& reason);

  /// Registers a periodic callback from the server's `sched`.
  void add_sched(caf::timespan period, const connection::timer_callback& f);

  /// Sends this activation's writes to the broker.
  void flush();

  /// Arms a timer message for `id` at `when`.
  void arm_timer(timer_id id, time_point when);

  /// Closes on behalf of someone else (broker, server, `connection_ref`):
  /// gracefully after flushing this activation's writes, or by reset.
  void close_from_outside(caf::error reason, bool abort);

  /// Asks the broker to close.
  virtual void request_close(caf::error reason, bool abort) = 0;

  /// The connection's share of the metrics.
  traffic_meter& meter() noexcept {
    return meter_;
  }

  /// The options.
  const connection_options& options() const noexcept {
    return *options_;
  }

  /// The server the connection belongs to (invalid for clients).
  const tao::server& server() const noexcept {
    return server_;
  }

protected:
  /// Hands framed, budget-reserved bytes to the broker.
  virtual void deliver(protocol::byte_buffer&& bytes) = 0;

private:
  void arm_liveness();
  void handle_liveness(timer_id id);
  /// Handles one frame; returns true if a typed handler ran (and is timed).
  bool dispatch(const protocol::frame_view& frame);
  void fail(const caf::error& err);

  std::shared_ptr<const connection_options> options_;
  tao::server server_;
  caf::actor owner_;
  tao::connection conn_;
  bool closed_ = false;
  caf::error last_error_;
  traffic_meter meter_;
};

} // namespace tao::detail
