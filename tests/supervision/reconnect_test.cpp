#define BOOST_TEST_MODULE supervision_reconnect
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>
#include <caf/event_based_actor.hpp>

#include "tao/all.hpp"
#include "tao/detail/client_outlet.hpp"
#include "tao/net/atoms.hpp"

#include "support/deterministic.hpp"

using namespace std::chrono_literals;
using echo_message = tao::protocol::text_message<1>;

namespace {

struct fixture : tao::test::deterministic_fixture {
  tao::client cli;
  std::vector<caf::timespan> delays;
  std::vector<unsigned> attempts;
  std::vector<std::string> events;

  ~fixture() {
    if (cli) {
      cli.close();
      run();
      advance(10s);
    }
  }

  tao::client_options options() {
    tao::client_options opts;
    opts.host = "node";
    opts.port = 4242;
    opts.handlers.on<echo_message>(
      [this](tao::connection&, const echo_message& m) { events.push_back("recv " + m.text); });
    opts.on_connect = [this](tao::connection&) {
      events.push_back("connect");
      return true;
    };
    opts.on_close = [this](tao::connection&, const caf::error&) {
      events.push_back("close");
    };
    opts.on_reconnecting = [this](unsigned n, caf::timespan delay, const caf::error&) {
      attempts.push_back(n);
      delays.push_back(delay);
    };
    opts.on_give_up = [this](const caf::error&) {
      events.push_back("give up");
    };
    return opts;
  }

  caf::io::connection_handle provide_peer() {
    return tao::test::fixture::provide_peer("node", 4242);
  }

  void start(tao::client_options opts) {
    auto res = tao::client::start(sys, std::move(opts));
    BOOST_REQUIRE(res);
    cli = *res;
    run();
  }

  size_t count(const std::string& x) const {
    return static_cast<size_t>(std::count(events.begin(), events.end(), x));
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(reconnect, fixture)

BOOST_AUTO_TEST_CASE(backoff_without_jitter_doubles_up_to_the_cap) {
  auto opts = options();
  opts.reconnect.enabled = true;
  opts.reconnect.jitter = false;
  opts.reconnect.initial_delay = 100ms;
  opts.reconnect.max_delay = 1s;
  opts.reconnect.max_attempts = 6;
  start(std::move(opts)); // nothing listens: every attempt fails
  for (int i = 0; i < 10; ++i)
    advance(1s);
  std::vector<caf::timespan> expected{100ms, 200ms, 400ms, 800ms, 1s, 1s};
  BOOST_CHECK(delays == expected);
  BOOST_CHECK_EQUAL(count("give up"), 1u);
}

BOOST_AUTO_TEST_CASE(full_jitter_stays_within_bounds) {
  auto opts = options();
  opts.reconnect.enabled = true;
  opts.reconnect.initial_delay = 100ms;
  opts.reconnect.max_delay = 800ms;
  opts.reconnect.max_attempts = 20;
  auto policy = opts.reconnect;
  start(std::move(opts));
  for (int i = 0; i < 30; ++i)
    advance(1s);
  BOOST_REQUIRE_EQUAL(delays.size(), 20u);
  for (unsigned i = 0; i < delays.size(); ++i) {
    BOOST_CHECK(delays[i] >= caf::timespan{0});
    BOOST_CHECK(delays[i] <= policy.bound(i));
  }
}

BOOST_AUTO_TEST_CASE(giving_up_reports_the_writes_it_drops) {
  auto opts = options();
  opts.reconnect.enabled = true;
  opts.reconnect.jitter = false;
  opts.reconnect.initial_delay = 1s;
  opts.reconnect.max_attempts = 1;
  caf::error reason;
  opts.on_give_up = [&reason](const caf::error& err) {
    reason = err;
  };
  start(std::move(opts)); // nothing listens: the first attempt failed
  BOOST_REQUIRE(!cli.write(echo_message{"lost 1"}));
  BOOST_REQUIRE(!cli.write(echo_message{"lost 2"}));
  advance(5s); // the second attempt fails too: give up
  BOOST_REQUIRE(reason);
  // The code is the last attempt's; the context adds two 14-byte frames.
  BOOST_CHECK(tao::protocol::is(reason, tao::protocol::errc::network_failure));
  auto text = tao::protocol::render(reason);
  BOOST_CHECK_MESSAGE(
    text.find("; 28 bytes written while offline not delivered") != std::string::npos, text);
  BOOST_CHECK(tao::protocol::is(cli.write(echo_message{"after"}), tao::protocol::errc::closed));
}

BOOST_AUTO_TEST_CASE(attempts_are_single_flight_and_counted) {
  auto opts = options();
  opts.reconnect.enabled = true;
  opts.reconnect.jitter = false;
  opts.reconnect.initial_delay = 1s;
  opts.reconnect.max_attempts = 3;
  start(std::move(opts));
  // One failed attempt, then exactly one pending retry however long we wait
  // below its delay.
  BOOST_CHECK_EQUAL(attempts.size(), 1u);
  advance(999ms);
  BOOST_CHECK_EQUAL(attempts.size(), 1u);
  advance(1ms);
  BOOST_CHECK_EQUAL(attempts.size(), 2u);
}

BOOST_AUTO_TEST_CASE(lost_connection_reconnects_and_flushes_queued_writes_in_order) {
  auto opts = options();
  opts.reconnect.enabled = true;
  opts.reconnect.jitter = false;
  opts.reconnect.initial_delay = 500ms;
  auto first = provide_peer();
  start(std::move(opts));
  BOOST_CHECK_EQUAL(count("connect"), 1u);
  BOOST_CHECK(!cli.write(echo_message{"a"}));
  run();
  BOOST_CHECK_EQUAL(take_output(first), tao::test::tlv(1, "a"));
  peer_close(first);
  BOOST_CHECK_EQUAL(count("close"), 1u);
  BOOST_REQUIRE_EQUAL(attempts.size(), 1u); // one retry despite DOWN and left
  for (auto x : {"b", "c", "d"})
    BOOST_CHECK(!cli.write(echo_message{x}));
  run();
  auto second = provide_peer();
  advance(500ms);
  BOOST_CHECK_EQUAL(count("connect"), 2u);
  BOOST_CHECK_EQUAL(take_output(second),
                    tao::test::tlv(1, "b") + tao::test::tlv(1, "c") + tao::test::tlv(1, "d"));
  send(second, tao::test::tlv(1, "back"));
  BOOST_CHECK_EQUAL(count("recv back"), 1u);
}

// The writers were told the queued bytes were accepted: a connection that is
// above its high-water mark when the client attaches (on_connect filled it
// for a peer that does not read yet) still takes all of them, after what is
// queued already, rather than refusing and dropping them. A probe stands in
// for the connection's broker.
BOOST_AUTO_TEST_CASE(offline_queue_goes_out_above_the_high_water_mark) {
  auto received = std::make_shared<tao::protocol::byte_buffer>();
  auto broker = sys.spawn([received](caf::event_based_actor*) -> caf::behavior {
    return {[received](tao::net::write_atom, const tao::protocol::byte_buffer& bytes) {
      received->insert(received->end(), bytes.begin(), bytes.end());
    }};
  });
  auto budget = std::make_shared<tao::net::outbound_budget>(1024, 256);
  BOOST_REQUIRE(budget->force_reserve(2000) == tao::net::reserve_status::above_high_water_mark);
  tao::connection_ref ref{
    1, broker, broker, tao::protocol::default_codec(), budget, tao::overflow_policy::would_block};
  BOOST_REQUIRE(
    tao::protocol::is(ref.write(echo_message{"plain"}), tao::protocol::errc::would_block));
  tao::detail::client_outlet outlet{tao::offline_writes::queue, 1024, true};
  std::string expected;
  for (auto x : {"q1", "q2", "q3"}) {
    auto frame = tao::test::tlv(1, x);
    expected += frame;
    BOOST_CHECK(!outlet.write(tao::protocol::byte_buffer(frame.begin(), frame.end())));
  }
  outlet.attach(ref);
  run();
  BOOST_CHECK(std::string(received->begin(), received->end()) == expected);
  BOOST_CHECK_EQUAL(outlet.refused(), 0u);
  BOOST_CHECK_EQUAL(outlet.offline_bytes(), 0u);
  BOOST_CHECK_EQUAL(budget->queued(), 2000 + expected.size());
  caf::anon_send_exit(broker, caf::exit_reason::user_shutdown);
  run();
}

BOOST_AUTO_TEST_CASE(no_reconnect_after_deliberate_close) {
  auto opts = options();
  opts.reconnect.enabled = true;
  opts.reconnect.initial_delay = 10ms;
  auto peer = provide_peer();
  start(std::move(opts));
  BOOST_CHECK(!cli.write(echo_message{"last words"}));
  cli.close();
  run();
  advance(1s);
  BOOST_CHECK_EQUAL(take_output(peer), tao::test::tlv(1, "last words"));
  BOOST_CHECK(attempts.empty());
  BOOST_CHECK_EQUAL(count("close"), 1u);
  BOOST_CHECK_EQUAL(count("connect"), 1u);
}

BOOST_AUTO_TEST_CASE(close_from_a_handler_is_deliberate) {
  auto opts = options();
  opts.reconnect.enabled = true;
  opts.reconnect.initial_delay = 10ms;
  opts.handlers = tao::handlers{};
  BOOST_REQUIRE(
    !opts.handlers.on<echo_message>([](tao::connection& c, const echo_message&) { c.close(); }));
  auto peer = provide_peer();
  start(std::move(opts));
  send(peer, tao::test::tlv(1, "bye"));
  advance(1s);
  BOOST_CHECK(attempts.empty());
  BOOST_CHECK_EQUAL(count("close"), 1u);
}

BOOST_AUTO_TEST_CASE(offline_writes_fail_when_asked) {
  auto opts = options();
  opts.offline = tao::offline_writes::fail;
  opts.reconnect.enabled = true;
  opts.reconnect.initial_delay = 1s;
  start(std::move(opts));
  // (With an argument: CAF 0.17 trips UBSan when spawning without one.)
  auto written =
    ask<void>(cli.actor(), tao::client_write_atom::value, tao::protocol::byte_buffer{'x'});
  BOOST_REQUIRE(!written);
  BOOST_CHECK(tao::protocol::is(written.error(), tao::protocol::errc::closed));
}

BOOST_AUTO_TEST_SUITE_END()
