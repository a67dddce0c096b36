#pragma once

// The chat room of one node: local members (tao connections) and peer rooms
// on other nodes, reached through CAF's middleman like any other actor.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>

#include "tao/options.hpp"
#include "tao/protocol/codec.hpp"

namespace chat_node {

/// `(join_atom, tao::connection_ref)` to a room: a local client joined. The
/// room monitors the connection's actor and drops it when it is gone.
using join_atom = caf::atom_constant<caf::atom("cn_join")>;

/// `(say_atom, std::string line)` to a room: a local client sent a line (raw
/// text, trailing newline included). Send it from the client's connection
/// actor so that one client's lines keep their order.
using say_atom = caf::atom_constant<caf::atom("cn_say")>;

/// `(peer_atom, caf::actor room)` to a room: link with a room on another node
/// (from the linker, after connecting to that node). Idempotent.
using peer_atom = caf::atom_constant<caf::atom("cn_peer")>;

/// `(hello_atom, caf::actor room, uint64_t incarnation, std::string address,
/// std::vector<std::string> known)`: between rooms, the handshake of a link.
/// `known` lists the node addresses of the sender's other peers (gossip).
using hello_atom = caf::atom_constant<caf::atom("cn_hello")>;

/// `(up_atom, caf::actor room, std::string address, uint64_t incarnation,
/// size_t peers)` from a room to its observer: a peer completed the handshake.
using up_atom = caf::atom_constant<caf::atom("cn_up")>;

/// `(down_atom, caf::actor_addr room, std::string address, caf::error reason,
/// size_t peers)` from a room to its observer: a peer is gone (its node died,
/// froze past the BASP connection timeout, or the link closed).
using down_atom = caf::atom_constant<caf::atom("cn_down")>;

/// `(gossip_atom, std::vector<std::string> addresses)` from a room to its
/// observer: node addresses a peer knows.
using gossip_atom = caf::atom_constant<caf::atom("cn_gossip")>;

/// `(node_atom, std::string address, caf::actor observer)` to a room: sets
/// the node address and the observer after spawn (a node learns its address
/// only once the room is published). Send it before linking any peer. A room
/// without an address holds back the hellos of peers until it gets one.
using node_atom = caf::atom_constant<caf::atom("cn_node")>;

/// `(room_stats_atom)` to a room: replies its `room_stats`.
using room_stats_atom = caf::atom_constant<caf::atom("cn_stats")>;

/// One chat line between rooms. `origin` is the incarnation of the room whose
/// client sent it, `seq` that room's counter (1, 2, ...). Rooms forward only
/// lines of their own clients, so each line travels once per peer, over the
/// one BASP connection between the two nodes, in the order it was said.
struct peer_line {
  uint64_t origin = 0;
  uint64_t seq = 0;
  std::string text;
};

/// CAF inspection for `peer_line` (register it on every node with
/// `add_message_type<peer_line>("chat_node.peer_line")`).
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_line& x) {
  return f(caf::meta::type_name("chat_node.peer_line"), x.origin, x.seq, x.text);
}

/// Counters of a room.
struct room_stats {
  /// Local members now.
  uint64_t members = 0;
  /// Peers that completed the handshake now.
  uint64_t peers = 0;
  /// Lines said by local clients.
  uint64_t said = 0;
  /// Lines received from peers and delivered.
  uint64_t received = 0;
  /// Lines from peers dropped as already seen (origin, seq).
  uint64_t duplicates = 0;
  /// Writes to local members refused (would_block, closed).
  uint64_t refused_writes = 0;
};

/// CAF inspection for `room_stats`.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, room_stats& x) {
  return f(caf::meta::type_name("chat_node.room_stats"), x.members, x.peers, x.said, x.received,
           x.duplicates, x.refused_writes);
}

/// What a room is told at spawn.
struct room_config {
  /// Identifies this run of the room; a restarted node must use a new one
  /// (e.g. `random_incarnation()`), so its counter may restart at 1.
  uint64_t incarnation = 0;
  /// The address other nodes reach this node at ("host:port" of the node
  /// port), passed on to peers for gossip.
  std::string address;
  /// Framing of the local clients' connections (Tao's TLV by default).
  tao::protocol::codec_ptr codec = tao::protocol::default_codec();
  /// Receives up/down/gossip reports; may be invalid.
  caf::actor observer;
};

/// A fresh random incarnation id (never 0).
uint64_t random_incarnation();

/// Spawns a room. Every line said by a local member goes to every local
/// member (the sender included, as in Tao's chat) and to every peer room,
/// which delivers it to its own members. Lines from peers are never relayed.
/// A line seen again with the same (origin, seq) is dropped and counted.
///
/// The room terminates only when told to (exit message); members and peers
/// that go away are dropped.
caf::actor spawn_room(caf::actor_system& sys, room_config cfg);

/// Makes every connection of a server built from `opts` a member of `room`:
/// `on_connect` joins it, and each chat line (type 1) is said in it from the
/// connection's actor, so one client's lines keep their order. Replaces
/// `on_connect`; fails with `errc::duplicate_registration` if `opts` already
/// handles type 1.
caf::error serve_room(tao::server_options& opts, const caf::actor& room);

} // namespace chat_node
