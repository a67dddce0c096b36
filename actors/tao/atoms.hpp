#pragma once

#include <caf/atom.hpp>

#include "tao/net/atoms.hpp"

namespace tao {

/// `(written_atom, uint64_t receipt)`: a write made with
/// `connection_ref::write_with_receipt` reached the kernel in full.
using written_atom = net::written_atom;

/// `(write_failed_atom, uint64_t receipt, caf::error)`: a write made with
/// `connection_ref::write_with_receipt` never will reach the kernel.
using write_failed_atom = net::write_failed_atom;

/// `(broadcast_atom, byte_buffer)` to a server: send framed bytes to every
/// connection. Replies a `broadcast_result`.
using broadcast_atom = caf::atom_constant<caf::atom("tao_bcast")>;

/// `(unicast_atom, uint64_t id, byte_buffer)` to a server: send framed bytes
/// to one connection. Replies `caf::error` (none on success).
using unicast_atom = caf::atom_constant<caf::atom("tao_ucast")>;

/// `(count_atom)` to a server: replies the number of connections (size_t).
using count_atom = caf::atom_constant<caf::atom("tao_count")>;

/// `(lookup_atom, uint64_t id)` to a server: replies the `connection_ref`
/// or `errc::closed` ("conn id not found").
using lookup_atom = caf::atom_constant<caf::atom("tao_lookup")>;

/// `(stop_atom)` to a server: stop accepting, close every connection
/// gracefully, wait for them (bounded by the drain timeout) and quit. Replies
/// `caf::unit` when done.
using stop_atom = caf::atom_constant<caf::atom("tao_stop")>;

/// `(sched_atom, caf::timespan, timer callback)` to a server: run the
/// callback on every current and future connection every period (Tao's
/// `Server.Sched`).
using sched_atom = caf::atom_constant<caf::atom("tao_sched")>;

/// `(stats_atom)` to a server: replies a `server_stats`.
using stats_atom = caf::atom_constant<caf::atom("tao_stats")>;

/// `(reload_tls_atom)` to a server: re-read its TLS certificate, key and CA
/// files. New connections use them; established ones keep their session.
/// Replies `caf::unit`, or the error (the old files stay in use).
using reload_tls_atom = caf::atom_constant<caf::atom("tao_reltls")>;

/// `(joined_atom, connection_ref)`: a connection passed on_connect
/// (from connection actors to their server or client).
using joined_atom = caf::atom_constant<caf::atom("tao_joined")>;

/// `(left_atom, uint64_t id, caf::error reason, bool deliberate)`: a
/// connection is gone; `deliberate` if the local side closed it on purpose
/// (from connection actors to their server or client).
using left_atom = caf::atom_constant<caf::atom("tao_left")>;

/// `(unserved_atom, uint64_t id, caf::error reason)`: a connection ended
/// before it reached its handlers (a WebSocket connection that never
/// upgraded: a page served, an upgrade refused or timed out), from its
/// broker to its server.
using unserved_atom = caf::atom_constant<caf::atom("tao_unsrvd")>;

} // namespace tao
