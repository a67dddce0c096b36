#pragma once

#include <caf/atom.hpp>

namespace tao::net {

/// `(write_atom, byte_buffer)`: append already-framed bytes to a connection's
/// output. The sender must have reserved the bytes in the connection's
/// `outbound_budget`.
using write_atom = caf::atom_constant<caf::atom("tao_write")>;

/// `(close_atom, caf::error reason, bool abort)`: close a connection. A
/// graceful close (abort = false) delivers every queued byte, then sends FIN;
/// abort discards them and resets the connection.
using close_atom = caf::atom_constant<caf::atom("tao_close")>;

/// `(frames_atom, frame_batch)`: frames a connection broker read, in order.
using frames_atom = caf::atom_constant<caf::atom("tao_frames")>;

/// `(closed_atom, caf::error reason)`: the connection is gone; last message a
/// connection broker sends to its sink actor.
using closed_atom = caf::atom_constant<caf::atom("tao_closed")>;

/// `(resume_atom)`: the sink consumed enough inbound bytes; read again.
using resume_atom = caf::atom_constant<caf::atom("tao_resume")>;

/// `(writable_atom)`: the outbound queue fell to the low-water mark.
using writable_atom = caf::atom_constant<caf::atom("tao_wrtbl")>;

/// `(error_atom, caf::error)`: a non-fatal error seen by the broker (e.g. a
/// frame of unknown type when the broker counts them).
using error_atom = caf::atom_constant<caf::atom("tao_error")>;

/// `(heartbeat_atom)`: a heartbeat tick for a connection broker: send a Tao
/// heartbeat, or close if the peer stayed silent too long.
using heartbeat_atom = caf::atom_constant<caf::atom("tao_hbeat")>;

/// `(timer_atom, uint64_t id)`: a connection timer fired.
using timer_atom = caf::atom_constant<caf::atom("tao_timer")>;

} // namespace tao::net
