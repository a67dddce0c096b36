#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/expected.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/send.hpp>
#include <caf/typed_actor.hpp>

#include "tao/atoms.hpp"
#include "tao/options.hpp"
#include "tao/protocol/message.hpp"
#include "tao/reconnect_policy.hpp"

namespace tao {

namespace detail {
class client_outlet;
} // namespace detail

/// What happens to writes while a client has no connection.
enum class offline_writes {
  /// Queue them (up to the high-water mark in bytes) and send them, in
  /// order, once connected.
  queue,
  /// Refuse them with `errc::closed`.
  fail,
};

/// Options of a client (Tao's `NewClientConn(netid, conn, opts...)`, but the
/// client dials by itself and never blocks CAF's I/O thread doing so).
struct client_options : connection_options {
  /// Host name or address to connect to (IPv4, IPv6 or a name).
  std::string host = "127.0.0.1";
  /// Port to connect to.
  uint16_t port = 0;
  /// Bound on one connection attempt (name resolution included).
  caf::timespan connect_timeout = std::chrono::seconds(5);
  /// Reconnection, off by default (as in Tao).
  reconnect_policy reconnect;
  /// Writes while disconnected.
  offline_writes offline = offline_writes::queue;
  /// Called before each reconnect attempt with its number (1-based), the
  /// delay before it, and the error that caused it.
  std::function<void(unsigned attempt, caf::timespan delay, const caf::error&)> on_reconnecting;
  /// Called when the client stops trying, with the last error. Writes still
  /// in the offline queue are dropped then, and the error's context says
  /// how many bytes ("...; 28 bytes written while offline not delivered"),
  /// its code staying the last error's. The client actor then terminates.
  std::function<void(const caf::error&)> on_give_up;
};

/// `(write_atom, byte_buffer)` to a client actor: send framed bytes (queued
/// while disconnected). Replies `caf::error` (none on success), as
/// `client::write` returns it.
using client_write_atom = caf::atom_constant<caf::atom("tao_cwrite")>;

/// `(close_atom)` to a client actor: close deliberately; no reconnect. The
/// client actor terminates once the connection is closed.
using client_close_atom = caf::atom_constant<caf::atom("tao_cclose")>;

/// Counters of a client.
struct client_stats {
  /// Connection attempts (first included).
  uint64_t attempts = 0;
  /// Connections established.
  uint64_t connects = 0;
  /// Writes refused (offline queue full or offline writes failing).
  uint64_t refused_writes = 0;
  /// Bytes queued while offline, right now.
  uint64_t offline_bytes = 0;
  /// True while connected.
  bool connected = false;
};

/// The messages a client actor understands, as a typed CAF interface.
using client_actor = caf::typed_actor<caf::reacts_to<client_write_atom, protocol::byte_buffer>,
                                      caf::reacts_to<client_close_atom>,
                                      caf::replies_to<stats_atom>::with<client_stats>>;

/// A client connection under a supervisor actor that connects, reconnects
/// with backoff, queues offline writes and runs the same handlers, callbacks,
/// timers and write path as server connections. Copyable handle; all member
/// functions are asynchronous and thread-safe.
class client {
public:
  /// An invalid handle.
  client() = default;

  /// Builds a handle (used by the framework).
  client(caf::actor actor, protocol::codec_ptr codec, std::shared_ptr<detail::client_outlet> outlet)
    : actor_(std::move(actor)), codec_(std::move(codec)), outlet_(std::move(outlet)) {
  }

  /// Starts the client actor, which connects in the background. Fails only
  /// for invalid options; connection errors go to on_error, on_reconnecting
  /// and on_give_up.
  static caf::expected<client> start(caf::actor_system& sys, client_options opts);

  /// True if the handle refers to a client.
  explicit operator bool() const noexcept {
    return static_cast<bool>(actor_);
  }

  /// The client actor, as its typed interface. Monitor it to learn when the
  /// client is finished (deliberate close or give-up).
  client_actor actor() const noexcept {
    return caf::actor_cast<client_actor>(actor_);
  }

  /// Encodes `msg` in the caller's thread and queues it on the connection
  /// (accounted in its outbound budget, as `connection_ref::write` does) or,
  /// while there is none, in the offline queue that the next connection
  /// sends first. Writes through the client keep their order. Fails with the
  /// encoder's error, `errc::would_block` (high-water mark or offline queue
  /// full) or `errc::closed` (the client is closed or gave up, offline writes
  /// fail by policy, or a client without reconnection lost its connection);
  /// refusals are counted in `client_stats`. A write that succeeded is
  /// delivered, or the connection's on_close reports it lost.
  template <class T>
  caf::error write(const T& msg) const {
    protocol::byte_buffer buf;
    if (auto err = protocol::encode_message(*codec_, msg, buf))
      return err;
    return write_encoded(std::move(buf));
  }

  /// Queues bytes already framed with the client's codec; see `write`.
  caf::error write_encoded(protocol::byte_buffer bytes) const;

  /// Closes deliberately: queued writes are delivered, no reconnect follows,
  /// and the client actor terminates.
  void close() const {
    caf::anon_send(actor_, client_close_atom::value);
  }

private:
  caf::actor actor_;
  protocol::codec_ptr codec_;
  std::shared_ptr<detail::client_outlet> outlet_;
};

/// CAF inspection for `client_stats`.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, client_stats& x) {
  return f(caf::meta::type_name("tao.client_stats"), x.attempts, x.connects, x.refused_writes,
           x.offline_bytes, x.connected);
}

} // namespace tao
