#pragma once

#include <memory>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "tao/net/connection_broker.hpp"
#include "tao/options.hpp"
#include "tao/server.hpp"
#include "tao/supervisor.hpp"

namespace tao::detail {

/// Broker settings for the connections of a server or client, all taken from
/// `options` (where tao's defaults are declared): limits, the dispatch
/// mode's sink, `owner` (the server or client actor) to monitor and notify,
/// and the `supervisor` that watches each connection's liveness. `server` is
/// invalid for client connections.
std::shared_ptr<net::broker_setup>
make_broker_setup(caf::actor_system& sys, std::shared_ptr<const connection_options> options,
                  tao::server server, caf::actor owner, tao::supervisor supervisor);

} // namespace tao::detail
