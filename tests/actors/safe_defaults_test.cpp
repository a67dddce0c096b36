#define BOOST_TEST_MODULE actors_safe_defaults
#include <string>

#include <boost/test/unit_test.hpp>

#include "tao/all.hpp"

#include "actors/deterministic_server.hpp"

// Misconfiguration is refused with words, never ignored and never an abort:
// duplicate handler registrations, an actor system without a middleman,
// contradictory or zero limits.

using tao::test::echo_message;

namespace {

std::string why(const caf::error& err) {
  return tao::render(err);
}

/// Starts a server on the test kit and returns why it did not start.
caf::error refusal(tao::server_options opts) {
  tao::test::fixture fix;
  auto res = fix.start_server(std::move(opts));
  BOOST_REQUIRE(!res);
  return res.error();
}

} // namespace

BOOST_AUTO_TEST_CASE(a_duplicate_handler_registration_refuses_to_start) {
  tao::server_options opts;
  BOOST_CHECK(!opts.handlers.on<echo_message>([](tao::connection&, const echo_message&) {}));
  // Ignoring the second result does not let the mistake pass.
  auto second = opts.handlers.on<echo_message>([](tao::connection&, const echo_message&) {});
  BOOST_CHECK(tao::is(second, tao::errc::duplicate_registration));
  auto err = refusal(std::move(opts));
  BOOST_CHECK(tao::is(err, tao::errc::duplicate_registration));
  BOOST_TEST_MESSAGE(why(err));
  BOOST_CHECK(why(err).find("1") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_missing_middleman_is_an_error_not_an_abort) {
  caf::actor_system_config cfg; // no cfg.load<caf::io::middleman>()
  cfg.set("scheduler.policy", caf::atom("testing"));
  caf::actor_system sys{cfg};
  auto srv = tao::server::start(sys, tao::server_options{});
  BOOST_REQUIRE(!srv);
  BOOST_CHECK(tao::is(srv.error(), tao::errc::invalid_argument));
  BOOST_CHECK(why(srv.error()).find("middleman") != std::string::npos);
  tao::client_options copts;
  copts.port = 1;
  auto cli = tao::client::start(sys, copts);
  BOOST_REQUIRE(!cli);
  BOOST_CHECK(why(cli.error()).find("middleman") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_low_water_mark_above_the_high_one_is_refused_by_name) {
  tao::server_options opts;
  opts.high_water_mark = 1;
  opts.low_water_mark = 2;
  auto err = refusal(std::move(opts));
  BOOST_CHECK(tao::is(err, tao::errc::invalid_argument));
  BOOST_CHECK(why(err).find("low_water_mark") != std::string::npos);
  BOOST_CHECK(why(err).find("high_water_mark") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(zero_limits_are_refused_by_name) {
  auto check = [](auto set, const std::string& name) {
    tao::server_options opts;
    set(opts);
    auto err = refusal(std::move(opts));
    BOOST_CHECK_MESSAGE(why(err).find(name) != std::string::npos, why(err));
  };
  check([](tao::server_options& o) { o.high_water_mark = 0; }, "high_water_mark");
  check([](tao::server_options& o) { o.max_connections = 0; }, "max_connections");
  check([](tao::server_options& o) { o.inbound_limit = 0; }, "inbound_limit");
  check([](tao::server_options& o) { o.read_chunk_size = 0; }, "read_chunk_size");
  check(
    [](tao::server_options& o) {
      o.heartbeat_period = std::chrono::seconds(1);
      o.heartbeat_misses = 0;
    },
    "heartbeat_misses");
}
