#define BOOST_TEST_MODULE operations_metrics
#include <boost/test/unit_test.hpp>

// The metrics endpoint over real HTTP on 127.0.0.1: a known workload, then a
// scrape whose text passes `promtool check metrics` and whose counters match
// the workload exactly.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <caf/scoped_actor.hpp>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include "tao/all.hpp"
#include "tao/detail/tick_clock.hpp"
#include "tao/metrics.hpp"

#include "support/io_threads.hpp"
#include "support/loopback.hpp"
#include "support/temp_file.hpp"
#include "support/tlv_socket.hpp"

using namespace std::chrono_literals;
using echo_message = tao::protocol::text_message<1>;
using tao::test::tlv_socket;

namespace {

/// GET http://127.0.0.1:port/metrics with a raw socket.
std::string scrape(uint16_t port) {
  tlv_socket s{port};
  BOOST_REQUIRE(s.fd() >= 0);
  BOOST_REQUIRE(s.send_raw("GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"));
  std::string response;
  char buf[4096];
  for (;;) {
    auto n = ::recv(s.fd(), buf, sizeof(buf), 0);
    if (n <= 0)
      break;
    response.append(buf, static_cast<size_t>(n));
  }
  auto body = response.find("\r\n\r\n");
  BOOST_REQUIRE(response.rfind("HTTP/1.", 0) == 0 && body != std::string::npos);
  return response.substr(body + 4);
}

/// The value of the sample `name{labels}` (exact text before the value).
double sample(const std::string& text, const std::string& series) {
  std::regex re{"^" + std::regex_replace(series, std::regex{R"([{}\[\]().+*?^$|\\])"}, R"(\$&)")
                + " ([0-9.e+-]+)$"};
  std::smatch m;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);)
    if (std::regex_match(line, m, re))
      return std::stod(m[1]);
  BOOST_TEST_MESSAGE("no sample " << series);
  return -1;
}

struct fixture : tao::test::loopback_fixture {};

} // namespace

// Handler times are taken with tao's tick clock (the CPU's time-stamp
// counter where the kernel keeps time with it) and converted once per
// activation. An interval measured in ticks, converted, must fall between
// the steady_clock intervals just inside and just outside it (the
// calibration is good to about 0.01%; 1% is allowed).
BOOST_AUTO_TEST_CASE(tick_clock_agrees_with_steady_clock) {
  using tao::detail::tick_clock;
  using clock = std::chrono::steady_clock;
  auto per_tick = tick_clock::seconds_per_tick();
  BOOST_TEST_MESSAGE("tick clock: " << (tick_clock::invariant_tsc() ? "TSC" : "steady_clock")
                                    << ", " << 1e-9 / per_tick << " ticks per ns");
  BOOST_REQUIRE(per_tick > 1e-11 && per_tick <= 1e-9);
  for (int round = 0; round < 3; ++round) {
    auto outer0 = clock::now();
    auto c0 = tick_clock::now();
    auto inner0 = clock::now();
    auto inner1 = inner0;
    while (inner1 - inner0 < std::chrono::milliseconds(2))
      inner1 = clock::now();
    auto c1 = tick_clock::now();
    auto outer1 = clock::now();
    BOOST_REQUIRE(c1 >= c0);
    auto measured = static_cast<double>(c1 - c0) * per_tick;
    auto inner = std::chrono::duration<double>(inner1 - inner0).count();
    auto outer = std::chrono::duration<double>(outer1 - outer0).count();
    BOOST_CHECK_GE(measured, inner * 0.99);
    BOOST_CHECK_LE(measured, outer * 1.01);
  }
}

BOOST_FIXTURE_TEST_SUITE(operations_metrics, fixture)

BOOST_AUTO_TEST_CASE(a_known_workload_scraped_over_http) {
  auto m = std::make_shared<tao::metrics>();
  BOOST_REQUIRE(!m->serve("127.0.0.1:0"));
  BOOST_REQUIRE(m->port() != 0);
  tao::server_options opts;
  opts.metrics = m;
  opts.max_connections = 1;
  opts.handlers.on<echo_message>([](tao::connection& c, const echo_message& msg) {
    c.write(msg);
    c.write(msg); // two out per frame in
  });
  opts.on_close = [this](tao::connection&, const caf::error&) {
    log.add("closed");
  };
  auto srv = tao::server::start(*sys, tao::test::with_test_io_threads(std::move(opts)));
  BOOST_REQUIRE(srv);
  constexpr int frames = 25;
  {
    tlv_socket peer{srv->port()};
    BOOST_REQUIRE(peer.fd() >= 0);
    for (int i = 0; i < frames; ++i)
      BOOST_REQUIRE(peer.send(1, "hello"));
    BOOST_REQUIRE(peer.send(77, "unknown type"));
    for (int i = 0; i < 2 * frames; ++i)
      BOOST_REQUIRE(peer.read());
    // A second connection while the first is open: refused (max 1).
    tlv_socket refused{srv->port()};
    BOOST_CHECK(!refused.read());
    // The unknown frame was handled before the last echo only if sent
    // before it; make sure it was by one more round trip.
    BOOST_REQUIRE(peer.send(1, "x"));
    BOOST_REQUIRE(peer.read());
    BOOST_REQUIRE(peer.read());
  }
  BOOST_REQUIRE(log.wait_for("closed"));
  // The close reaches the server actor after on_close: ask it once it did.
  caf::scoped_actor self{*sys};
  for (int i = 0; i < 500; ++i) {
    tao::server_stats st;
    self->request(srv->actor(), 5s, tao::stats_atom::value)
      .receive([&](const tao::server_stats& x) { st = x; }, [](caf::error&) {});
    if (st.connections == 0)
      break;
    self->receive(caf::after(10ms) >> [] {});
  }
  auto text = scrape(m->port());
  BOOST_TEST_MESSAGE(text);
  BOOST_CHECK_EQUAL(sample(text, "tao_frames_received_total{type=\"1\"}"), frames + 1);
  BOOST_CHECK_EQUAL(sample(text, "tao_received_bytes_total{type=\"1\"}"), frames * 5 + 1);
  BOOST_CHECK_EQUAL(sample(text, "tao_frames_sent_total{type=\"1\"}"), 2 * (frames + 1));
  BOOST_CHECK_EQUAL(sample(text, "tao_sent_bytes_total{type=\"1\"}"), 2 * (frames * (8 + 5) + 9));
  BOOST_CHECK_EQUAL(sample(text, "tao_unknown_frames_total"), 1);
  BOOST_CHECK_EQUAL(sample(text, "tao_connections_accepted_total"), 1);
  BOOST_CHECK_EQUAL(sample(text, "tao_connections_refused_total{reason=\"max_connections\"}"), 1);
  BOOST_CHECK_EQUAL(sample(text, "tao_connections_closed_total{reason=\"none\"}"), 1);
  BOOST_CHECK_EQUAL(sample(text, "tao_connections"), 0);
  BOOST_CHECK_EQUAL(sample(text, "tao_handler_duration_seconds_count"), frames + 1);
  BOOST_CHECK_EQUAL(sample(text, "tao_timers"), 0);
  // The text is valid Prometheus exposition format.
  tao::test::temp_file scraped{"tao-metrics"};
  const auto& file = scraped.path();
  { std::ofstream{file} << text; }
  if (std::system("command -v promtool >/dev/null 2>&1") == 0) {
    auto rc = std::system(("promtool check metrics < '" + file + "'").c_str());
    BOOST_CHECK_EQUAL(rc, 0);
  } else {
    BOOST_TEST_MESSAGE("promtool not installed: format check skipped");
  }
  stop(*srv);
}

BOOST_AUTO_TEST_CASE(shards_count_apart_and_scrape_as_one) {
  auto m = std::make_shared<tao::metrics>();
  BOOST_CHECK(tao::metrics::for_shard(nullptr, 1) == nullptr);
  BOOST_CHECK(tao::metrics::for_shard(m, 0) == m);
  auto one = tao::metrics::for_shard(m, 1);
  auto three = tao::metrics::for_shard(m, 3);
  BOOST_REQUIRE(one && three && one != m && three != one);
  BOOST_CHECK(tao::metrics::for_shard(m, 1) == one);
  // Each share has its own series: counting in one leaves the others alone.
  m->family().frames_in.Add({{"type", "1"}}).Increment(2);
  one->family().frames_in.Add({{"type", "1"}}).Increment(3);
  three->family().frames_in.Add({{"type", "1"}}).Increment(5);
  three->family().frames_in.Add({{"type", "9"}}).Increment(7);
  BOOST_CHECK_EQUAL(m->family().frames_in.Add({{"type", "1"}}).Value(), 2);
  one->family().connections.Add({}).Increment(4);
  three->family().connections.Add({}).Decrement(1);
  m->family().handler_seconds.Add({}, tao::metrics::handler_buckets()).Observe(2e-6);
  three->family().handler_seconds.Add({}, tao::metrics::handler_buckets()).Observe(2e-6);
  three->family().handler_seconds.Add({}, tao::metrics::handler_buckets()).Observe(0.2);
  BOOST_REQUIRE(!m->serve("127.0.0.1:0"));
  for (const auto& text : {m->text(), scrape(m->port())}) {
    BOOST_TEST_MESSAGE(text);
    BOOST_CHECK_EQUAL(sample(text, "tao_frames_received_total{type=\"1\"}"), 10);
    BOOST_CHECK_EQUAL(sample(text, "tao_frames_received_total{type=\"9\"}"), 7);
    BOOST_CHECK_EQUAL(sample(text, "tao_connections"), 3);
    BOOST_CHECK_EQUAL(sample(text, "tao_handler_duration_seconds_count"), 3);
    BOOST_CHECK_EQUAL(sample(text, "tao_handler_duration_seconds_bucket{le=\"5e-06\"}"), 2);
    BOOST_CHECK_EQUAL(sample(text, "tao_handler_duration_seconds_bucket{le=\"0.5\"}"), 3);
    BOOST_CHECK_EQUAL(sample(text, "tao_heartbeats_sent_total"), 0);
    // One series per name and labels, as from a single registry.
    std::istringstream in{text};
    size_t connections_lines = 0;
    size_t type_1_lines = 0;
    for (std::string line; std::getline(in, line);) {
      connections_lines += line.rfind("tao_connections ", 0) == 0 ? 1 : 0;
      type_1_lines += line.rfind("tao_frames_received_total{type=\"1\"}", 0) == 0 ? 1 : 0;
    }
    BOOST_CHECK_EQUAL(connections_lines, 1u);
    BOOST_CHECK_EQUAL(type_1_lines, 1u);
  }
}

BOOST_AUTO_TEST_CASE(connections_on_every_io_thread_add_up) {
  auto m = std::make_shared<tao::metrics>();
  tao::server_options opts;
  opts.metrics = m;
  opts.handlers.on<echo_message>([](tao::connection& c, const echo_message& msg) { c.write(msg); });
  auto srv = tao::server::start(*sys, tao::test::with_test_io_threads(std::move(opts)));
  BOOST_REQUIRE(srv);
  // Four connections: on two I/O threads, two of them on each.
  constexpr int peers_n = 4;
  constexpr int frames = 10;
  std::vector<std::unique_ptr<tlv_socket>> peers;
  for (int p = 0; p < peers_n; ++p) {
    peers.push_back(std::make_unique<tlv_socket>(srv->port()));
    BOOST_REQUIRE(peers.back()->fd() >= 0);
    for (int i = 0; i < frames; ++i)
      BOOST_REQUIRE(peers.back()->send(1, "abc"));
  }
  for (auto& peer : peers)
    for (int i = 0; i < frames; ++i)
      BOOST_REQUIRE(peer->read());
  auto text = m->text();
  BOOST_TEST_MESSAGE(text);
  BOOST_CHECK_EQUAL(sample(text, "tao_connections"), peers_n);
  BOOST_CHECK_EQUAL(sample(text, "tao_connections_accepted_total"), peers_n);
  BOOST_CHECK_EQUAL(sample(text, "tao_frames_sent_total{type=\"1\"}"), peers_n * frames);
  BOOST_CHECK_EQUAL(sample(text, "tao_sent_bytes_total{type=\"1\"}"), peers_n * frames * 11);
  // Frames received are published once per activation, which may come after
  // the echo: wait until all are counted.
  for (int i = 0;
       i < 500 && sample(m->text(), "tao_frames_received_total{type=\"1\"}") < peers_n * frames;
       ++i)
    std::this_thread::sleep_for(10ms);
  BOOST_CHECK_EQUAL(sample(m->text(), "tao_frames_received_total{type=\"1\"}"), peers_n * frames);
  peers.clear();
  stop(*srv);
}

BOOST_AUTO_TEST_CASE(client_reconnects_and_give_ups) {
  auto m = std::make_shared<tao::metrics>();
  // A port nobody listens on: bind one, note it, close it.
  uint16_t port = 0;
  {
    tao::server_options opts;
    auto srv = tao::server::start(*sys, tao::test::with_test_io_threads(std::move(opts)));
    BOOST_REQUIRE(srv);
    port = srv->port();
    stop(*srv);
  }
  tao::client_options opts;
  opts.port = port;
  opts.metrics = m;
  opts.reconnect.enabled = true;
  opts.reconnect.initial_delay = std::chrono::milliseconds(1);
  opts.reconnect.max_attempts = 3;
  opts.on_give_up = [this](const caf::error&) {
    log.add("give up");
  };
  auto cli = tao::client::start(*sys, tao::test::with_test_io_threads(std::move(opts)));
  BOOST_REQUIRE(cli);
  BOOST_REQUIRE(log.wait_for("give up"));
  auto text = m->text();
  BOOST_CHECK_EQUAL(sample(text, "tao_reconnect_attempts_total"), 3);
  BOOST_CHECK_EQUAL(sample(text, "tao_reconnect_give_ups_total"), 1);
  BOOST_CHECK_EQUAL(sample(text, "tao_reconnects_total"), 0);
  BOOST_CHECK_EQUAL(sample(text, "tao_connections"), 0);
}

BOOST_AUTO_TEST_CASE(serving_twice_or_on_a_bad_address_fails) {
  tao::metrics m;
  BOOST_CHECK(m.serve("256.0.0.1:1"));
  BOOST_CHECK_EQUAL(m.port(), 0);
  BOOST_REQUIRE(!m.serve("127.0.0.1:0"));
  BOOST_CHECK(m.serve("127.0.0.1:0"));
}

BOOST_AUTO_TEST_SUITE_END()
