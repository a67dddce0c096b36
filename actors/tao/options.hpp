#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include <caf/error.hpp>
#include <caf/message.hpp>

#include "tao/handlers.hpp"
#include "tao/metrics.hpp"
#include "tao/net/tls_options.hpp"
#include "tao/net/websocket_options.hpp"
#include "tao/policies.hpp"
#include "tao/protocol/codec.hpp"
#include "tao/supervisor.hpp"

namespace tao {

class connection;
class io_pool;

/// TLS settings (see `net::tls_options`): certificate, key, CA, peer and
/// host name verification, client certificates, protocol floor, ciphers and
/// handshake timeout.
using tls_options = net::tls_options;

/// Lowest TLS version accepted.
using tls_version = net::tls_version;

/// Client certificate policy of a TLS server.
using tls_client_auth = net::tls_client_auth;

/// WebSocket settings (see `net::websocket_options`): subprotocols, Origin
/// allow-list, text type, limits, handshake timeout, the page's directory.
using websocket_options = net::websocket_options;

/// Options of one connection, shared by servers and clients.
struct connection_options {
  /// Framing; Tao's TLV with an 8 MiB limit by default (`CustomCodecOption`).
  protocol::codec_ptr codec = protocol::default_codec();

  /// Message types and their handlers (`Register`).
  tao::handlers handlers;

  /// Where handlers run: on the I/O thread by default; `scheduled` for
  /// handlers that block or compute for long.
  dispatch_mode dispatch = dispatch_mode::inline_io;

  /// TLS under the framing, invisible to handlers (`TLSCredsOption`); off by
  /// default. Writes made before the handshake completed are sent once it
  /// did. A failed handshake closes only that connection, with
  /// `errc::tls_failure` passed to on_error and on_close.
  tls_options tls;

  /// The protocol on the socket; handlers are the same for every transport.
  /// A server with `transport` tcp can also listen for WebSocket clients on
  /// a second port (`server_options::websocket_port`).
  transport_kind transport = transport_kind::tcp;

  /// WebSocket settings, used when `transport` is `websocket` (or on a
  /// server's `websocket_port`). Connections
  /// reach `on_connect` and the handlers only once the upgrade completed.
  websocket_options websocket;

  /// Prometheus metrics to count into (see `tao::metrics`); null, the
  /// default, counts nothing beyond the per-connection `connection_stats`.
  metrics_ptr metrics;

  /// The supervisor that watches the liveness checks below (and restarts a
  /// client by its reconnect policy). Empty, the default: each server and
  /// client makes its own, which ends with it. Give one to share it among
  /// several servers and clients; stop it yourself then. Must stay empty
  /// with `io_threads` above 1 (each I/O thread has its own).
  tao::supervisor supervisor;

  /// I/O threads serving the connections (Netty's worker group size,
  /// muduo's `setThreadNum`). 1, the default, is the actor system's own
  /// multiplexer thread, which also keeps servers and clients usable on
  /// CAF's deterministic test scheduler. More need `io_pool` (with at least
  /// as many); a server then spreads its connections over that many shards,
  /// each connection staying on one thread for its life.
  size_t io_threads = 1;

  /// The I/O shards for `io_threads` > 1 (see `tao::io_pool`, which must
  /// outlive the actor system); not owned.
  tao::io_pool* io_pool = nullptr;

  /// Outbound bytes queued per connection (encoded, not yet on the wire) above
  /// which `overflow` applies. Tao's counterpart is `BufferSizeOption`
  /// (counted in messages there, in bytes here).
  size_t high_water_mark = 4u << 20;

  /// Once over the high-water mark, `on_writable` fires when the queue falls
  /// to or below this many bytes. 0, the default, means a quarter of the
  /// high-water mark; a value above the high-water mark is refused.
  size_t low_water_mark = 0;

  /// Policy above the high-water mark.
  overflow_policy overflow = overflow_policy::would_block;

  /// Largest number of bytes read per system call (`receive_policy::at_most`).
  /// The read size adapts between `min_read_chunk_size` and this: it doubles
  /// when a read fills it and halves after a run of small reads. CAF 0.17
  /// keeps a read buffer of that size per connection and zero-fills it after
  /// every read, so idle connections stay small (3.96 KiB RSS each at 10,000
  /// connections, of which 128 B read buffer, instead of 37 KiB with a fixed
  /// 32 KiB) and busy ones read big. 32 KiB measured best as the maximum
  /// (100 connections x 10 x 64 B: 587k frames/s vs 548k at 64 KiB;
  /// 1 x 32 x 4 KiB: 308k vs 261k at 16 KiB).
  size_t read_chunk_size = 32u * 1024u;

  /// Smallest (and first) number of bytes read per system call: what an
  /// idle connection's read buffer costs. Reads that fill it double it, so
  /// a burst reaches `read_chunk_size` within a few reads.
  size_t min_read_chunk_size = 128u;

  /// Received bytes in flight to the handlers above which the connection
  /// stops reading until the handlers catch up (inbound backpressure).
  size_t inbound_limit = 1u << 20;

  /// Bound on delivering queued writes at close or stop; after it the
  /// connection is reset.
  std::chrono::milliseconds drain_timeout{5000};

  // -- liveness (all off by default, as in Tao) -------------------------------

  /// Send a Tao heartbeat (type 0, int64 LE nanoseconds) every period and
  /// close the connection with `errc::heartbeat_timeout` at the first period
  /// tick at which nothing (any byte counts) arrived for `heartbeat_misses`
  /// periods. Time the connection itself was behind (reads paused for
  /// inbound backpressure, bytes waiting unread in the kernel) does not
  /// count as the peer's silence. 0 disables both.
  caf::timespan heartbeat_period{0};

  /// Silent periods tolerated before a heartbeat timeout.
  unsigned heartbeat_misses = 3;

  /// If no complete frame was read for this long, `on_idle(read)` runs;
  /// without an `on_idle` the connection is closed with `errc::idle_timeout`
  /// (a peer trickling bytes without completing a frame is idle). 0
  /// disables.
  caf::timespan read_idle_timeout{0};

  /// If the handlers wrote nothing for this long, `on_idle(write)` runs;
  /// without an `on_idle` a heartbeat is sent. 0 disables.
  caf::timespan write_idle_timeout{0};

  /// Close with `errc::idle_timeout` if no complete frame arrived this long
  /// after the connection opened (against slowloris peers). 0 disables.
  caf::timespan first_message_timeout{0};

  /// Called when a read- or write-idle timeout elapsed (see above).
  std::function<void(connection&, idle_kind)> on_idle;

  /// Called once the connection is up, before any handler. Returning false
  /// refuses the connection (counted as refused; Tao ignored the result).
  std::function<bool(connection&)> on_connect;

  /// Called for frames of registered types that have no handler, with the
  /// decoded value in the message.
  std::function<void(connection&, const caf::message&)> on_message;

  /// Called exactly once when the connection is gone, with the reason: none
  /// for a clean close by either side, otherwise the error (e.g.
  /// `errc::heartbeat_timeout`, `errc::slow_consumer`).
  std::function<void(connection&, const caf::error&)> on_close;

  /// Called for each error on the connection: bad frames, decode failures,
  /// throwing handlers, network errors. Fatal errors are followed by
  /// `on_close` with the same error.
  std::function<void(connection&, const caf::error&)> on_error;

  /// Called when the outbound queue drains to the low-water mark after having
  /// been above the high-water mark.
  std::function<void(connection&)> on_writable;

  /// Messages of your own that the connection's actor understands (sent by
  /// other actors to `connection_ref::actor()`): made once per connection,
  /// before `on_connect`, with the connection at hand (capture state there:
  /// a stateful connection actor). They run like handlers, one at a time
  /// with the connection's frames and timers, may write, and a request gets
  /// the handler's result as its answer.
  std::function<caf::message_handler(connection&)> behavior;

  /// Called when an actor that the connection monitors
  /// (`c.self()->monitor(other)`) terminates.
  std::function<void(connection&, const caf::down_msg&)> on_down;
};

/// Options of a server (Tao's `NewServer(opts...)` and `Start(listener)`).
struct server_options : connection_options {
  /// Address to listen on: an IPv4 or IPv6 literal or a host name.
  std::string host = "127.0.0.1";

  /// Port to listen on; 0 picks an ephemeral port (see `server::port`).
  uint16_t port = 0;

  /// Connections served at once; one more is accepted, closed at once and
  /// counted as refused. Tao hard-coded 1000.
  size_t max_connections = 1000;

  /// Sets SO_REUSEADDR on the listening socket.
  bool reuse_address = true;

  /// A second listening port, on `host`, for WebSocket clients (with the
  /// `websocket` settings and the same TLS), while `port` serves `transport`
  /// tcp: one server, one connection table, the same handlers, broadcasts
  /// and stats for both. 0 picks an ephemeral port (see
  /// `server::websocket_port`); -1, the default, is off. Must be -1 when
  /// `transport` is websocket.
  int websocket_port = -1;
};

} // namespace tao
