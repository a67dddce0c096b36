#pragma once

// The server's counters for the examples' self-tests. (Stopping servers and
// clients is tao's own now: tao::stop_gracefully and tao::run_until_signal
// in tao/run.hpp.)

#include <chrono>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include "tao/all.hpp"

namespace tao::examples {

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
