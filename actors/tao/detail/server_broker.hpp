#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <caf/io/doorman.hpp>

#include "tao/detail/connection_gate.hpp"
#include "tao/net/tls_context.hpp"
#include "tao/net/websocket_context.hpp"
#include "tao/options.hpp"
#include "tao/server.hpp"

namespace tao::detail {

/// `(adopt_atom, int64_t fd, bool websocket)`: a socket accepted by a
/// sharded server's dealer, for the server broker of its shard (which owns
/// it from then on). `websocket` marks the second listener's connections.
using adopt_atom = caf::atom_constant<caf::atom("tao_adopt")>;

/// What one server broker serves: the whole server on one I/O thread, or
/// one shard of a server on several (`tao::io_pool`).
struct server_broker_config {
  /// The server's options (shared by every shard).
  std::shared_ptr<const server_options> options;
  /// TLS and WebSocket contexts, shared by every shard (thread-safe).
  std::shared_ptr<net::tls_context> tls;
  std::shared_ptr<net::websocket_context> websocket;
  /// One I/O thread: the listeners the broker accepts from (`ws` may be
  /// null), and their ports. Sharded: null; sockets arrive as `adopt_atom`.
  caf::io::doorman_ptr main;
  caf::io::doorman_ptr ws;
  uint16_t port = 0;
  uint16_t ws_port = 0;
  /// Sharded: the server has a WebSocket listener besides the main one.
  bool ws_listener = false;
  /// Sharded: this broker's shard (tagged into connection ids) and the gate
  /// enforcing `max_connections` over all shards.
  size_t shard = 0;
  std::shared_ptr<connection_gate> gate;
  /// Sharded: the handle users and handlers see (the front actor); invalid
  /// when the broker is the server itself.
  tao::server front;
};

/// Spawns a server broker on `sys`'s multiplexer. It understands every
/// message of `tao::server_actor` for the connections it owns, plus
/// `adopt_atom`.
caf::actor spawn_server_broker(caf::actor_system& sys, server_broker_config cfg);

} // namespace tao::detail
