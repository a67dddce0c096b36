#pragma once

#include <cstdint>

namespace tao {

/// Where a connection is in its life. Every connection goes forward through
/// these states, never back:
///
/// ```
///            on_connect true               peer FIN / close_notify
///  opening ------------------> open ----------------------------> input_closed
///     |                         |  close(), error, stop,             |  frames handled, no pending
///     | on_connect false        |  idle or heartbeat timeout         |  reply or one-shot timer
///     v                         v                                    v
///  closing <-------------------------------------------------------------
///     |  pending replies (`defer`) released, or the drain timeout
///     v
///  draining ---- every byte reserved before the close is out, then FIN ---> closed
///                 (abort(), a reset or the drain timeout skip the wait)      (on_close)
/// ```
enum class connection_state : uint8_t {
  /// Created; `on_connect` has not decided yet. Writes are allowed.
  opening,
  /// Handlers run for every frame; writes are allowed.
  open,
  /// The peer ended its input (half-close). Frames received before it are
  /// still handled, writes still go out; the connection closes once nothing
  /// is owed to the peer (no frame, pending reply or one-shot timer left).
  input_closed,
  /// A graceful close started: handlers and timers run no more, and new
  /// writes through the connection fail; pending replies (`defer`) may
  /// still write until released or the drain timeout.
  closing,
  /// The broker delivers what writers reserved before the close, then FIN
  /// (or resets the connection on `abort`).
  draining,
  /// Gone; `on_close` ran.
  closed,
};

/// True in the states where handlers run for received frames (`open`,
/// `input_closed`).
constexpr bool runs_handlers(connection_state x) noexcept {
  return x == connection_state::open || x == connection_state::input_closed;
}

/// True in the states where writes through the connection are accepted
/// (`opening` and those that run handlers).
constexpr bool accepts_writes(connection_state x) noexcept {
  return x == connection_state::opening || runs_handlers(x);
}

/// The name of `x`, e.g. "input_closed".
const char* to_string(connection_state x) noexcept;

} // namespace tao
