#pragma once

// What rooms of different nodes send each other besides the link handshake:
// chat lines, acknowledgements, replay requests, gaps and starting points.
// Ordinary CAF messages (BASP serializes them with `inspect`); every node
// registers them with `register_peer_messages`.
//
// Rooms are identified by their incarnation (a random 64-bit id per start of
// a node); each message names its sender so that the receiver does not depend
// on how CAF addresses the sending actor.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor_system_config.hpp>
#include <caf/meta/type_name.hpp>

namespace chat_node {

/// One line as carried between rooms.
struct line_entry {
  /// Wall-clock time at the origin when the line was said (ms since the
  /// epoch, never decreasing per origin).
  int64_t ts = 0;
  /// The raw text, trailing newline included.
  std::string text;
};

/// CAF inspection for `line_entry`.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, line_entry& x) {
  return f(caf::meta::type_name("chat_node.line_entry"), x.ts, x.text);
}

/// Consecutive lines of one origin: `lines[i]` has sequence number
/// `first_seq + i`. A live line travels alone; replays carry up to
/// `ledger_config::replay_batch` lines per message.
struct peer_lines {
  /// Incarnation of the room that sent this message (the origin itself, or a
  /// room relaying the origin's lines).
  uint64_t sender = 0;
  /// Incarnation of the room whose client said the lines.
  uint64_t origin = 0;
  uint64_t first_seq = 0;
  std::vector<line_entry> lines;
};

/// CAF inspection for `peer_lines`.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_lines& x) {
  return f(caf::meta::type_name("chat_node.peer_lines"), x.sender, x.origin, x.first_seq, x.lines);
}

/// How far a room has delivered the lines of one origin.
struct position {
  uint64_t origin = 0;
  /// Highest sequence number delivered (every line up to it was delivered
  /// or announced as missed).
  uint64_t seq = 0;
};

/// CAF inspection for `position`.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, position& x) {
  return f(caf::meta::type_name("chat_node.position"), x.origin, x.seq);
}

/// Sent to every peer when the link comes up and then periodically: what the
/// sender has delivered, per origin it knows (its own origin included, with
/// the number of lines its clients said). A receiver that sees a peer ahead
/// of it asks for the difference (`peer_nack`).
struct peer_ack {
  uint64_t sender = 0;
  std::vector<position> positions;
};

/// CAF inspection for `peer_ack`.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_ack& x) {
  return f(caf::meta::type_name("chat_node.peer_ack"), x.sender, x.positions);
}

/// A request to replay the lines of `origin` after `after`. With `known`
/// false the sender has never had a line of `origin` (the origin itself is
/// asked): it wants the lines said since `since` (ms since the epoch, the
/// time its node started), announced by a `peer_start` first.
struct peer_nack {
  uint64_t sender = 0;
  uint64_t origin = 0;
  bool known = true;
  uint64_t after = 0;
  int64_t since = 0;
};

/// CAF inspection for `peer_nack`.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_nack& x) {
  return f(caf::meta::type_name("chat_node.peer_nack"), x.sender, x.origin, x.known, x.after,
           x.since);
}

/// Lines `from`..`to` of `origin` are no longer retained by the sender: the
/// receiver announces them as missed and continues after `to`. `exact` is
/// false when some of them may have been said before the receiver's node
/// started (the count is then an upper bound).
struct peer_gap {
  uint64_t sender = 0;
  uint64_t origin = 0;
  uint64_t from = 0;
  uint64_t to = 0;
  bool exact = true;
};

/// CAF inspection for `peer_gap`.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_gap& x) {
  return f(caf::meta::type_name("chat_node.peer_gap"), x.sender, x.origin, x.from, x.to, x.exact);
}

/// The answer of an origin to a `peer_nack` with `known` false: the
/// receiver's delivery of `origin` starts after `after` (lines up to it were
/// said before the receiver's node started). Replayed lines follow.
struct peer_start {
  uint64_t sender = 0;
  uint64_t origin = 0;
  /// The origin's node address ("host:port"), for notices and metrics.
  std::string address;
  uint64_t after = 0;
};

/// CAF inspection for `peer_start`.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_start& x) {
  return f(caf::meta::type_name("chat_node.peer_start"), x.sender, x.origin, x.address, x.after);
}

/// Adds every type above to `cfg` (required on every node: an unregistered
/// type is dropped by BASP at run time, not refused at compile time).
void register_peer_messages(caf::actor_system_config& cfg);

} // namespace chat_node
