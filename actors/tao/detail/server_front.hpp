#pragma once

#include <memory>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "tao/net/tls_context.hpp"
#include "tao/net/websocket_context.hpp"
#include "tao/options.hpp"
#include "tao/server.hpp"

namespace tao::detail {

/// Starts a server whose connections are spread over
/// `options->io_threads` I/O shards of `options->io_pool` (shard 0 is
/// `sys`): one listener and a dealer thread that hands each accepted socket
/// to the shard with the fewest connections, one server broker per shard,
/// and a front actor in `sys` (the handle's actor) that routes unicasts and
/// lookups by the shard in the connection id and sums or joins what every
/// shard answers. Fails as `server::start` does.
caf::expected<tao::server> start_sharded_server(caf::actor_system& sys,
                                                std::shared_ptr<const server_options> options,
                                                std::shared_ptr<net::tls_context> tls,
                                                std::shared_ptr<net::websocket_context> websocket);

} // namespace tao::detail
