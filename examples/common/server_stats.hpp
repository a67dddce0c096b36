#pragma once

// Orderly shutdown for the example programs. CAF 0.17 waits at exit for
// every broker, so servers and clients must be stopped before the actor
// system is destroyed; these helpers do it and wait until they are gone.

#include <chrono>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include "tao/all.hpp"

namespace tao::examples {

/// Stops `srv` (graceful: queued writes are delivered) and waits up to
/// `timeout` for it. Safe to call on an invalid handle. Thread-safe.
inline void stop_server(caf::actor_system& sys, const tao::server& srv,
                        caf::timespan timeout = std::chrono::seconds(10)) {
  if (!srv)
    return;
  caf::scoped_actor self{sys};
  self->request(srv.actor(), timeout, tao::stop_atom::value)
    .receive([] {}, [](const caf::error&) {});
}

/// Closes `cli` deliberately (no reconnect) and waits up to `timeout` until
/// its actor terminated. Safe to call on an invalid handle or a client that
/// already gave up. Thread-safe.
inline void close_client(caf::actor_system& sys, const tao::client& cli,
                         caf::timespan timeout = std::chrono::seconds(10)) {
  if (!cli)
    return;
  caf::scoped_actor self{sys};
  self->monitor(cli.actor());
  cli.close();
  self->receive([](const caf::down_msg&) {}, caf::after(timeout) >> [] {});
}

/// The server's counters, or default ones if it does not answer within
/// `timeout`. Thread-safe.
inline tao::server_stats request_stats(caf::actor_system& sys, const tao::server& srv,
                                       caf::timespan timeout = std::chrono::seconds(5)) {
  tao::server_stats result;
  caf::scoped_actor self{sys};
  self->request(srv.actor(), timeout, tao::stats_atom::value)
    .receive([&](const tao::server_stats& x) { result = x; }, [](const caf::error&) {});
  return result;
}

} // namespace tao::examples
