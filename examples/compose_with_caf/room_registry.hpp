#pragma once

// The room registry: an ordinary CAF actor that tao connections talk to with
// plain CAF messages. It keeps the members of each room, broadcasts a room's
// lines to its members through their connection_ref, limits each room to
// `rate` lines per second (token bucket, `burst` saved up) and drops members
// whose connection actor terminates (it monitors them).

#include <cstdint>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>

#include "tao/connection_ref.hpp"
#include "tao/protocol/message.hpp"

namespace compose {

/// Type 1, both ways: a chat line (client to server: the text; server to
/// client: "name: text").
using chat_line = tao::protocol::text_message<1>;

/// Type 2, client to server: join the room named by the payload (leaving the
/// previous one).
using join_request = tao::protocol::text_message<2>;

/// Type 3, server to client: a notice from the registry ("joined lobby",
/// "rate limited: ...").
using notice = tao::protocol::text_message<3>;

/// `(join_atom, room, name, connection_ref)`: the connection joins `room`
/// under `name`, leaving the room it was in. The registry monitors the
/// connection's actor and drops the member when it terminates.
using join_atom = caf::atom_constant<caf::atom("join")>;

/// `(say_atom, connection id, text)`: a line from a member to its room.
/// Refused with a notice to the sender when the room is over its rate, or
/// when the sender is in no room.
using say_atom = caf::atom_constant<caf::atom("say")>;

/// `(leave_atom, connection id)`: the connection leaves its room.
using leave_atom = caf::atom_constant<caf::atom("leave")>;

/// `(room_stats_atom)`: replies `registry_stats`.
using room_stats_atom = caf::atom_constant<caf::atom("roomstats")>;

/// `(members_atom, room)`: replies the number of members of `room`
/// (size_t).
using members_atom = caf::atom_constant<caf::atom("members")>;

/// Settings of the registry.
struct registry_config {
  /// Lines per second each room passes on.
  double rate = 5.0;
  /// Lines a room may send at once after being quiet.
  double burst = 5.0;
};

/// Counters of the registry.
struct registry_stats {
  /// Lines passed on (each counted once, whatever the number of members).
  uint64_t delivered = 0;
  /// Lines refused by a room's rate limit.
  uint64_t rate_limited = 0;
  /// Members in all rooms.
  uint64_t members = 0;
};

/// CAF inspection for `registry_stats`.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, registry_stats& x) {
  return f(caf::meta::type_name("compose.registry_stats"), x.delivered, x.rate_limited, x.members);
}

/// Spawns a registry in `sys`. The actor runs until it is sent an exit
/// message; it holds no connection open (only handles).
caf::actor spawn_room_registry(caf::actor_system& sys, registry_config cfg);

} // namespace compose
