#pragma once

#include <cstddef>

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/io/middleman.hpp>

#include "tao/logging.hpp"

namespace tao::test {

/// An actor system configuration for deterministic tests: CAF's test
/// coordinator (one thread, virtual time) and test multiplexer (no sockets,
/// `middleman.network-backend=testing`, manual multiplexing). Loads the
/// middleman. Quiets tao's logging to warnings, so that test output shows
/// failures rather than servers starting and stopping. Not thread-safe (a
/// configuration is built and used on one thread).
struct config : caf::actor_system_config {
  /// Sets the keys above.
  config() {
    set("scheduler.policy", caf::atom("testing"));
    set("logger.inline-output", true);
    set("middleman.network-backend", caf::atom("testing"));
    set("middleman.manual-multiplexing", true);
    set("middleman.workers", size_t{0});
    load<caf::io::middleman>();
    tao::log_options quiet;
    quiet.level = tao::log_level::warn;
    tao::configure_logging(quiet);
  }
};

} // namespace tao::test
