#pragma once

#include <memory>

#include <caf/stateful_actor.hpp>

#include "tao/detail/connection_host.hpp"
#include "tao/net/connection_sink.hpp"

namespace tao::detail {

/// The sinks below host a connection of `server` (invalid for clients);
/// `owner` (server or client actor) is told when it joins and leaves.
///
/// Creates the sink of scheduled dispatch: it spawns a handler actor on
/// CAF's scheduler, linked to the broker, and forwards frame batches to it
/// (one message per read, not per frame), applying the inbound window.
std::unique_ptr<net::connection_sink>
make_scheduled_sink(net::broker_io& io, const net::connection_info& info,
                    std::shared_ptr<const connection_options> options, tao::server server,
                    caf::actor owner);

/// Creates the sink of inline dispatch: handlers run inside the broker.
std::unique_ptr<net::connection_sink>
make_inline_sink(net::broker_io& io, const net::connection_info& info,
                 std::shared_ptr<const connection_options> options, tao::server server,
                 caf::actor owner);

} // namespace tao::detail
