#define BOOST_TEST_MODULE actors_connection_state
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>
#include <caf/io/system_messages.hpp>

#include "tao/all.hpp"

#include "actors/deterministic_server.hpp"

// Every transition of tao::connection_state, on CAF's deterministic
// scheduler and test multiplexer, in both dispatch modes.

using namespace std::chrono_literals;
using tao::connection_state;
using tao::dispatch_mode;
using tao::protocol::errc;
using tao::test::echo_message;
using tao::test::for_each_dispatch;
using tao::test::server_fixture;
using tao::test::tlv;

namespace {

std::string name(connection_state x) {
  return tao::to_string(x);
}

/// A pending reply parked by a handler, for the test to write later.
struct parked {
  tao::pending_reply reply;
};

} // namespace

BOOST_AUTO_TEST_CASE(an_ordinary_life_goes_opening_open_draining_closed) {
  for_each_dispatch([](server_fixture& fix) {
    auto opts = fix.options();
    std::vector<std::string> seen;
    opts.on_connect = [&seen](tao::connection& c) {
      seen.push_back("connect " + name(c.state()));
      return true;
    };
    opts.handlers = tao::handlers{};
    opts.handlers.on<echo_message>([&seen](tao::connection& c, const echo_message& m) {
      seen.push_back("handler " + name(c.state()));
      BOOST_CHECK(!c.write(m));
      c.close();
      seen.push_back("after close " + name(c.state()));
      BOOST_CHECK(c.closing());
    });
    opts.on_close = [&seen](tao::connection& c, const caf::error&) {
      seen.push_back("close " + name(c.state()));
    };
    fix.start(std::move(opts));
    auto conn = fix.connect(fix.acc);
    fix.send(conn, tlv(1, "bye"));
    BOOST_CHECK_EQUAL(fix.take_output(conn), tlv(1, "bye"));
    std::vector<std::string> expected{"connect opening", "handler open", "after close draining",
                                      "close closed"};
    BOOST_CHECK_EQUAL_COLLECTIONS(seen.begin(), seen.end(), expected.begin(), expected.end());
  });
}

// A refused connection gives back what on_connect had written: its close
// does not wait out the drain timeout (it did, then reset).
BOOST_AUTO_TEST_CASE(a_refusal_releases_what_on_connect_wrote) {
  for_each_dispatch([](server_fixture& fix) {
    auto opts = fix.options();
    opts.drain_timeout = 5s;
    opts.on_connect = [](tao::connection& c) {
      BOOST_CHECK(!c.write(echo_message{"welcome"}));
      return false;
    };
    fix.start(std::move(opts));
    auto conn = fix.connect(fix.acc);
    fix.run(); // no virtual time passes
    BOOST_CHECK_EQUAL(fix.count("close tao.refused: refused by on_connect"), 1u);
    BOOST_CHECK_EQUAL(fix.take_output(conn), "");
    BOOST_CHECK_EQUAL(fix.ask<tao::server_stats>(tao::stats_atom::value).connections, 0u);
  });
}

// open -> input_closed: the peer's FIN does not end a connection that still
// owes a reply; the reply written later from elsewhere reaches the peer,
// then the connection closes.
BOOST_AUTO_TEST_CASE(a_half_close_waits_for_a_pending_reply) {
  for_each_dispatch([](server_fixture& fix) {
    auto opts = fix.options();
    auto slot = std::make_shared<parked>();
    std::vector<std::string> states;
    opts.handlers = tao::handlers{};
    opts.handlers.on<echo_message>([slot](tao::connection& c, const echo_message&) {
      slot->reply = c.defer();
      BOOST_CHECK(static_cast<bool>(slot->reply));
    });
    fix.start(std::move(opts));
    auto conn = fix.connect(fix.acc);
    fix.send(conn, tlv(1, "get"));
    fix.peer_close(conn);
    BOOST_CHECK_EQUAL(fix.count("close none"), 0u); // still owing the reply
    BOOST_CHECK(!slot->reply.write(echo_message{"answer"}));
    slot->reply.release();
    fix.run();
    BOOST_CHECK_EQUAL(fix.take_output(conn), tlv(1, "answer"));
    BOOST_CHECK_EQUAL(fix.count("close none"), 1u);
    // Released: the token writes no more.
    BOOST_CHECK(tao::protocol::is(slot->reply.write(echo_message{"x"}), errc::closed));
  });
}

// input_closed also waits for one-shot timers: a reply from a timer reaches
// a half-open peer.
BOOST_AUTO_TEST_CASE(a_half_close_waits_for_a_one_shot_timer) {
  for_each_dispatch([](server_fixture& fix) {
    auto opts = fix.options();
    std::vector<std::string> states;
    opts.handlers = tao::handlers{};
    opts.handlers.on<echo_message>([&states](tao::connection& c, const echo_message&) {
      c.run_after(1s, [&states](tao::connection& x, tao::time_point) {
        states.push_back(name(x.state()));
        BOOST_CHECK(!x.write(echo_message{"later"}));
      });
    });
    fix.start(std::move(opts));
    auto conn = fix.connect(fix.acc);
    fix.send(conn, tlv(1, "go"));
    fix.peer_close(conn);
    BOOST_CHECK_EQUAL(fix.count("close none"), 0u);
    fix.advance(1s);
    BOOST_CHECK(states == std::vector<std::string>{"input_closed"});
    BOOST_CHECK_EQUAL(fix.take_output(conn), tlv(1, "later"));
    BOOST_CHECK_EQUAL(fix.count("close none"), 1u);
  });
}

// closing: a graceful close waits for pending replies, but only until the
// drain timeout; a reply too late then fails where it is written.
BOOST_AUTO_TEST_CASE(a_close_waits_for_pending_replies_within_the_drain_timeout) {
  for_each_dispatch([](server_fixture& fix) {
    auto opts = fix.options();
    opts.drain_timeout = 2s;
    auto slot = std::make_shared<parked>();
    std::vector<std::string> states;
    opts.handlers = tao::handlers{};
    opts.handlers.on<echo_message>([slot, &states](tao::connection& c, const echo_message&) {
      slot->reply = c.defer();
      c.close();
      states.push_back(name(c.state()));
      BOOST_CHECK(tao::protocol::is(c.write(echo_message{"no"}), errc::closed));
      BOOST_CHECK(!c.defer()); // nothing new once closing
    });
    fix.start(std::move(opts));
    auto conn = fix.connect(fix.acc);
    fix.send(conn, tlv(1, "go"));
    BOOST_CHECK(states == std::vector<std::string>{"closing"});
    fix.advance(1s);
    BOOST_CHECK(!slot->reply.write(echo_message{"in time"}));
    fix.run();
    BOOST_CHECK_EQUAL(fix.count("close none"), 0u);
    fix.advance(1s); // the drain timeout
    BOOST_CHECK_EQUAL(fix.take_output(conn), tlv(1, "in time"));
    BOOST_CHECK_EQUAL(fix.count("close none"), 1u);
    BOOST_CHECK(tao::protocol::is(slot->reply.write(echo_message{"too late"}), errc::closed));
  });
}

// abort: draining without delivering, then closed.
BOOST_AUTO_TEST_CASE(an_abort_discards_and_closes) {
  for_each_dispatch([](server_fixture& fix) {
    auto opts = fix.options();
    std::vector<std::string> states;
    opts.handlers = tao::handlers{};
    opts.handlers.on<echo_message>([&states](tao::connection& c, const echo_message&) {
      BOOST_CHECK(!c.write(echo_message{"discarded"}));
      c.abort();
      states.push_back(name(c.state()));
    });
    fix.start(std::move(opts));
    auto conn = fix.connect(fix.acc);
    fix.send(conn, tlv(1, "go"));
    BOOST_CHECK(states == std::vector<std::string>{"draining"});
    BOOST_CHECK_EQUAL(fix.take_output(conn), "");
    BOOST_CHECK_EQUAL(fix.count("close none"), 1u);
  });
}

// Every user callback is guarded: a throw closes that connection with
// handler_failed, on_close runs exactly once, the server keeps serving.
BOOST_AUTO_TEST_CASE(throwing_callbacks_close_only_their_connection_once) {
  for_each_dispatch([](server_fixture& fix) {
    auto opts = fix.options();
    auto on_close = opts.on_close;
    int closes = 0;
    opts.on_error = [](tao::connection&, const caf::error& err) {
      if (tao::protocol::is(err, errc::unknown_type))
        throw std::runtime_error("on_error gave up");
    };
    opts.on_close = [&closes, on_close](tao::connection& c, const caf::error& reason) {
      ++closes;
      on_close(c, reason);
      throw std::runtime_error("on_close throws too");
    };
    fix.start(std::move(opts));
    auto bad = fix.connect(fix.acc);
    auto good = fix.connect(fix.acc);
    fix.send(bad, tlv(99, "unknown"));
    BOOST_CHECK_EQUAL(fix.count("close tao.handler_failed: on_error threw: on_error gave up"), 1u);
    BOOST_CHECK_EQUAL(closes, 1);
    fix.send(good, tlv(1, "fine"));
    BOOST_CHECK_EQUAL(fix.take_output(good), tlv(1, "fine"));
  });
}

BOOST_AUTO_TEST_CASE(a_throwing_on_idle_closes_with_handler_failed) {
  for_each_dispatch([](server_fixture& fix) {
    auto opts = fix.options();
    opts.read_idle_timeout = 1s;
    opts.on_idle = [](tao::connection&, tao::idle_kind) {
      throw std::runtime_error("idle and unhappy");
    };
    fix.start(std::move(opts));
    fix.connect(fix.acc);
    fix.advance(1s);
    BOOST_CHECK_EQUAL(fix.count("close tao.handler_failed: on_idle threw: idle and unhappy"), 1u);
  });
}

// Silence the connection caused is not the peer's: with reads paused for
// inbound backpressure (the connection actor has not caught up), no
// heartbeat timeout; once it caught up, a silent peer is closed.
BOOST_AUTO_TEST_CASE(paused_reads_are_not_the_peers_silence) {
  server_fixture fix{dispatch_mode::scheduled};
  auto opts = fix.options();
  opts.inbound_limit = 64;
  opts.heartbeat_period = 1s;
  opts.heartbeat_misses = 2;
  fix.start(std::move(opts));
  auto conn = fix.connect(fix.acc);
  // Fill the window; run only the I/O side (broker, supervisor), not the
  // connection actor on the scheduler.
  auto io_only = [&fix](caf::timespan d) {
    fix.sched.clock().current_time += d;
    fix.sched.clock().trigger_expired_timeouts();
    while (fix.mpx.try_exec_runnable() || fix.mpx.try_read_data()) {
    }
  };
  fix.mpx.virtual_send(conn, [] {
    std::string x;
    for (int i = 0; i < 10; ++i)
      x += tlv(1, std::string(20, 'x'));
    return caf::io::network::test_multiplexer::buffer_type(x.begin(), x.end());
  }());
  io_only(0s);
  for (int i = 0; i < 5; ++i)
    io_only(1s);
  BOOST_CHECK_EQUAL(fix.count("close tao.heartbeat_timeout"), 0u);
  BOOST_CHECK(fix.log.empty());
  fix.run(); // the actor catches up: echoes, reads resume
  fix.advance(2s);
  BOOST_CHECK_EQUAL(fix.log.size(), 2u); // error, then close
  BOOST_CHECK_EQUAL(fix.count("error heartbeat_timeout"), 1u);
}

// Connections that arrive while the server stops are not max_connections
// refusals.
BOOST_AUTO_TEST_CASE(refusals_while_stopping_are_counted_apart) {
  server_fixture fix{dispatch_mode::inline_io};
  auto opts = fix.options();
  auto slot = std::make_shared<parked>();
  opts.handlers = tao::handlers{};
  opts.handlers.on<echo_message>(
    [slot](tao::connection& c, const echo_message&) { slot->reply = c.defer(); });
  fix.start(std::move(opts));
  auto conn = fix.connect(fix.acc);
  fix.send(conn, tlv(1, "hold the stop open"));
  caf::anon_send(fix.srv.actor(), tao::stop_atom::value);
  fix.run();
  caf::anon_send(fix.srv.actor(),
                 caf::io::new_connection_msg{fix.acc, caf::io::connection_handle::from_int(4242)});
  auto stats = fix.ask<tao::server_stats>(tao::stats_atom::value);
  BOOST_CHECK_EQUAL(stats.refused_stopping, 1u);
  BOOST_CHECK_EQUAL(stats.refused_max_connections, 0u);
  slot->reply.release();
  fix.run();
  fix.srv = tao::server{};
}
