#include "room.hpp"

#include <chrono>
#include <map>
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

namespace chat_node {

namespace {

using chat_message = tao::protocol::text_message<1>;

struct peer_entry {
  caf::actor room;
  uint64_t incarnation = 0;
  std::string address;
  /// True once its hello arrived.
  bool greeted = false;
};

/// A hello that arrived before the room knew its own address.
struct early_hello {
  caf::actor peer;
  uint64_t incarnation;
  std::string address;
  std::vector<std::string> known;
};

struct room_state {
  room_config cfg;
  /// Hellos held back until `node_atom` (published rooms are reachable a
  /// moment before the node tells them their address).
  std::vector<early_hello> early;
  uint64_t next_seq = 1;
  std::unordered_map<caf::actor_addr, tao::connection_ref> members;
  std::map<caf::actor_addr, peer_entry> peers;
  /// Highest seq delivered per origin incarnation, kept across rejoins.
  std::unordered_map<uint64_t, uint64_t> last_seq;
  room_stats stats;
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

/// Writes `text` to every local member, encoding it once.
void deliver(room_actor* self, const std::string& text) {
  auto& st = self->state;
  tao::protocol::byte_buffer buf;
  if (tao::protocol::encode_message(*st.cfg.codec, chat_message{text}, buf))
    return;
  for (auto& kvp : st.members)
    if (kvp.second.write_encoded(buf))
      ++st.stats.refused_writes;
}

void hello(room_actor* self, const caf::actor& peer) {
  auto& st = self->state;
  caf::anon_send(peer, hello_atom::value, caf::actor_cast<caf::actor>(self), st.cfg.incarnation,
                 st.cfg.address, known_addresses(st));
}

/// Adds `peer` if it is new; returns its entry.
peer_entry& add_peer(room_actor* self, const caf::actor& peer, bool& added) {
  auto& st = self->state;
  auto i = st.peers.find(peer.address());
  added = i == st.peers.end();
  if (added) {
    self->monitor(peer);
    i = st.peers.emplace(peer.address(), peer_entry{peer, 0, {}, false}).first;
    hello(self, peer);
  }
  return i->second;
}

void greet(room_actor* self, const caf::actor& peer, uint64_t incarnation,
           const std::string& address, const std::vector<std::string>& known) {
  auto& st = self->state;
  if (!peer || peer == caf::actor_cast<caf::actor>(self))
    return;
  bool added = false;
  auto& entry = add_peer(self, peer, added);
  if (entry.greeted)
    return;
  entry.greeted = true;
  entry.incarnation = incarnation;
  entry.address = address;
  if (st.cfg.observer) {
    caf::anon_send(st.cfg.observer, up_atom::value, peer, address, incarnation, greeted_peers(st));
    if (!known.empty())
      caf::anon_send(st.cfg.observer, gossip_atom::value, known);
  }
}

caf::behavior room(room_actor* self, room_config cfg) {
  self->state.cfg = std::move(cfg);
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    if (st.members.erase(msg.source) > 0)
      return;
    auto i = st.peers.find(msg.source);
    if (i == st.peers.end())
      return;
    auto entry = std::move(i->second);
    st.peers.erase(i);
    if (entry.greeted && st.cfg.observer)
      caf::anon_send(st.cfg.observer, down_atom::value, msg.source, entry.address,
                     std::move(msg.reason), greeted_peers(st));
  });
  return {
    [self](join_atom, const tao::connection_ref& ref) {
      if (!ref)
        return;
      self->monitor(ref.actor());
      self->state.members.emplace(ref.actor().address(), ref);
    },
    [self](say_atom, const std::string& text) {
      auto& st = self->state;
      ++st.stats.said;
      deliver(self, text);
      peer_line line{st.cfg.incarnation, st.next_seq++, text};
      for (auto& kvp : st.peers)
        caf::anon_send(kvp.second.room, line);
    },
    [self](const peer_line& line) {
      auto& st = self->state;
      auto& last = st.last_seq[line.origin];
      if (line.seq <= last) {
        ++st.stats.duplicates;
        return;
      }
      last = line.seq;
      ++st.stats.received;
      deliver(self, line.text);
    },
    [self](peer_atom, const caf::actor& peer) {
      if (!peer || peer == caf::actor_cast<caf::actor>(self))
        return;
      bool added = false;
      add_peer(self, peer, added);
    },
    [self](hello_atom, caf::actor& peer, uint64_t incarnation, std::string& address,
           std::vector<std::string>& known) {
      auto& st = self->state;
      if (st.cfg.address.empty()) {
        st.early.push_back({std::move(peer), incarnation, std::move(address), std::move(known)});
        return;
      }
      greet(self, peer, incarnation, address, known);
    },
    [self](node_atom, const std::string& address, const caf::actor& observer) {
      auto& st = self->state;
      st.cfg.address = address;
      st.cfg.observer = observer;
      auto early = std::move(st.early);
      st.early.clear();
      for (auto& x : early)
        greet(self, x.peer, x.incarnation, x.address, x.known);
    },
    [self](room_stats_atom) {
      auto& st = self->state;
      auto result = st.stats;
      result.members = st.members.size();
      result.peers = greeted_peers(st);
      return result;
    },
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

} // namespace chat_node
