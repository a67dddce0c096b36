#pragma once

#include <memory>

#include <caf/actor.hpp>

#include "tao/net/connection_sink.hpp"
#include "tao/options.hpp"
#include "tao/server.hpp"
#include "tao/supervisor.hpp"

namespace tao::detail {

/// Creates the sink that runs the handlers of connection `info` of `server`
/// (invalid for clients), where `options->dispatch` says:
///
/// - inline dispatch (the default): the sink itself holds the connection's
///   runtime; handlers run in the broker, on the I/O thread, with no hop.
/// - scheduled dispatch: the sink spawns the connection actor on CAF's
///   scheduler (linked to the broker), which holds the runtime; the sink
///   forwards each read's frames as one message and applies the inbound
///   window.
///
/// `owner` (server or client actor) is told when the connection joins and
/// leaves; `supervisor` gets the connection's clock to watch, if the options
/// ask for any liveness check.
std::unique_ptr<net::connection_sink>
make_connection_sink(net::broker_io& io, const net::connection_info& info,
                     std::shared_ptr<const connection_options> options, tao::server server,
                     caf::actor owner, tao::supervisor supervisor);

} // namespace tao::detail
