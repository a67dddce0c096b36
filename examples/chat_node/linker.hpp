#pragma once

// Keeps a node linked with the other nodes it knows: connects through the
// middleman actor (plain BASP or caf::openssl), hands each remote room to the
// local room, and reconnects with exponential backoff when a link drops.

#include <functional>
#include <string>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/timespan.hpp>

namespace chat_node {

/// `(link_atom, std::string address)` to a linker: keep a link with the node
/// whose room is published at `address` ("host:port"). Idempotent; the
/// node's own address is ignored.
using link_atom = caf::atom_constant<caf::atom("cn_link")>;

/// What a linker is told at spawn.
struct linker_config {
  /// This node's advertised address (never linked to).
  std::string self_address;
  /// The local room: it receives `(peer_atom, remote room)` for every link
  /// made, and should report to this linker (`node_atom`).
  caf::actor room;
  /// Connects to nodes: `sys.middleman().actor_handle()` for plain BASP, or
  /// `sys.openssl_manager().actor_handle()` for TLS links.
  caf::io::middleman_actor middleman;
  /// Bound on one connection attempt (TCP connect plus BASP handshake).
  caf::timespan connect_timeout = std::chrono::seconds(5);
  /// Bound on the TCP probe made before each attempt: the middleman is asked
  /// to connect only to nodes that answered it, because its connect() blocks
  /// (minutes for an address that drops SYNs, holding up every other link
  /// attempt and the node's shutdown).
  std::chrono::milliseconds probe_timeout{500};
  /// First retry delay after a failed attempt or a lost link; doubles per
  /// failure up to `max_backoff`, back to this after a link came up.
  caf::timespan min_backoff = std::chrono::milliseconds(100);
  /// Largest retry delay.
  caf::timespan max_backoff = std::chrono::seconds(1);
  /// Failed attempts in a row after which an address learned from gossip or
  /// from a node that linked to us is forgotten (0: never). Addresses given
  /// by `link_atom` are retried for as long as the linker lives; a node that
  /// comes back announces itself by linking to its own peers.
  unsigned forget_after = 10;
  /// Receives one readable line per event (peer up/down, retries, replays,
  /// gaps), prefixed with the local time as "[YYYY-mm-dd HH:MM:SS.mmm] "; may
  /// be empty. Called from the linker's actor.
  std::function<void(const std::string&)> log;
};

/// Spawns a linker; make it the room's observer (the room reports up, down,
/// gossip and log lines to it). Each attempt probes the address with a plain
/// TCP connect first (on a short-lived detached actor, bounded by
/// `probe_timeout`), then asks the middleman. A link that fails or drops is
/// retried with exponential backoff; see `forget_after` for how long.
caf::actor spawn_linker(caf::actor_system& sys, linker_config cfg);

/// Splits "host:port"; false if it is malformed.
bool split_address(const std::string& address, std::string& host, uint16_t& port);

} // namespace chat_node
