#pragma once

#include <memory>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "tao/net/connection_broker.hpp"
#include "tao/options.hpp"
#include "tao/server.hpp"

namespace tao::detail {

/// Broker settings for the connections of a server or client: the options'
/// limits, the dispatch mode's sink, and `owner` (the server or client actor)
/// to monitor and notify. `server` is invalid for client connections.
/// Heartbeats are server-timed; clients set `self_timed_heartbeats`.
std::shared_ptr<net::broker_setup>
make_broker_setup(caf::actor_system& sys, std::shared_ptr<const connection_options> options,
                  tao::server server, caf::actor owner);

} // namespace tao::detail
