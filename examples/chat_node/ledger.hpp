#pragma once

// The delivery ledger of one node: which lines of every origin it delivered,
// what it retains for replay, what it asked peers for. Pure logic with no
// actors and no clocks of its own (the room passes the time in), so that the
// delivery guarantee can be tested step by step.
//
// Protocol, between the rooms of two linked nodes:
// - Each room sends its clients' lines to every peer as they are said
//   (`peer_lines`, numbered 1, 2, ... per incarnation).
// - Each room sends `peer_ack` (its position per origin) when a link comes up
//   and every tick. A room that sees a peer ahead of it for an origin asks
//   that peer for the difference (`peer_nack`): the origin itself, or any
//   peer when the origin is not linked to it (the peer relays). Only
//   `position + 1` is ever delivered; anything further is dropped and asked
//   for again, anything older is a duplicate and dropped.
// - The first contact with an origin is a `peer_nack` with `known` false to
//   the origin, answered by `peer_start` (lines said before this node started
//   are not owed) and the lines since.
// - Lines no longer retained are answered by `peer_gap`: the receiver tells
//   its clients "missed N lines from node X" and continues after them.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include <caf/timespan.hpp>
#include <caf/timestamp.hpp>

#include "peer_messages.hpp"
#include "retention.hpp"

namespace chat_node {

/// Steady time as the room's actor clock gives it.
using ledger_time = std::chrono::steady_clock::time_point;

/// What a ledger is told at construction.
struct ledger_config {
  /// This room's incarnation (never 0).
  uint64_t incarnation = 1;
  /// This node's address ("host:port" of the node port); may be set later.
  std::string address;
  /// Wall time this node started (ms since the epoch): lines said before it
  /// by origins this node never heard of are not owed to its clients.
  int64_t since = 0;
  /// Bounds of the lines retained per origin.
  retention_limits retention;
  /// Lines a client gets as history when it joins.
  size_t history_lines = 20;
  /// Lines per `peer_lines` message of a replay.
  size_t replay_batch = 256;
  /// A replay asked for that made no progress for this long is asked again
  /// (from the same or another peer).
  caf::timespan nack_timeout = std::chrono::seconds(1);
  /// A peer whose last ack is older than this counts as not linked: its
  /// lines may be fetched from other peers.
  caf::timespan link_stale = std::chrono::seconds(1);
  /// Retained lines of an incarnation replaced by a newer one at the same
  /// address are dropped after this long (its position is kept for ever).
  caf::timespan superseded_ttl = std::chrono::seconds(60);
};

/// A message for one peer, named by its incarnation.
struct outgoing {
  uint64_t peer = 0;
  std::variant<peer_lines, peer_ack, peer_nack, peer_gap, peer_start> msg;
};

/// What the room must do after a ledger call, in order.
struct ledger_effects {
  /// Chat lines (type 1) for every local client: lines and notices.
  std::vector<std::string> local;
  /// Messages for peers.
  std::vector<outgoing> send;
  /// Readable lines for the node's log: replays served, gaps announced.
  std::vector<std::string> events;
};

/// Counters of one peer link (kept across link losses).
struct peer_counters {
  /// Lines sent to it in replays (answers to its `peer_nack`).
  uint64_t replayed = 0;
  /// Lines from it dropped as already delivered.
  uint64_t duplicates = 0;
  /// Lines from it dropped because an earlier one was missing.
  uint64_t out_of_order = 0;
  /// Replays asked of it.
  uint64_t nacks = 0;
  /// Lines of this node said and not yet acknowledged by it (0 if unlinked).
  uint64_t unacked = 0;
  bool linked = false;
};

/// Counters of one origin.
struct origin_counters {
  /// Lines delivered (said here, for this node's own origin).
  uint64_t delivered = 0;
  uint64_t retained = 0;
  uint64_t retained_bytes = 0;
  /// Gaps announced to clients, and the lines they covered.
  uint64_t gaps = 0;
  uint64_t missed = 0;
};

/// Totals of a ledger.
struct ledger_totals {
  uint64_t said = 0;
  uint64_t received = 0;
  uint64_t duplicates = 0;
  uint64_t out_of_order = 0;
  uint64_t replayed = 0;
  uint64_t nacks = 0;
  uint64_t gaps = 0;
  uint64_t missed = 0;
  uint64_t retained = 0;
  uint64_t retained_bytes = 0;
};

/// The notice clients get for a gap: "*** missed N lines from node ADDRESS"
/// (or "missed up to N lines" when `exact` is false), newline included.
std::string gap_notice(uint64_t lines, const std::string& address, bool exact);

/// The ledger of one node. Not thread-safe: owned by the room actor.
class ledger {
public:
  explicit ledger(ledger_config cfg);

  /// Sets this node's address once known.
  void set_address(std::string address);

  /// A local client said `text` at wall time `wall` (ms): numbers and
  /// retains it, delivers it locally and sends it to every linked peer.
  void say(std::string text, int64_t wall, ledger_effects& out);

  /// A peer's link came up (its hello arrived): acks it at once. Older
  /// incarnations at the same address are superseded.
  void peer_up(uint64_t peer, const std::string& address, ledger_time now, ledger_effects& out);

  /// A peer's link is gone. Replays asked of it may be asked elsewhere.
  void peer_down(uint64_t peer);

  /// Handlers of the peer messages; messages of peers that are not up are
  /// ignored.
  void handle(const peer_lines& msg, ledger_time now, ledger_effects& out);
  void handle(const peer_ack& msg, ledger_time now, ledger_effects& out);
  void handle(const peer_nack& msg, ledger_time now, ledger_effects& out);
  void handle(const peer_gap& msg, ledger_time now, ledger_effects& out);
  void handle(const peer_start& msg, ledger_time now, ledger_effects& out);

  /// Periodic work: acks to every peer, expiry of superseded origins.
  void tick(ledger_time now, ledger_effects& out);

  /// The last `history_lines` lines delivered here, oldest first.
  const std::deque<std::string>& history() const noexcept {
    return history_;
  }

  /// Highest line of `origin` delivered here (0 if unknown).
  uint64_t delivered(uint64_t origin) const;

  /// Counters per peer and per origin, keyed by node address.
  std::map<std::string, peer_counters> peer_stats() const;
  std::map<std::string, origin_counters> origin_stats() const;
  ledger_totals totals() const;

  /// Peers that are up.
  size_t peers() const noexcept {
    return peers_.size();
  }

  const ledger_config& config() const noexcept {
    return cfg_;
  }

private:
  struct pull_state {
    bool active = false;
    uint64_t peer = 0;
    uint64_t target = 0;
    ledger_time last_progress;
  };

  struct origin_state {
    std::string address;
    uint64_t delivered = 0;
    /// Lines up to `base` were never owed here: cannot relay them.
    uint64_t base = 0;
    retained_lines log;
    pull_state pull;
    bool superseded = false;
    ledger_time superseded_at;
    origin_counters counters;
  };

  struct peer_state {
    std::string address;
    bool acked_once = false;
    /// Time of its last ack (of the link coming up before the first).
    ledger_time last_ack;
    uint64_t acked_own = 0;
  };

  origin_state& own() {
    return origins_.at(cfg_.incarnation);
  }
  bool linked(uint64_t origin, ledger_time now) const;
  void deliver(origin_state& o, uint64_t seq, const line_entry& line, ledger_effects& out);
  void progress(origin_state& o, ledger_time now);
  void pull(uint64_t origin, origin_state* o, uint64_t from_peer, uint64_t target, ledger_time now,
            ledger_effects& out);
  void serve(uint64_t to_peer, uint64_t origin, origin_state& o, uint64_t from, bool exact,
             ledger_effects& out);
  void ack(uint64_t to_peer, ledger_effects& out);
  void remember(const std::string& text);
  peer_counters& counters_of(uint64_t peer);
  std::string address_of(uint64_t peer) const;

  ledger_config cfg_;
  std::map<uint64_t, origin_state> origins_;
  /// First contacts asked of origins not known yet.
  std::map<uint64_t, pull_state> unknown_pulls_;
  std::map<uint64_t, peer_state> peers_;
  /// Counters by peer address, kept when a peer goes down or restarts.
  std::map<std::string, peer_counters> peer_counters_;
  std::deque<std::string> history_;
  ledger_totals totals_;
};

} // namespace chat_node
