#pragma once

// The chat room of one node: local members (tao connections) and peer rooms
// on other nodes, reached through CAF's middleman like any other actor. What
// it delivered, retains and replays is its ledger's (ledger.hpp); the room
// carries the ledger's messages and writes its lines to the members.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>

#include "tao/metrics.hpp"
#include "tao/options.hpp"
#include "tao/protocol/codec.hpp"

#include "retention.hpp"

namespace chat_node {

/// `(join_atom, tao::connection_ref)` to a room: a local client joined. The
/// room monitors the connection's actor and drops it when it is gone.
using join_atom = caf::atom_constant<caf::atom("cn_join")>;

/// `(say_atom, std::string line)` to a room: a local client sent a line (raw
/// text, trailing newline included). Send it from the client's connection
/// actor so that one client's lines keep their order.
using say_atom = caf::atom_constant<caf::atom("cn_say")>;

/// `(nick_atom, tao::connection_ref, std::string wanted)` to a room: a
/// browser member (the web server's connection) asks for a nick. The room
/// answers with the nick it got (`nick_type`, unique among this node's
/// members), says "* nick joined" the first time, prefixes the member's
/// lines with it from then on, and sends the roster (`roster_type`) to every
/// browser member of every node.
using nick_atom = caf::atom_constant<caf::atom("cn_nick")>;

/// `(web_say_atom, caf::actor_addr connection, std::string line)` to a room:
/// a browser member sent a line; the room prefixes it with the member's nick
/// (lines before a nick are dropped). Send it from the connection's actor.
using web_say_atom = caf::atom_constant<caf::atom("cn_wsay")>;

/// `(roster_atom, uint64_t incarnation, std::vector<std::string> members)`:
/// between rooms, who is connected to the sender's node (sent on every
/// change and to each peer that completes the handshake).
using roster_atom = caf::atom_constant<caf::atom("cn_roster")>;

/// `(peer_atom, caf::actor room)` to a room: link with a room on another node
/// (from the linker, after connecting to that node). Idempotent.
using peer_atom = caf::atom_constant<caf::atom("cn_peer")>;

/// `(hello_atom, caf::actor room, uint64_t incarnation, std::string address,
/// std::vector<std::string> known)`: between rooms, the handshake of a link.
/// `known` lists the node addresses of the sender's other peers (gossip).
/// Always answered with a `welcome_atom`, even by a room that counts the
/// sender as linked already: the sender has just (re)added this room, and
/// would otherwise wait for ever if this room's old view of the link is
/// about to go (a DOWN still on its way).
using hello_atom = caf::atom_constant<caf::atom("cn_hello")>;

/// `(welcome_atom, caf::actor room, uint64_t incarnation, std::string
/// address, std::vector<std::string> known)`: between rooms, the answer to a
/// hello (same fields); never answered.
using welcome_atom = caf::atom_constant<caf::atom("cn_welcome")>;

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

/// Frame type of a chat line for clients (Tao's chat: raw text, trailing
/// newline included). Notices of missed lines are chat lines too.
constexpr int32_t chat_line_type = 1;

/// Frame type of a history line: one of the last lines of the room, sent to
/// a client when it joins, before any live line. Tao's chat clients skip it
/// as an unknown type.
constexpr int32_t history_line_type = 2;

/// Frame type of the nick a browser member got (the browser chat page's
/// protocol, see examples/chat/web/chat.js).
constexpr int32_t nick_type = 3;

/// Frame type of the roster sent to browser members: one member per line,
/// sorted; browsers by nick, other clients as "tcp-<id>@<node address>".
constexpr int32_t roster_type = 4;

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
  /// Lines from peers dropped as already delivered (origin, seq).
  uint64_t duplicates = 0;
  /// Lines from peers dropped because an earlier one was missing.
  uint64_t out_of_order = 0;
  /// Lines sent to peers in replays.
  uint64_t replayed = 0;
  /// Replays asked of peers.
  uint64_t nacks = 0;
  /// Gaps announced to local clients, and the lines they covered.
  uint64_t gaps = 0;
  uint64_t missed = 0;
  /// Lines and bytes retained for replay, every origin.
  uint64_t retained = 0;
  uint64_t retained_bytes = 0;
  /// Writes to local members refused (would_block, closed).
  uint64_t refused_writes = 0;
};

/// CAF inspection for `room_stats`.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, room_stats& x) {
  return f(caf::meta::type_name("chat_node.room_stats"), x.members, x.peers, x.said, x.received,
           x.duplicates, x.out_of_order, x.replayed, x.nacks, x.gaps, x.missed, x.retained,
           x.retained_bytes, x.refused_writes);
}

/// `(log_atom, std::string)` from a room to its observer: a line worth
/// logging (replays served, gaps announced).
using log_atom = caf::atom_constant<caf::atom("cn_log")>;

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
  /// Receives up/down/gossip/log reports; may be invalid.
  caf::actor observer;
  /// Lines retained per origin for replay.
  retention_limits retention;
  /// Lines sent as history to a client that joins (0: none).
  size_t history_lines = 20;
  /// Period of acknowledgements to peers (and of metrics updates).
  caf::timespan ack_interval = std::chrono::milliseconds(200);
  /// Wall time the node started (ms since the epoch); 0: now, at spawn.
  int64_t since = 0;
  /// Wall clock in ms since the epoch (lines are stamped with it); the
  /// system clock if empty.
  std::function<int64_t()> wall_clock;
  /// Prometheus metrics to publish `chat_*` into; may be null.
  tao::metrics_ptr metrics;
};

/// A fresh random incarnation id (never 0).
uint64_t random_incarnation();

/// Spawns a room. Every line said by a local member goes to every local
/// member (the sender included, as in Tao's chat) and to every peer room,
/// which delivers it to its own members. Rooms acknowledge what they
/// delivered and replay what a peer missed (see `ledger.hpp`): after any
/// link loss each line reaches every node once, in the order its client said
/// it, or a gap is announced to the clients. A client that joins first gets
/// the last `history_lines` lines as history (`history_line_type`).
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

/// Makes every connection of a WebSocket server built from `opts` a browser
/// member of `room`: `on_connect` joins it, a nick message (`nick_type`)
/// claims a nick, and each chat line is said in the room prefixed with that
/// nick. Replaces `on_connect`; fails with `errc::duplicate_registration` if
/// `opts` already handles type 1 or `nick_type`.
caf::error serve_room_web(tao::server_options& opts, const caf::actor& room);

} // namespace chat_node
