#include "room_registry.hpp"

#include <map>
#include <unordered_map>

#include <caf/actor_addr.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "token_bucket.hpp"

namespace compose {

namespace {

struct member {
  std::string name;
  std::string room;
  tao::connection_ref conn;
};

struct room {
  explicit room(token_bucket b) : bucket(b) {
  }
  token_bucket bucket;
  std::map<uint64_t, tao::connection_ref> members;
};

struct registry_state {
  registry_config cfg;
  std::unordered_map<uint64_t, member> members; // by connection id
  std::map<std::string, room> rooms;            // by name
  std::map<caf::actor_addr, uint64_t> ids;      // monitored actor -> id
  registry_stats stats;
  /// The actor's name in CAF's logs.
  static inline const char* name = "room_registry";
};

using registry_actor = caf::stateful_actor<registry_state>;

void leave(registry_actor* self, uint64_t id) {
  auto& st = self->state;
  auto i = st.members.find(id);
  if (i == st.members.end())
    return;
  auto r = st.rooms.find(i->second.room);
  if (r != st.rooms.end()) {
    r->second.members.erase(id);
    if (r->second.members.empty())
      st.rooms.erase(r);
  }
  auto addr = i->second.conn.actor().address();
  self->demonitor(addr);
  st.ids.erase(addr);
  st.members.erase(i);
  st.stats.members = st.members.size();
}

caf::behavior registry(registry_actor* self, registry_config cfg) {
  self->state.cfg = cfg;
  // A member's connection is gone: drop it, as if it had left.
  self->set_down_handler([self](const caf::down_msg& msg) {
    auto i = self->state.ids.find(msg.source);
    if (i != self->state.ids.end())
      leave(self, i->second);
  });
  return {
    [self](join_atom, const std::string& room_name, const std::string& name,
           const tao::connection_ref& conn) {
      auto& st = self->state;
      leave(self, conn.id());
      auto now = self->clock().now();
      auto r = st.rooms.try_emplace(room_name, token_bucket{st.cfg.rate, st.cfg.burst, now});
      r.first->second.members.emplace(conn.id(), conn);
      st.members[conn.id()] = member{name, room_name, conn};
      st.ids[conn.actor().address()] = conn.id();
      self->monitor(conn.actor());
      st.stats.members = st.members.size();
      conn.write(notice{"joined " + room_name});
    },
    [self](say_atom, uint64_t id, const std::string& text) {
      auto& st = self->state;
      auto i = st.members.find(id);
      if (i == st.members.end())
        return;
      auto& r = st.rooms.at(i->second.room);
      if (!r.bucket.try_take(self->clock().now())) {
        ++st.stats.rate_limited;
        i->second.conn.write(notice{"rate limited: " + text});
        return;
      }
      ++st.stats.delivered;
      chat_line line{i->second.name + ": " + text};
      for (auto& [member_id, conn] : r.members)
        conn.write(line); // would_block: that member misses the line
    },
    [self](leave_atom, uint64_t id) { leave(self, id); },
    [self](room_stats_atom) { return self->state.stats; },
    [self](members_atom, const std::string& room_name) -> size_t {
      auto r = self->state.rooms.find(room_name);
      return r == self->state.rooms.end() ? 0 : r->second.members.size();
    },
  };
}

} // namespace

caf::actor spawn_room_registry(caf::actor_system& sys, registry_config cfg) {
  return sys.spawn(registry, cfg);
}

} // namespace compose
