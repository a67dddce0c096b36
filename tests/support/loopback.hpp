#pragma once

// A real actor system (default scheduler and multiplexer) for loopback tests,
// with bounded helpers to stop servers and await actors.

#include <chrono>
#include <memory>

#include <boost/test/unit_test.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include "tao/logging.hpp"
#include "tao/protocol/error.hpp"
#include "tao/server.hpp"

#include "support/event_log.hpp"

namespace tao::test {

/// Owns an actor system with the middleman; servers and clients must be gone
/// before it is destroyed (CAF waits for every actor).
struct loopback_fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  event_log log;

  loopback_fixture() {
    // Test output shows failures, not servers starting and stopping.
    tao::log_options quiet;
    quiet.level = tao::log_level::warn;
    tao::configure_logging(quiet);
    cfg.load<caf::io::middleman>();
    sys = std::make_unique<caf::actor_system>(cfg);
  }

  ~loopback_fixture() {
    sys.reset();
  }

  /// Stops `srv` and waits (at most 20 s) until it is done and its actor
  /// terminated (the stop's reply comes just before that).
  void stop(const tao::server& srv) {
    caf::scoped_actor self{*sys};
    self->monitor(srv.actor());
    self->request(srv.actor(), std::chrono::seconds(20), tao::stop_atom::value)
      .receive([] {},
               [](caf::error& err) { BOOST_FAIL("stop failed: " << tao::protocol::render(err)); });
    self->receive([](const caf::down_msg&) {}, caf::after(std::chrono::seconds(10)) >>
                                                 [] { BOOST_FAIL("server did not terminate"); });
  }

  /// Waits (at most 10 s) until `whom` terminated.
  void await_exit(const caf::actor& whom) {
    caf::scoped_actor self{*sys};
    self->monitor(whom);
    self->receive([](const caf::down_msg&) {}, caf::after(std::chrono::seconds(10)) >>
                                                 [] { BOOST_FAIL("actor did not terminate"); });
  }
};

} // namespace tao::test
