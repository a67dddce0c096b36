#pragma once

#include <cstdint>

namespace tao {

/// What happens when a connection's outbound queue is above its high-water
/// mark (Tao silently dropped the message with `ErrWouldBlock`).
enum class overflow_policy {
  /// The write fails with `errc::would_block`; nothing is queued. The writer
  /// may wait for `on_writable` (queue back under the low-water mark).
  would_block,
  /// The connection is closed as a slow consumer (`errc::slow_consumer`,
  /// counted); its queued bytes are discarded. Writes made above the mark
  /// while the close is under way fail with `errc::slow_consumer`, so the
  /// queue never exceeds the high-water mark plus one frame.
  disconnect,
};

/// Where handlers run (see docs/architecture.md for the measurements behind
/// the default). On the command line (`option_flags`): `--dispatch=scheduled`
/// or `--dispatch=inline`; `--dispatch=inline_io` is accepted too.
enum class dispatch_mode {
  /// In the connection's own actor on CAF's scheduler; frames arrive in
  /// batches (one hop per read, not per frame). For handlers that block or
  /// compute for long: they never stall other connections' I/O (Netty's
  /// executor groups, muduo's thread pool).
  scheduled,
  /// On the I/O (multiplexer) thread, inside the connection's broker: no
  /// hop at all. The default: as fast as the epoll reference for handlers
  /// that return quickly. A handler that blocks stalls the I/O of every
  /// connection.
  inline_io,
};

/// The protocol a server's or client's connections speak on the socket.
enum class transport_kind {
  /// Tao's frames straight on TCP (or TLS): Tao 1.6's wire format.
  tcp,
  /// WebSocket (RFC 6455): one Tao frame per message, over TLS for wss://
  /// (see docs/websocket.md). A server on this transport also answers plain
  /// HTTP requests with the files of `websocket.web_root`.
  websocket,
};

/// Which side of a connection went idle (Netty's `IdleState`).
enum class idle_kind {
  /// Nothing was read for `read_idle_timeout`.
  read,
  /// Nothing was written to the connection for `write_idle_timeout`.
  write,
};

} // namespace tao
