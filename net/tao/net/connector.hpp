#pragma once

#include <cstdint>
#include <string>

#include <caf/atom.hpp>
#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/expected.hpp>
#include <caf/timespan.hpp>

namespace tao::net {

/// `(connect_atom)` to a connector: replies the connected socket (int64_t)
/// or an error.
using connect_atom = caf::atom_constant<caf::atom("tao_conn")>;

/// Connects to `host:port` without ever blocking CAF's I/O thread: resolves
/// the name, then tries each address with a non-blocking `connect` bounded
/// by `timeout` in total. Returns a connected, non-blocking socket, or
/// `errc::connect_timeout` / `errc::network_failure`. Blocks the calling
/// thread: call it from a detached actor (see `connector`).
caf::expected<int64_t> connect_socket(const std::string& host, uint16_t port,
                                      caf::timespan timeout);

/// A one-shot connector actor for `host:port` bounded by `timeout`: spawn it
/// `detached`, request it once with `connect_atom`, and it quits after
/// replying. CAF 0.17's own connect
/// blocks the multiplexer thread that every broker shares; this one blocks
/// only its own thread.
caf::behavior connector(caf::event_based_actor* self, std::string host, uint16_t port,
                        caf::timespan timeout);

} // namespace tao::net
