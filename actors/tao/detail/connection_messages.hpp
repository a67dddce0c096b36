#pragma once

#include <caf/atom.hpp>

namespace tao::detail {

// Messages to the actor running a connection's handlers (the broker in
// inline dispatch, the connection actor in scheduled dispatch), besides
// `net::timer_atom` and `sched_atom`.

/// `(shutdown_atom, caf::error reason)`: close gracefully once the work
/// under way is done: frames received before this message are handled and
/// pending replies awaited; then the broker delivers what is queued, then
/// FIN. (`net::close_atom` to the broker skips the first part.)
using shutdown_atom = caf::atom_constant<caf::atom("tao_shut")>;

/// `(idle_atom, idle_kind)`: the supervisor saw the connection idle and the
/// options have an `on_idle` callback.
using idle_atom = caf::atom_constant<caf::atom("tao_idle")>;

/// `(hold_released_atom)`: the connection's last `pending_reply` was
/// released.
using hold_released_atom = caf::atom_constant<caf::atom("tao_hold")>;

} // namespace tao::detail
