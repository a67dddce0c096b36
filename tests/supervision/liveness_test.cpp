#define BOOST_TEST_MODULE supervision_liveness
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "tao/all.hpp"

#include "support/deterministic.hpp"

using namespace std::chrono_literals;
using echo_message = tao::protocol::text_message<1>;
using tao::protocol::errc;

namespace {

struct fixture : tao::test::deterministic_fixture {
  tao::server srv;
  caf::io::accept_handle acc;
  std::vector<caf::error> closes;
  std::vector<tao::idle_kind> idles;

  ~fixture() {
    if (srv) {
      srv.stop();
      run();
      advance(10s);
    }
  }

  void start(tao::server_options opts) {
    acc = provide_acceptor(7070);
    opts.port = 7070;
    opts.handlers.on<echo_message>([](tao::connection&, const echo_message&) {});
    opts.on_close = [this](tao::connection&, const caf::error& reason) {
      closes.push_back(reason);
    };
    auto res = tao::server::start(sys, std::move(opts));
    BOOST_REQUIRE(res);
    srv = *res;
    run();
  }

  /// Counts the heartbeat frames in `bytes` (and checks they are the only
  /// frames there).
  static size_t heartbeats(const std::string& bytes) {
    size_t n = 0;
    for (size_t pos = 0; pos + 8 <= bytes.size(); pos += 16) {
      BOOST_CHECK_EQUAL(tao::protocol::load_le32(bytes.data() + pos), 0u);
      BOOST_CHECK_EQUAL(tao::protocol::load_le32(bytes.data() + pos + 4), 8u);
      ++n;
    }
    BOOST_CHECK_EQUAL(bytes.size() % 16, 0u);
    return n;
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(liveness, fixture)

BOOST_AUTO_TEST_CASE(heartbeat_cadence_and_silent_peer_closed_after_n_periods) {
  tao::server_options opts;
  opts.heartbeat_period = 1s;
  opts.heartbeat_misses = 3;
  start(std::move(opts));
  auto conn = connect(acc);
  advance(999ms);
  BOOST_CHECK_EQUAL(heartbeats(take_output(conn)), 0u);
  advance(1ms);
  BOOST_CHECK_EQUAL(heartbeats(take_output(conn)), 1u);
  advance(1s);
  BOOST_CHECK_EQUAL(heartbeats(take_output(conn)), 1u);
  BOOST_CHECK(closes.empty());
  advance(1s); // three silent periods
  BOOST_REQUIRE_EQUAL(closes.size(), 1u);
  BOOST_CHECK(tao::protocol::is(closes[0], errc::heartbeat_timeout));
}

BOOST_AUTO_TEST_CASE(chatty_peer_is_never_closed) {
  tao::server_options opts;
  opts.heartbeat_period = 1s;
  opts.heartbeat_misses = 2;
  start(std::move(opts));
  auto conn = connect(acc);
  for (int i = 0; i < 40; ++i) {
    advance(500ms);
    send(conn, tao::test::tlv(1, "still here"));
  }
  BOOST_CHECK(closes.empty());
  // Its heartbeats also keep a Tao peer alive: the server sent one per second.
  BOOST_CHECK_EQUAL(heartbeats(take_output(conn)), 20u);
}

BOOST_AUTO_TEST_CASE(peer_heartbeats_count_as_life) {
  tao::server_options opts;
  opts.heartbeat_period = 1s;
  opts.heartbeat_misses = 1;
  start(std::move(opts));
  auto conn = connect(acc);
  std::string hb(8, '\0');
  tao::protocol::store_le64(hb.data(), 42);
  for (int i = 0; i < 5; ++i) {
    advance(900ms);
    send(conn, tao::test::tlv(0, hb));
  }
  BOOST_CHECK(closes.empty());
}

BOOST_AUTO_TEST_CASE(read_idle_timeout_closes_at_the_deadline) {
  tao::server_options opts;
  opts.read_idle_timeout = 5s;
  start(std::move(opts));
  auto conn = connect(acc);
  advance(3s);
  send(conn, tao::test::tlv(1, "x")); // resets the deadline to t=8s
  advance(4999ms);
  BOOST_CHECK(closes.empty());
  advance(1ms);
  BOOST_REQUIRE_EQUAL(closes.size(), 1u);
  BOOST_CHECK(tao::protocol::is(closes[0], errc::idle_timeout));
}

BOOST_AUTO_TEST_CASE(read_idle_runs_on_idle_instead_of_closing) {
  tao::server_options opts;
  opts.read_idle_timeout = 2s;
  opts.on_idle = [this](tao::connection&, tao::idle_kind kind) {
    idles.push_back(kind);
  };
  start(std::move(opts));
  connect(acc);
  advance(2s);
  advance(2s);
  BOOST_CHECK(closes.empty());
  BOOST_REQUIRE_EQUAL(idles.size(), 2u);
  BOOST_CHECK(idles[0] == tao::idle_kind::read);
}

BOOST_AUTO_TEST_CASE(write_idle_sends_heartbeats) {
  tao::server_options opts;
  opts.write_idle_timeout = 1s;
  start(std::move(opts));
  auto conn = connect(acc);
  advance(1s);
  BOOST_CHECK_EQUAL(heartbeats(take_output(conn)), 1u);
  advance(1s);
  BOOST_CHECK_EQUAL(heartbeats(take_output(conn)), 1u);
  BOOST_CHECK(closes.empty());
}

BOOST_AUTO_TEST_CASE(first_message_timeout_stops_slowloris) {
  tao::server_options opts;
  opts.first_message_timeout = 2s;
  start(std::move(opts));
  auto slow = connect(acc);
  auto fast = connect(acc);
  send(fast, tao::test::tlv(1, "hello"));
  send(slow, std::string(5, '\1')); // part of a header, never completed
  advance(2s);
  BOOST_REQUIRE_EQUAL(closes.size(), 1u);
  BOOST_CHECK(tao::protocol::is(closes[0], errc::idle_timeout));
}

// One supervisor can watch the connections of several servers; it outlives
// them and stops when told.
BOOST_AUTO_TEST_CASE(a_shared_supervisor_watches_every_server_it_is_given) {
  auto sup = tao::supervisor::spawn(sys);
  BOOST_REQUIRE(sup);
  tao::server_options a;
  a.heartbeat_period = 1s;
  a.supervisor = *sup;
  start(std::move(a));
  auto acc2 = provide_acceptor(7071);
  tao::server_options b;
  b.port = 7071;
  b.heartbeat_period = 1s;
  b.supervisor = *sup;
  auto other = tao::server::start(sys, std::move(b));
  BOOST_REQUIRE(other);
  run();
  auto c1 = connect(acc);
  auto c2 = connect(acc2);
  advance(1s);
  BOOST_CHECK_EQUAL(heartbeats(take_output(c1)), 1u);
  BOOST_CHECK_EQUAL(heartbeats(take_output(c2)), 1u);
  other->stop();
  advance(10s);
  // Still alive for the first server's connection (silent: closed by now).
  BOOST_REQUIRE_EQUAL(closes.size(), 1u);
  BOOST_CHECK(tao::protocol::is(closes[0], errc::heartbeat_timeout));
  sup->stop();
  run();
}

// watch() adds checks to a connection that had none.
BOOST_AUTO_TEST_CASE(watch_supervises_a_connection_on_request) {
  auto sup = tao::supervisor::spawn(sys);
  BOOST_REQUIRE(sup);
  tao::connection_ref ref;
  tao::server_options opts;
  opts.on_connect = [&ref](tao::connection& c) {
    ref = c.ref();
    return true;
  };
  start(std::move(opts));
  auto conn = connect(acc);
  BOOST_REQUIRE(ref);
  advance(5s);
  BOOST_CHECK_EQUAL(take_output(conn), ""); // no checks of its own
  tao::liveness_options checks;
  checks.heartbeat_period = 1s;
  checks.heartbeat_misses = 2;
  sup->watch(ref, checks);
  run();
  advance(1s);
  BOOST_CHECK_EQUAL(heartbeats(take_output(conn)), 1u);
  advance(1s);
  BOOST_REQUIRE_EQUAL(closes.size(), 1u);
  BOOST_CHECK(tao::protocol::is(closes[0], errc::heartbeat_timeout));
  sup->stop();
  run();
}

BOOST_AUTO_TEST_SUITE_END()
