#include "room.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <random>
#include <unordered_map>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include "tao/connection.hpp"
#include "tao/connection_ref.hpp"
#include "tao/protocol/message.hpp"

#include "ledger.hpp"
#include "room_metrics.hpp"

namespace chat_node {

namespace {

using chat_message = tao::protocol::text_message<chat_line_type>;
using history_message = tao::protocol::text_message<history_line_type>;
using tick_atom = caf::atom_constant<caf::atom("cn_tick")>;

struct peer_entry {
  caf::actor room;
  uint64_t incarnation = 0;
  std::string address;
  /// True once its hello arrived.
  bool greeted = false;
};

/// A hello (or welcome) that arrived before the room knew its own address.
struct early_hello {
  caf::actor peer;
  uint64_t incarnation;
  std::string address;
  std::vector<std::string> known;
  bool welcome;
};

int64_t system_wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

struct room_state {
  room_config cfg;
  std::unique_ptr<ledger> book;
  std::unique_ptr<room_metrics> metrics;
  /// Hellos held back until `node_atom` (published rooms are reachable a
  /// moment before the node tells them their address).
  std::vector<early_hello> early;
  std::unordered_map<caf::actor_addr, tao::connection_ref> members;
  /// Nicks of the browser members (a subset of `members`).
  std::unordered_map<caf::actor_addr, std::string> nicks;
  /// Who is connected to each greeted peer's node, by incarnation.
  std::map<uint64_t, std::vector<std::string>> remote_rosters;
  /// The roster changed since it was last published.
  bool roster_dirty = false;
  /// Peers by the handle the room monitors (a BASP proxy in production).
  std::map<caf::actor_addr, peer_entry> peers;
  /// Greeted peers' handles by incarnation, for the ledger's messages.
  std::unordered_map<uint64_t, caf::actor> by_incarnation;
  uint64_t refused_writes = 0;
  static inline const char* name = "chat_node.room";
};

using room_actor = caf::stateful_actor<room_state>;

size_t greeted_peers(const room_state& st) {
  size_t n = 0;
  for (auto& kvp : st.peers)
    n += kvp.second.greeted ? 1 : 0;
  return n;
}

std::vector<std::string> known_addresses(const room_state& st) {
  std::vector<std::string> result;
  for (auto& kvp : st.peers)
    if (kvp.second.greeted && !kvp.second.address.empty())
      result.push_back(kvp.second.address);
  return result;
}

/// Writes frames of `type` with each text to every member in `to` (every
/// member if null), encoding them once.
void write_lines(room_actor* self, const std::vector<std::string>& texts, int32_t type,
                 const tao::connection_ref* to = nullptr) {
  auto& st = self->state;
  if (texts.empty())
    return;
  tao::protocol::byte_buffer buf;
  for (auto& text : texts) {
    auto err = type == history_line_type
                 ? tao::protocol::encode_message(*st.cfg.codec, history_message{text}, buf)
                 : tao::protocol::encode_message(*st.cfg.codec, chat_message{text}, buf);
    if (err)
      return;
  }
  if (to != nullptr) {
    if (to->write_encoded(buf))
      ++st.refused_writes;
    return;
  }
  for (auto& kvp : st.members)
    if (kvp.second.write_encoded(buf))
      ++st.refused_writes;
}

/// Carries out what the ledger asked for: local writes, messages to peers.
void apply(room_actor* self, ledger_effects& fx) {
  auto& st = self->state;
  write_lines(self, fx.local, chat_line_type);
  for (auto& out : fx.send) {
    auto i = st.by_incarnation.find(out.peer);
    if (i == st.by_incarnation.end())
      continue;
    std::visit([&](auto& msg) { caf::anon_send(i->second, std::move(msg)); }, out.msg);
  }
  if (st.cfg.observer)
    for (auto& line : fx.events)
      caf::anon_send(st.cfg.observer, log_atom::value, std::move(line));
}

ledger_time now(room_actor* self) {
  return self->clock().now();
}

/// Says `text` in the room as if a local client had.
void say_line(room_actor* self, std::string text) {
  auto& st = self->state;
  ledger_effects fx;
  st.book->say(std::move(text), st.cfg.wall_clock(), fx);
  apply(self, fx);
}

/// Who is connected to this node: browsers by nick, other clients as
/// "tcp-<id>@<node address>".
std::vector<std::string> local_roster(const room_state& st) {
  std::vector<std::string> result;
  for (auto& kvp : st.members) {
    auto i = st.nicks.find(kvp.first);
    result.push_back(i != st.nicks.end()
                       ? i->second
                       : "tcp-" + std::to_string(kvp.second.id()) + "@" + st.cfg.address);
  }
  std::sort(result.begin(), result.end());
  return result;
}

/// Sends this node's roster to every greeted peer and the whole room's to
/// every local browser.
void publish_roster(room_actor* self) {
  auto& st = self->state;
  st.roster_dirty = false;
  auto local = local_roster(st);
  for (auto& kvp : st.by_incarnation)
    caf::anon_send(kvp.second, roster_atom::value, st.cfg.incarnation, local);
  if (st.nicks.empty())
    return;
  auto all = local;
  for (auto& kvp : st.remote_rosters)
    all.insert(all.end(), kvp.second.begin(), kvp.second.end());
  std::sort(all.begin(), all.end());
  std::string text;
  for (auto& x : all)
    text += x + "\n";
  for (auto& kvp : st.nicks) {
    auto i = st.members.find(kvp.first);
    if (i != st.members.end() && i->second.write_frame(roster_type, text))
      ++st.refused_writes;
  }
}

/// `wanted` made printable, at most 24 bytes (never half a UTF-8
/// sequence), "guest" if nothing is left.
std::string clean_nick(const std::string& wanted) {
  std::string out;
  for (char c : wanted) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u != 0x7f && out.size() < 24)
      out += c;
  }
  while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xc0) == 0x80)
    out.pop_back();
  if (!out.empty() && static_cast<unsigned char>(out.back()) >= 0xc0)
    out.pop_back();
  return out.empty() ? "guest" : out;
}

/// A browser member asks for a nick: unique among the nicks this node
/// knows (its own and its peers' rosters).
void claim_nick(room_actor* self, const tao::connection_ref& ref, const std::string& wanted) {
  auto& st = self->state;
  auto addr = ref.actor().address();
  if (st.members.count(addr) == 0)
    return; // not (or no longer) a member
  auto base = clean_nick(wanted);
  auto taken = [&](const std::string& x) {
    for (auto& kvp : st.nicks)
      if (kvp.first != addr && kvp.second == x)
        return true;
    for (auto& kvp : st.remote_rosters)
      if (std::find(kvp.second.begin(), kvp.second.end(), x) != kvp.second.end())
        return true;
    return false;
  };
  auto nick = base;
  for (int n = 2; taken(nick); ++n)
    nick = base + "-" + std::to_string(n);
  auto i = st.nicks.find(addr);
  bool first = i == st.nicks.end();
  st.nicks[addr] = nick;
  if (ref.write_frame(nick_type, nick))
    ++st.refused_writes;
  if (first)
    say_line(self, "* " + nick + " joined\n");
  publish_roster(self);
}

template <class Message>
void handle_peer_message(room_actor* self, const Message& msg) {
  ledger_effects fx;
  self->state.book->handle(msg, now(self), fx);
  apply(self, fx);
}

/// Sends `(Atom, this room, incarnation, address, known)` to `peer`.
template <class Atom>
void introduce(room_actor* self, const caf::actor& peer, Atom what) {
  auto& st = self->state;
  caf::anon_send(peer, what, caf::actor_cast<caf::actor>(self), st.cfg.incarnation, st.cfg.address,
                 known_addresses(st));
}

/// Adds `peer` if it is new (monitored, not yet greeted); returns its entry.
peer_entry& add_peer(room_actor* self, const caf::actor& peer, bool& added) {
  auto& st = self->state;
  auto i = st.peers.find(peer.address());
  added = i == st.peers.end();
  if (added) {
    self->monitor(peer);
    i = st.peers.emplace(peer.address(), peer_entry{peer, 0, {}, false}).first;
  }
  return i->second;
}

/// A hello (`welcome` false) or the answer to ours arrived from `peer`.
///
/// A hello is answered even when the sender is greeted already: the sender
/// has just added this room, so it waits for an answer. Without one a link
/// could stay one-sided for good: on a thawed node, CAF 0.17's BASP can
/// deliver a peer's hello through a proxy and kill that proxy right after
/// (a second purge of the peer's node); this room then drops the peer, its
/// linker reconnects and says hello, and the peer, which added this room
/// already, would not answer.
void greet(room_actor* self, const caf::actor& peer, uint64_t incarnation,
           const std::string& address, const std::vector<std::string>& known, bool welcome) {
  auto& st = self->state;
  if (!peer || peer == caf::actor_cast<caf::actor>(self) || incarnation == st.cfg.incarnation)
    return;
  if (!welcome)
    introduce(self, peer, welcome_atom::value);
  bool added = false;
  auto& entry = add_peer(self, peer, added);
  if (entry.greeted)
    return;
  entry.greeted = true;
  entry.incarnation = incarnation;
  entry.address = address;
  st.by_incarnation[incarnation] = peer;
  ledger_effects fx;
  st.book->peer_up(incarnation, address, now(self), fx);
  apply(self, fx);
  caf::anon_send(peer, roster_atom::value, st.cfg.incarnation, local_roster(st));
  if (st.cfg.observer) {
    caf::anon_send(st.cfg.observer, up_atom::value, peer, address, incarnation, greeted_peers(st));
    if (!known.empty())
      caf::anon_send(st.cfg.observer, gossip_atom::value, known);
  }
}

room_stats stats_of(const room_state& st) {
  auto t = st.book->totals();
  room_stats result;
  result.members = st.members.size();
  result.peers = greeted_peers(st);
  result.said = t.said;
  result.received = t.received;
  result.duplicates = t.duplicates;
  result.out_of_order = t.out_of_order;
  result.replayed = t.replayed;
  result.nacks = t.nacks;
  result.gaps = t.gaps;
  result.missed = t.missed;
  result.retained = t.retained;
  result.retained_bytes = t.retained_bytes;
  result.refused_writes = st.refused_writes;
  return result;
}

/// Sets up the state: ledger, metrics.
void init(room_actor* self, room_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  if (!st.cfg.wall_clock)
    st.cfg.wall_clock = system_wall_ms;
  ledger_config lcfg;
  lcfg.incarnation = st.cfg.incarnation;
  lcfg.address = st.cfg.address;
  lcfg.since = st.cfg.since != 0 ? st.cfg.since : st.cfg.wall_clock();
  lcfg.retention = st.cfg.retention;
  lcfg.history_lines = st.cfg.history_lines;
  lcfg.link_stale = std::max(lcfg.link_stale, 5 * st.cfg.ack_interval);
  st.book = std::make_unique<ledger>(std::move(lcfg));
  if (st.cfg.metrics)
    st.metrics = std::make_unique<room_metrics>(st.cfg.metrics);
}

caf::behavior room(room_actor* self, room_config cfg) {
  init(self, std::move(cfg));
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    if (st.members.erase(msg.source) > 0) {
      auto i = st.nicks.find(msg.source);
      if (i != st.nicks.end()) {
        auto nick = std::move(i->second);
        st.nicks.erase(i);
        say_line(self, "* " + nick + " left\n");
      }
      st.roster_dirty = true;
      return;
    }
    auto i = st.peers.find(msg.source);
    if (i == st.peers.end())
      return;
    auto entry = std::move(i->second);
    st.peers.erase(i);
    if (!entry.greeted)
      return;
    auto j = st.by_incarnation.find(entry.incarnation);
    if (j != st.by_incarnation.end() && j->second.address() == msg.source) {
      st.by_incarnation.erase(j);
      st.book->peer_down(entry.incarnation);
      if (st.remote_rosters.erase(entry.incarnation) > 0)
        st.roster_dirty = true;
    }
    if (st.cfg.observer)
      caf::anon_send(st.cfg.observer, down_atom::value, msg.source, entry.address,
                     std::move(msg.reason), greeted_peers(st));
  });
  self->delayed_send(self, self->state.cfg.ack_interval, tick_atom::value);
  return {
    [self](join_atom, const tao::connection_ref& ref) {
      auto& st = self->state;
      if (!ref)
        return;
      auto& past = st.book->history();
      write_lines(self, std::vector<std::string>(past.begin(), past.end()), history_line_type,
                  &ref);
      self->monitor(ref.actor());
      st.members.emplace(ref.actor().address(), ref);
      st.roster_dirty = true;
    },
    [self](say_atom, std::string& text) { say_line(self, std::move(text)); },
    [self](nick_atom, const tao::connection_ref& ref, const std::string& wanted) {
      claim_nick(self, ref, wanted);
    },
    [self](web_say_atom, const caf::actor_addr& member, const std::string& text) {
      auto& st = self->state;
      auto i = st.nicks.find(member);
      if (i == st.nicks.end())
        return; // lines before a nick are dropped
      auto line = i->second + ": " + text;
      if (line.back() != '\n')
        line += '\n';
      say_line(self, std::move(line));
    },
    [self](roster_atom, uint64_t incarnation, std::vector<std::string>& members) {
      auto& st = self->state;
      if (st.by_incarnation.count(incarnation) == 0)
        return; // not (or no longer) a greeted peer
      st.remote_rosters[incarnation] = std::move(members);
      st.roster_dirty = true;
    },
    [self](const peer_lines& msg) { handle_peer_message(self, msg); },
    [self](const peer_ack& msg) { handle_peer_message(self, msg); },
    [self](const peer_nack& msg) { handle_peer_message(self, msg); },
    [self](const peer_gap& msg) { handle_peer_message(self, msg); },
    [self](const peer_start& msg) { handle_peer_message(self, msg); },
    [self](tick_atom) {
      auto& st = self->state;
      ledger_effects fx;
      st.book->tick(now(self), fx);
      apply(self, fx);
      if (st.metrics)
        st.metrics->publish(*st.book, st.members.size());
      if (st.roster_dirty)
        publish_roster(self);
      self->delayed_send(self, st.cfg.ack_interval, tick_atom::value);
    },
    [self](peer_atom, const caf::actor& peer) {
      if (!peer || peer == caf::actor_cast<caf::actor>(self))
        return;
      bool added = false;
      add_peer(self, peer, added);
      if (added)
        introduce(self, peer, hello_atom::value);
    },
    [self](hello_atom, caf::actor& peer, uint64_t incarnation, std::string& address,
           std::vector<std::string>& known) {
      auto& st = self->state;
      if (st.cfg.address.empty()) {
        st.early.push_back(
          {std::move(peer), incarnation, std::move(address), std::move(known), false});
        return;
      }
      greet(self, peer, incarnation, address, known, false);
    },
    [self](welcome_atom, caf::actor& peer, uint64_t incarnation, std::string& address,
           std::vector<std::string>& known) {
      auto& st = self->state;
      if (st.cfg.address.empty()) {
        st.early.push_back(
          {std::move(peer), incarnation, std::move(address), std::move(known), true});
        return;
      }
      greet(self, peer, incarnation, address, known, true);
    },
    [self](node_atom, const std::string& address, const caf::actor& observer) {
      auto& st = self->state;
      st.cfg.address = address;
      st.cfg.observer = observer;
      st.book->set_address(address);
      auto early = std::move(st.early);
      st.early.clear();
      for (auto& x : early)
        greet(self, x.peer, x.incarnation, x.address, x.known, x.welcome);
    },
    [self](room_stats_atom) { return stats_of(self->state); },
  };
}

} // namespace

uint64_t random_incarnation() {
  std::random_device rd;
  std::mt19937_64 gen{
    (static_cast<uint64_t>(rd()) << 32) ^ rd()
    ^ static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count())};
  uint64_t result = 0;
  while (result == 0)
    result = gen();
  return result;
}

caf::actor spawn_room(caf::actor_system& sys, room_config cfg) {
  return sys.spawn(room, std::move(cfg));
}

caf::error serve_room(tao::server_options& opts, const caf::actor& room) {
  opts.on_connect = [room](tao::connection& c) {
    caf::anon_send(room, join_atom::value, c.ref());
    return true;
  };
  return opts.handlers.on<chat_message>([room](tao::connection&, const chat_message& m) {
    caf::anon_send(room, say_atom::value, m.text);
  });
}

caf::error serve_room_web(tao::server_options& opts, const caf::actor& room) {
  using nick_message = tao::protocol::text_message<nick_type>;
  opts.on_connect = [room](tao::connection& c) {
    caf::anon_send(room, join_atom::value, c.ref());
    return true;
  };
  if (auto err = opts.handlers.on<nick_message>([room](tao::connection& c, const nick_message& m) {
        caf::anon_send(room, nick_atom::value, c.ref(), m.text);
      }))
    return err;
  return opts.handlers.on<chat_message>([room](tao::connection& c, const chat_message& m) {
    caf::anon_send(room, web_say_atom::value, c.ref().actor().address(), m.text);
  });
}

} // namespace chat_node
