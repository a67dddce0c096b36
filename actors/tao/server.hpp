#pragma once

#include <cstdint>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/expected.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/send.hpp>
#include <caf/typed_actor.hpp>

#include "tao/atoms.hpp"
#include "tao/connection.hpp"
#include "tao/options.hpp"
#include "tao/protocol/codec.hpp"
#include "tao/protocol/message.hpp"

namespace tao {

/// Reply of the server to `broadcast_atom`.
struct broadcast_result {
  /// Connections the frame was queued for.
  uint64_t delivered = 0;
  /// Connections that refused it (would_block, closing), by id.
  std::vector<uint64_t> failed;
};

/// CAF inspection for `broadcast_result`.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, broadcast_result& x) {
  return f(caf::meta::type_name("tao.broadcast_result"), x.delivered, x.failed);
}

/// Counters of a server.
struct server_stats {
  /// Connections open now (accepted and not yet closed).
  uint64_t connections = 0;
  /// Connections accepted since start.
  uint64_t accepted = 0;
  /// Connections refused because of max_connections.
  uint64_t refused_max_connections = 0;
  /// Connections refused by on_connect.
  uint64_t refused_on_connect = 0;
  /// Connections that arrived while the server was stopping, closed at once.
  uint64_t refused_stopping = 0;
  /// Connections closed since start.
  uint64_t closed = 0;
  /// Connections that failed their TLS handshake or a TLS record (a
  /// plaintext client on a TLS port, an untrusted client certificate, a
  /// handshake timeout, ...).
  uint64_t tls_failures = 0;
  /// WebSocket upgrades completed (WebSocket transport only).
  uint64_t websocket_upgrades = 0;
  /// Plain HTTP requests answered on a WebSocket port (pages, 404s).
  uint64_t http_requests = 0;
  /// WebSocket upgrades refused or failed (malformed or oversized HTTP, a
  /// wrong version, key or origin, a handshake timeout).
  uint64_t websocket_handshake_failures = 0;
  /// WebSocket connections closed for bad frames or messages (close codes
  /// 1002, 1003, 1007, 1009).
  uint64_t websocket_protocol_failures = 0;
};

/// CAF inspection for `server_stats`.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, server_stats& x) {
  return f(caf::meta::type_name("tao.server_stats"), x.connections, x.accepted,
           x.refused_max_connections, x.refused_on_connect, x.refused_stopping, x.closed,
           x.tls_failures, x.websocket_upgrades, x.http_requests, x.websocket_handshake_failures,
           x.websocket_protocol_failures);
}

/// The messages a server actor understands, as a typed CAF interface:
/// sending it anything else does not compile, and every reply is typed.
/// `server`'s member functions send these for you; actors use the interface
/// directly, e.g. `self->request(srv.actor(), 1s, stats_atom::value)`.
using server_actor =
  caf::typed_actor<caf::replies_to<broadcast_atom, protocol::byte_buffer>::with<broadcast_result>,
                   caf::reacts_to<unicast_atom, uint64_t, protocol::byte_buffer>,
                   caf::replies_to<count_atom>::with<uint64_t>,
                   caf::replies_to<lookup_atom, uint64_t>::with<connection_ref>,
                   caf::replies_to<stats_atom>::with<server_stats>,
                   caf::reacts_to<sched_atom, caf::timespan, connection::timer_callback>,
                   caf::reacts_to<reload_tls_atom>, caf::reacts_to<stop_atom>>;

/// A running server: Tao's `Server`. A copyable handle on the server actor,
/// which owns the listening socket and every connection.
///
/// All member functions are asynchronous (messages to the server actor) and
/// safe from any thread. To wait for replies, `request` the server actor
/// (`actor()`, a typed `server_actor`).
class server {
public:
  /// An invalid handle.
  server() = default;

  /// Builds a handle (used by the framework).
  server(caf::actor actor, protocol::codec_ptr codec, uint16_t port, uint16_t websocket_port = 0)
    : actor_(std::move(actor)), codec_(std::move(codec)), port_(port),
      websocket_port_(websocket_port) {
  }

  /// Binds `opts.host:opts.port` and starts serving. Blocks only while the
  /// socket is bound (not while connections are served). Fails with the bind
  /// error or `errc::invalid_argument` for inconsistent options.
  static caf::expected<server> start(caf::actor_system& sys, server_options opts);

  /// True if the handle refers to a server.
  explicit operator bool() const noexcept {
    return static_cast<bool>(actor_);
  }

  /// The port the server listens on (the ephemeral one if 0 was asked).
  uint16_t port() const noexcept {
    return port_;
  }

  /// The port of WebSocket clients when `server_options::websocket_port`
  /// was set (the ephemeral one if 0 was asked), else 0.
  uint16_t websocket_port() const noexcept {
    return websocket_port_;
  }

  /// The server actor, as its typed interface.
  server_actor actor() const noexcept {
    return caf::actor_cast<server_actor>(actor_);
  }

  /// Sends `msg` to every connection, encoding it once. Connections above
  /// their high-water mark or closing are skipped; the others still get it
  /// (Tao stopped at the first failure). Returns encoder errors only.
  template <class T>
  caf::error broadcast(const T& msg) const {
    protocol::byte_buffer buf;
    if (auto err = protocol::encode_message(*codec_, msg, buf))
      return err;
    caf::anon_send(actor_, broadcast_atom::value, std::move(buf));
    return {};
  }

  /// Sends `msg` to connection `id`. Unknown ids are reported to a requester
  /// of `unicast_atom`; this fire-and-forget form returns encoder errors only.
  template <class T>
  caf::error unicast(uint64_t id, const T& msg) const {
    protocol::byte_buffer buf;
    if (auto err = protocol::encode_message(*codec_, msg, buf))
      return err;
    caf::anon_send(actor_, unicast_atom::value, id, std::move(buf));
    return {};
  }

  /// Runs `f` on every current and future connection every `period` (Tao's
  /// `Sched`, which only reached connections accepted after the call).
  void sched(caf::timespan period, connection::timer_callback f) const;

  /// Re-reads the TLS certificate, key and CA files without dropping any
  /// connection: new connections use the new files, established ones keep
  /// their session. Errors (the old files stay in use) reach requesters of
  /// `reload_tls_atom`; this fire-and-forget form reports none.
  void reload_tls() const;

  /// Stops: no more accepts, every connection closed gracefully (queued
  /// writes delivered within the drain timeout), then the server actor quits.
  /// Never exits the process. Returns at once; to learn when the stop is
  /// complete, request `stop_atom` from `actor()` instead (the same message)
  /// or monitor it.
  void stop() const;

private:
  caf::actor actor_;
  protocol::codec_ptr codec_;
  uint16_t port_ = 0;
  uint16_t websocket_port_ = 0;
};

} // namespace tao

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tao::connection::timer_callback)
