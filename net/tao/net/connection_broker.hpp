#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
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
#include "tao/protocol/codec.hpp"
#include "tao/protocol/decoder.hpp"

namespace tao::net {

/// Settings of connection brokers, shared (immutable) by all connections of
/// a server or client.
struct broker_setup {
  /// Framing.
  protocol::codec_ptr codec;
  /// Creates each connection's sink.
  sink_factory make_sink;
  /// Largest number of bytes read per system call.
  size_t read_chunk_size = 32 * 1024;
  /// Smallest (and first) number of bytes read per system call; the broker
  /// doubles its read size when a read fills it and halves it after a run
  /// of small reads (as Netty's adaptive receive buffer does).
  size_t min_read_chunk_size = 2 * 1024;
  /// Outbound high-water mark in bytes.
  size_t high_water_mark = 4u << 20;
  /// Outbound low-water mark in bytes.
  size_t low_water_mark = 1u << 20;
  /// If true, a connection whose queue exceeds the high-water mark is reset as
  /// a slow consumer; otherwise writers get `would_block`.
  bool disconnect_slow_consumers = false;
  /// Inbound bytes in flight to the sink's actor before reading pauses.
  size_t inbound_limit = 1u << 20;
  /// Bound on delivering queued bytes at a graceful close.
  std::chrono::milliseconds drain_timeout{5000};
  /// True when running on CAF's test multiplexer (no real sockets).
  bool simulated = false;
  /// Send a Tao heartbeat every period and close the connection with
  /// `errc::heartbeat_timeout` once no frame arrived for `heartbeat_misses`
  /// periods. 0 disables both.
  caf::timespan heartbeat_period{0};
  /// Silent periods tolerated.
  unsigned heartbeat_misses = 3;
  /// If true, each broker times its own heartbeats; otherwise the owner sends
  /// `(heartbeat_atom)` ticks (one timer for all of a server's connections).
  bool self_timed_heartbeats = false;
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
  /// Called on the I/O thread after each heartbeat sent (metrics); may be
  /// empty.
  std::function<void()> on_heartbeat_sent;
  /// Called on the I/O thread with every write's framed bytes (whole
  /// frames, before TLS), e.g. to count frames by type; may be empty.
  std::function<void(const protocol::byte_buffer&)> on_write;
  /// The server or client owning the connections; each broker monitors it
  /// and resets its connection when the owner terminates. May be null.
  caf::actor owner;
};

/// State of one connection broker.
struct connection_broker_state {
  /// The connection.
  caf::io::connection_handle hdl;
  /// Shared settings.
  std::shared_ptr<const broker_setup> setup;
  /// What the sink was told.
  connection_info info;
  /// The TLS session; null for plain TCP.
  std::unique_ptr<tls_channel> tls;
  /// Plaintext decrypted from the last read (reused between reads).
  protocol::byte_buffer tls_plain;
  /// The WebSocket session; null for a plain byte stream.
  std::unique_ptr<websocket_channel> ws;
  /// Frame parser.
  std::unique_ptr<protocol::decoder> decoder;
  /// Receiver of frames; null until a WebSocket upgrade completed.
  std::unique_ptr<connection_sink> sink;
  /// The broker as seen by the sink.
  std::unique_ptr<broker_io> io;
  /// The connection's CAF scribe, held so that the write side can be kept
  /// after CAF detached it at the peer's end of input (half-close).
  caf::io::scribe_ptr scribe;
  /// Set once the peer ended its input and the sink kept the write side.
  bool input_closed = false;
  /// Set once a close started.
  bool closing = false;
  /// Set once the sink was told the connection is gone.
  bool finished = false;
  /// Reason passed to the sink when the close completes.
  caf::error close_reason;
  /// The first fatal error seen (protocol, TLS, liveness); the connection's
  /// end reports it even if the peer's FIN arrives before the sink closed.
  caf::error failure;
  /// When the last complete frame arrived (or the connection opened).
  caf::actor_clock::time_point last_frame;
  /// Current read size (adaptive, see `broker_setup`).
  size_t read_chunk = 0;
  /// Consecutive reads that used at most a quarter of `read_chunk`.
  unsigned small_reads = 0;
  /// The broker's own message handlers, to which a sink made after a
  /// WebSocket upgrade adds its extra ones.
  caf::message_handler handlers;

  /// The actor name CAF reports (e.g. in logs).
  static inline const char* name = "tao.connection";
};

/// A broker actor serving one TCP connection.
using connection_broker_actor = caf::stateful_actor<connection_broker_state, caf::io::broker>;

/// Behaviour of a connection broker: reads with `at_most(read_chunk_size)`,
/// runs the bytes through TLS when the setup has it, parses frames with the
/// codec's decoder, hands batches to the sink, writes
/// `(write_atom, bytes)`, accounts outbound bytes and applies inbound
/// backpressure. Spawn it with `fork` from an acceptor or with
/// `spawn_broker` plus `add_scribe` for outgoing connections.
///
/// With `setup->websocket`, the bytes (after TLS) go through a
/// `websocket_channel`: messages in, framed writes out as messages, and the
/// sink is made once the upgrade completed (a broker that never upgrades
/// quits with the channel's reason and never calls the sink factory).
///
/// Messages: `(write_atom, byte_buffer)`, `(close_atom, error, bool abort)`,
/// `(resume_atom)`, `(heartbeat_atom)`, plus the sink's extra handlers.
caf::behavior connection_broker(connection_broker_actor* self, caf::io::connection_handle hdl,
                                std::shared_ptr<const broker_setup> setup, uint64_t id);

} // namespace tao::net
