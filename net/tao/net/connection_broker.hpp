#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_clock.hpp>
#include <caf/io/broker.hpp>
#include <caf/io/connection_handle.hpp>
#include <caf/io/scribe.hpp>
#include <caf/stateful_actor.hpp>

#include "tao/net/connection_sink.hpp"
#include "tao/net/tls_channel.hpp"
#include "tao/net/tls_context.hpp"
#include "tao/net/websocket_channel.hpp"
#include "tao/net/websocket_context.hpp"
#include "tao/net/write_receipt.hpp"
#include "tao/protocol/codec.hpp"
#include "tao/protocol/decoder.hpp"

namespace tao::net {

/// Settings of connection brokers, shared (immutable) by all connections of
/// a server or client. Every value comes from the server's or client's
/// options (tao's defaults are declared there, once).
struct broker_setup {
  /// Framing.
  protocol::codec_ptr codec;
  /// Creates each connection's sink.
  sink_factory make_sink;
  /// Largest number of bytes read per system call.
  size_t read_chunk_size = 0;
  /// Smallest (and first) number of bytes read per system call; the broker
  /// doubles its read size when a read fills it and halves it after a run
  /// of small reads (as Netty's adaptive receive buffer does).
  size_t min_read_chunk_size = 0;
  /// Outbound high-water mark in bytes.
  size_t high_water_mark = 0;
  /// Outbound low-water mark in bytes.
  size_t low_water_mark = 0;
  /// If true, a connection whose queue exceeds the high-water mark is reset as
  /// a slow consumer; otherwise writers get `would_block`.
  bool disconnect_slow_consumers = false;
  /// Inbound bytes in flight to the sink's actor before reading pauses.
  size_t inbound_limit = 0;
  /// Bound on delivering queued bytes at a graceful close.
  std::chrono::milliseconds drain_timeout{0};
  /// True when running on CAF's test multiplexer (no real sockets).
  bool simulated = false;
  /// TLS for every connection (server or client role, as the context says);
  /// null for plain TCP.
  std::shared_ptr<tls_context> tls;
  /// Clients: the host connected to (SNI and certificate name check).
  std::string tls_peer_name;
  /// WebSocket for every connection (over TLS when `tls` is set), in the
  /// context's role; null for a plain byte stream. The sink is created only
  /// once the upgrade completed: a plain HTTP request (the page) or a failed
  /// upgrade never reaches it.
  std::shared_ptr<websocket_context> websocket;
  /// Called on the I/O thread when a connection ends without ever having
  /// had a sink (a WebSocket connection that never upgraded: a page served,
  /// an upgrade refused or timed out, a peer gone during the handshake),
  /// with the connection's id and why it ended. May be empty. Such a broker
  /// also quits with that reason, for monitors.
  std::function<void(uint64_t, const caf::error&)> on_unserved;
  /// Called on the I/O thread after each heartbeat sent (metrics); may be
  /// empty.
  std::function<void()> on_heartbeat_sent;
  /// Called with every write's framed bytes (whole frames, before TLS),
  /// e.g. to count frames by type; may be empty. On the I/O thread, or on
  /// the thread of a sink actor writing directly (`direct_writer`): it must
  /// be thread-safe.
  std::function<void(const protocol::byte_buffer&)> on_write;
  /// The server or client owning the connections; each broker monitors it
  /// and resets its connection when the owner terminates. May be null.
  caf::actor owner;
};

/// Where a connection broker is in its life.
enum class broker_phase : uint8_t {
  /// Reading and writing.
  open,
  /// The peer ended its input; reads are off, writes still go out until the
  /// sink closes the connection.
  half_open,
  /// A graceful close started: no new writer is accepted, bytes reserved
  /// before go out, then close_notify (TLS) and FIN.
  closing,
  /// Gone: the sink was told; the broker quits.
  finished,
};

/// State of one connection broker.
struct connection_broker_state {
  connection_broker_state() = default;
  connection_broker_state(const connection_broker_state&) = delete;
  connection_broker_state& operator=(const connection_broker_state&) = delete;

  /// Closes the direct writer (`info.clock->direct`) before any member goes,
  /// `scribe` (the descriptor's owner) included: however the broker ends,
  /// no direct write can reach a descriptor CAF closed.
  ~connection_broker_state();

  /// The connection.
  caf::io::connection_handle hdl;
  /// Shared settings.
  std::shared_ptr<const broker_setup> setup;
  /// What the sink was told.
  connection_info info;
  /// Where the connection is in its life.
  broker_phase phase = broker_phase::open;
  /// The TLS session; null for plain TCP.
  std::unique_ptr<tls_channel> tls;
  /// Set once the sink heard of the completed TLS handshake.
  bool tls_announced = false;
  /// Set once a graceful close sent TLS close_notify: nothing more can go
  /// out after it.
  bool tls_closed = false;
  /// Plaintext decrypted from the last read (reused between reads).
  protocol::byte_buffer tls_plain;
  /// The WebSocket session, between TLS and the framing; null for a plain
  /// byte stream.
  std::unique_ptr<websocket_channel> ws;
  /// Set once a graceful close sent the WebSocket close frame (or found the
  /// channel finished): nothing more can go out as a message after it.
  bool ws_closed = false;
  /// Set while a graceful close reads again for the peer's close frame
  /// (RFC 6455 7.1.1), within the drain timeout.
  bool ws_awaiting_close = false;
  /// Set once the peer ended its input (FIN or TLS close_notify).
  bool input_ended = false;
  /// Frame parser (unused under WebSocket, whose messages are frames).
  std::unique_ptr<protocol::decoder> decoder;
  /// Receiver of frames; null until a WebSocket upgrade completed.
  std::unique_ptr<connection_sink> sink;
  /// The broker as seen by the sink.
  std::unique_ptr<broker_io> io;
  /// The connection's CAF scribe, held so that the write side can be kept
  /// after CAF detached it at the peer's end of input (half-close).
  caf::io::scribe_ptr scribe;
  /// Reason passed to the sink when a graceful close completes.
  caf::error close_reason;
  /// The first fatal error seen (protocol, TLS, liveness); the connection's
  /// end reports it even if the peer's FIN arrives before the sink closed.
  caf::error failure;
  /// Bytes the kernel accepted for sending, in total (TLS records included).
  uint64_t bytes_handed_over = 0;
  /// Bytes given to CAF for sending, in total (TLS records included).
  uint64_t bytes_queued = 0;
  /// A write whose writer wants to know when it reached the kernel.
  struct receipt {
    /// `bytes_queued` right after the write.
    uint64_t end;
    /// Answers the writer.
    write_receipt_ptr token;
  };
  /// Receipts not yet answered, in write order. A list, not a deque: an
  /// empty std::deque already holds a 512-byte block, and nearly every
  /// connection has no receipt (idle connections are what this saves).
  std::list<receipt> receipts;
  /// Bytes handed to CAF's write buffer and not yet reported written by it.
  /// While zero, the broker writes to the socket itself (see `send_raw`).
  uint64_t caf_pending = 0;
  /// A write straight to the socket took the queue below the low-water
  /// mark; the sink hears of it from the broker's mailbox, not from within.
  bool writable_due = false;
  /// A notice of bytes written straight to the socket is in the mailbox.
  bool written_notice_posted = false;
  /// The kernel's count of acknowledged bytes when the broker started.
  uint64_t acked_at_start = 0;
  /// Calls from the sink into the broker under way (see `broker_io`).
  unsigned sink_calls = 0;
  /// Current read size (adaptive, see `broker_setup`).
  size_t read_chunk = 0;
  /// Consecutive reads that used at most a quarter of `read_chunk`.
  unsigned small_reads = 0;
  /// The broker's own message handlers, to which a sink made after a
  /// WebSocket upgrade adds its extra ones.
  caf::message_handler handlers;

  /// The actor name CAF reports (e.g. in logs).
  static inline const char* name = "tao.connection_broker";
};

/// A broker actor serving one TCP connection.
using connection_broker_actor = caf::stateful_actor<connection_broker_state, caf::io::broker>;

/// Behaviour of a connection broker: reads with `at_most(read_chunk_size)`,
/// runs the bytes through TLS when the setup has it, parses frames with the
/// codec's decoder, hands batches to the sink, writes `(write_atom, bytes)`,
/// accounts outbound bytes, applies inbound backpressure and keeps the
/// connection's clock (`net::liveness`) for its supervisor. Spawn it with
/// `fork` from an acceptor or with `spawn_broker` plus `add_scribe` for
/// outgoing connections.
///
/// With `setup->websocket`, the bytes (after TLS) go through a
/// `websocket_channel` instead of the decoder: messages in, framed writes
/// out as messages, heartbeats as pings, a close frame before close_notify
/// and FIN. The sink is made once the upgrade completed; a broker that never
/// upgrades calls `setup->on_unserved` and quits with its reason.
///
/// Messages: `(write_atom, byte_buffer)`, `(handover_atom, byte_buffer,
/// bool)` (from a `direct_writer`), `(close_atom, error)` (graceful),
/// `(abort_atom, error)` (reset now), `(fail_atom, error)`, `(resume_atom)`,
/// `(heartbeat_atom)`, plus the sink's extra handlers.
caf::behavior connection_broker(connection_broker_actor* self, caf::io::connection_handle hdl,
                                std::shared_ptr<const broker_setup> setup, uint64_t id);

} // namespace tao::net
