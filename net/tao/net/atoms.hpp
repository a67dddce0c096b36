#pragma once

#include <caf/atom.hpp>

namespace tao::net {

/// `(write_atom, byte_buffer)` to a connection broker: append already-framed
/// bytes to the output. The sender must have reserved the bytes in the
/// connection's `outbound_budget`.
using write_atom = caf::atom_constant<caf::atom("tao_write")>;

/// `(write_atom, byte_buffer, write_receipt_ptr)`: as above, and answer the
/// receipt: `(written_atom, id)` once the kernel took all of the bytes, or
/// `(write_failed_atom, id, caf::error)` if it never will.
///
/// `(handover_atom, byte_buffer, bool counted)` to a connection broker:
/// bytes a `direct_writer` could not send itself, to be sent in mailbox
/// order (and, if `counted` is false, shown to the setup's `on_write`).
using handover_atom = caf::atom_constant<caf::atom("tao_hand")>;

/// `(close_atom, caf::error reason)`: close gracefully, after the pending
/// work. To a broker: deliver every byte reserved so far, then FIN. To a
/// connection actor: handle the frames already received (and wait for
/// pending replies), then close the broker so.
using close_atom = caf::atom_constant<caf::atom("tao_close")>;

/// `(abort_atom, caf::error reason)` to a connection broker: reset the
/// connection now, discarding what is queued.
using abort_atom = caf::atom_constant<caf::atom("tao_abort")>;

/// `(fail_atom, caf::error reason)` to a connection broker: the connection
/// failed (dead peer, protocol error): stop reading, report the error and
/// close after the frames already handed over are handled.
using fail_atom = caf::atom_constant<caf::atom("tao_fail")>;

/// `(frames_atom, frame_batch)`: frames a connection broker read, in order.
using frames_atom = caf::atom_constant<caf::atom("tao_frames")>;

/// `(input_closed_atom, caf::error reason)`: the peer ended its input; the
/// write side stays open until the connection closes it.
using input_closed_atom = caf::atom_constant<caf::atom("tao_inend")>;

/// `(closed_atom, caf::error reason)`: the connection is gone; last message a
/// connection broker sends to its sink actor.
using closed_atom = caf::atom_constant<caf::atom("tao_closed")>;

/// `(resume_atom)`: the sink consumed enough inbound bytes; read again.
using resume_atom = caf::atom_constant<caf::atom("tao_resume")>;

/// `(writable_atom)`: the outbound queue fell to the low-water mark.
using writable_atom = caf::atom_constant<caf::atom("tao_wrtbl")>;

/// `(error_atom, caf::error)`: a non-fatal error seen by the broker.
using error_atom = caf::atom_constant<caf::atom("tao_error")>;

/// `(tls_atom, tls_session)`: the TLS handshake completed.
using tls_atom = caf::atom_constant<caf::atom("tao_tls")>;

/// `(heartbeat_atom)` to a connection broker: send a Tao heartbeat now
/// (skipped above the high-water mark).
using heartbeat_atom = caf::atom_constant<caf::atom("tao_hbeat")>;

/// `(written_atom, uint64_t receipt)`: a write with a receipt was handed to
/// the kernel in full.
using written_atom = caf::atom_constant<caf::atom("tao_wrote")>;

/// `(write_failed_atom, uint64_t receipt, caf::error)`: a write with a
/// receipt will never be handed to the kernel (the connection ended first).
using write_failed_atom = caf::atom_constant<caf::atom("tao_wfail")>;

/// `(timer_atom, uint64_t id)`: a connection timer fired.
using timer_atom = caf::atom_constant<caf::atom("tao_timer")>;

} // namespace tao::net
