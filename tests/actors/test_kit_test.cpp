#define BOOST_TEST_MODULE actors_test_kit
#include <chrono>
#include <string>

#include <boost/test/unit_test.hpp>

#include "tao/all.hpp"
#include "tao/test/fixture.hpp"
#include "tao/test/scripted_peer.hpp"

// The installed test kit (tao/test/) as docs/testing.md shows it: a handler
// and its idle timeout, a reconnecting client with backoff, heartbeats in
// virtual time, and the scripted peer's verdicts.

using namespace std::chrono_literals;
using hello = tao::protocol::text_message<1>;

namespace {

tao::server_options greeter() {
  tao::server_options opts;
  BOOST_REQUIRE(!opts.handlers.on<hello>([](tao::connection& c, const hello& m) {
    BOOST_CHECK(!c.write(hello{"hello, " + (m.text.empty() ? std::string{"world"} : m.text)}));
  }));
  opts.read_idle_timeout = 30s;
  return opts;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(test_kit, tao::test::fixture)

BOOST_AUTO_TEST_CASE(a_handler_answers_and_idle_peers_are_closed_in_virtual_time) {
  for (auto mode : {tao::dispatch_mode::inline_io, tao::dispatch_mode::scheduled}) {
    auto opts = greeter();
    opts.dispatch = mode;
    opts.port = mode == tao::dispatch_mode::inline_io ? 8080 : 8081;
    auto srv = start_server(std::move(opts));
    BOOST_REQUIRE(srv);
    auto peer = tao::test::scripted_peer::connect(*this);
    peer.send(hello{"tao"}).expect(hello{"hello, tao"});
    peer.send(hello{""}).expect(hello{"hello, world"});
    advance(29s);
    BOOST_CHECK(!peer.closed_by_tao());
    advance(2s);
    BOOST_CHECK(peer.closed_by_tao());
    BOOST_CHECK(ask<void>(srv->actor(), tao::stop_atom::value));
  }
}

BOOST_AUTO_TEST_CASE(a_reconnecting_client_backs_off_and_flushes_in_order) {
  tao::client_options opts;
  opts.host = "node";
  opts.port = 4242;
  opts.reconnect.enabled = true;
  opts.reconnect.jitter = false;
  opts.reconnect.initial_delay = 500ms;
  tao::test::scripted_peer first{*this, provide_peer("node", 4242)};
  auto cli = start_client(opts);
  BOOST_REQUIRE(cli);
  BOOST_CHECK(!cli->write(hello{"first"}));
  run();
  first.expect(hello{"first"});
  first.close();
  BOOST_CHECK(!cli->write(hello{"queued while offline"}));
  tao::test::scripted_peer second{*this, provide_peer("node", 4242)};
  advance(499ms);
  second.expect_nothing();
  advance(1ms);
  second.expect(hello{"queued while offline"});
  cli->close();
  run();
}

BOOST_AUTO_TEST_CASE(heartbeats_tick_in_virtual_time_and_silence_closes) {
  auto opts = greeter();
  opts.read_idle_timeout = {};
  opts.heartbeat_period = 1s;
  opts.heartbeat_misses = 3;
  auto srv = start_server(std::move(opts));
  BOOST_REQUIRE(srv);
  auto peer = tao::test::scripted_peer::connect(*this);
  advance_by_steps(2s, 10ms);
  BOOST_CHECK_EQUAL(peer.next_frame().type, tao::protocol::heartbeat_type);
  advance_by_steps(2s, 10ms);
  BOOST_CHECK(peer.closed_by_tao());
}

BOOST_AUTO_TEST_CASE(a_step_that_does_not_hold_throws_with_what_came) {
  auto srv = start_server(greeter());
  BOOST_REQUIRE(srv);
  auto peer = tao::test::scripted_peer::connect(*this);
  peer.send(hello{"x"});
  try {
    peer.expect(hello{"something else"});
    BOOST_FAIL("no verdict");
  } catch (const tao::test::script_error& e) {
    BOOST_TEST_MESSAGE(e.what());
  }
  try {
    peer.expect(hello{"anything"});
    BOOST_FAIL("no verdict");
  } catch (const tao::test::script_error& e) {
    BOOST_CHECK(std::string{e.what()}.find("got nothing") != std::string::npos);
  }
}

BOOST_AUTO_TEST_SUITE_END()
