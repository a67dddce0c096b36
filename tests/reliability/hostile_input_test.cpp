#define BOOST_TEST_MODULE reliability_hostile_input
#include <boost/test/unit_test.hpp>

// Hostile input and slow peers (issue 9): every case gives the hostile
// connection a clear outcome, checks that the error is counted, and keeps a
// bystander client echoing on another connection before and after. Waits are
// on events with bounds; the only pauses are in writers that drip bytes.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tao/all.hpp"

#include "reliability/server_fixture.hpp"
#include "support/steady_bystander.hpp"
#include "support/tlv_socket.hpp"

using namespace std::chrono_literals;
using count_message = tao::protocol::text_message<2>;
using negative_message = tao::protocol::text_message<-5>;
using tao::protocol::errc;
using tao::test::both_modes;
using tao::test::code_name;
using tao::test::echo_message;
using tao::test::header;
using tao::test::read_end;
using tao::test::steady_bystander;
using tao::test::tlv_socket;
using clock_type = std::chrono::steady_clock;

namespace {

/// A payload codec whose decoder always throws.
struct throwing_payload {
  template <class T>
  static caf::error encode(const T&, tao::protocol::byte_buffer&) {
    return {};
  }

  template <class T>
  static caf::error decode(T&, std::string_view) {
    throw std::runtime_error("hostile payload");
  }
};

/// A registered type that can never be decoded.
struct undecodable {
  static constexpr int32_t tao_type = 7;
  using tao_payload = throwing_payload;
};

/// A type whose handler throws.
using throwing_message = tao::protocol::text_message<8>;

/// Reads frames until the server ends the connection; returns how the
/// connection ended (timeout if it was kept for the socket's timeout).
read_end read_until_end(tlv_socket& s) {
  while (s.read()) {
  }
  return s.end();
}

using fixture = tao::test::reliability_fixture;

} // namespace

BOOST_FIXTURE_TEST_SUITE(hostile_input, fixture)

BOOST_AUTO_TEST_CASE(oversized_lengths_close_promptly) {
  for (auto mode : both_modes) {
    start(options(mode));
    tlv_socket bystander{srv.port()};
    round_trips(bystander, 3);
    auto base = log.count("close oversized_frame");
    for (uint32_t length : {tao::protocol::default_max_payload + 1, 0xFFFFFFFFu}) {
      tlv_socket hostile{srv.port()};
      auto before = clock_type::now();
      BOOST_REQUIRE(hostile.send_raw(header(1, length)));
      BOOST_CHECK(read_until_end(hostile) != read_end::timeout);
      BOOST_TEST_MESSAGE(
        "length "
        << length << " closed after "
        << std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - before).count()
        << " us");
      // No 4 GiB buffer is allocated and filled: the close follows the header.
      BOOST_CHECK_LT(
        std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - before).count(),
        2000);
      BOOST_REQUIRE(log.wait_for("close oversized_frame", ++base));
      round_trips(bystander, 3);
    }
    BOOST_CHECK_EQUAL(
      metric_at_least("tao_connections_closed_total{reason=\"oversized_frame\"}", 2), 2);
    finish();
  }
}

BOOST_AUTO_TEST_CASE(truncated_frame_then_fin_is_reported) {
  for (auto mode : both_modes) {
    start(options(mode));
    tlv_socket bystander{srv.port()};
    round_trips(bystander, 3);
    auto base = log.count("close truncated_frame");
    {
      // Three whole frames, then a cut one: the whole ones are answered
      // before the connection ends with the error.
      tlv_socket hostile{srv.port()};
      for (int i = 0; i < 3; ++i)
        BOOST_REQUIRE(hostile.send(1, "whole " + std::to_string(i)));
      BOOST_REQUIRE(hostile.send_raw(header(1, 100) + std::string(10, 't')));
      hostile.shutdown_write();
      int replies = 0;
      while (auto f = hostile.read()) {
        BOOST_CHECK_EQUAL(f->payload, "whole " + std::to_string(replies));
        ++replies;
      }
      BOOST_CHECK_EQUAL(replies, 3);
      BOOST_CHECK(hostile.end() == read_end::eof);
    }
    BOOST_REQUIRE(log.wait_for("close truncated_frame", base + 1));
    BOOST_CHECK(log.count("error truncated_frame") >= base + 1);
    BOOST_CHECK_EQUAL(
      metric_at_least("tao_connections_closed_total{reason=\"truncated_frame\"}", 1), 1);
    round_trips(bystander, 3);
    finish();
  }
}

BOOST_AUTO_TEST_CASE(random_garbage_never_crashes) {
  for (auto mode : both_modes) {
    std::atomic<int> closes{0};
    std::atomic<int> errors{0};
    auto opts = options(mode);
    opts.on_close = [&closes](tao::connection&, const caf::error&) {
      ++closes;
    };
    opts.on_error = [&errors](tao::connection&, const caf::error&) {
      ++errors;
    };
    start(std::move(opts));
    tlv_socket bystander{srv.port()};
    round_trips(bystander, 3);
    int seeds = 0;
    for (uint32_t seed : {1u, 2u, 3u, 42u, 1234u, 99991u}) {
      std::mt19937 gen{seed};
      std::string bytes(4096, '\0');
      for (auto& ch : bytes)
        ch = static_cast<char>(gen() & 0xFF);
      tlv_socket hostile{srv.port()};
      hostile.send_raw(bytes); // the server may close before it read all
      // Whatever parsed, the FIN ends the connection: closed, never kept
      // waiting, never a crash.
      hostile.shutdown_write();
      BOOST_CHECK_MESSAGE(read_until_end(hostile) != read_end::timeout, "seed " << seed);
      ++seeds;
      round_trips(bystander, 2);
    }
    await([&] { return closes.load() >= seeds; });
    BOOST_CHECK_EQUAL(closes.load(), seeds);
    round_trips(bystander, 3);
    finish();
    // stop returns only after every on_close ran (the bystander's too).
    BOOST_CHECK_EQUAL(closes.load(), seeds + 1);
    // One error per hostile connection: nothing is read after a fatal one.
    BOOST_CHECK_EQUAL(errors.load(), seeds);
  }
}

BOOST_AUTO_TEST_CASE(unregistered_extreme_types_are_skipped_and_counted) {
  for (auto mode : both_modes) {
    auto opts = options(mode);
    BOOST_REQUIRE(!opts.handlers.on<negative_message>(
      [](tao::connection& c, const negative_message& m) { c.write(m); }));
    start(std::move(opts));
    tlv_socket bystander{srv.port()};
    round_trips(bystander, 3);
    tlv_socket odd{srv.port()};
    for (int32_t type :
         {-1, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()})
      BOOST_REQUIRE(odd.send(type, "who am I"));
    // The connection is kept: the next known frame is served.
    round_trips(odd, 1, "after unknown");
    BOOST_REQUIRE(odd.send(-5, "negative"));
    auto f = odd.read();
    BOOST_REQUIRE(f);
    BOOST_CHECK_EQUAL(f->type, -5);
    BOOST_CHECK_EQUAL(f->payload, "negative");
    BOOST_CHECK_EQUAL(metric_at_least("tao_unknown_frames_total", 3), 3);
    BOOST_CHECK_EQUAL(log.count("close unknown_type"), 0u);
    round_trips(bystander, 3);
    finish();
  }
}

BOOST_AUTO_TEST_CASE(zero_length_frames_in_a_tight_loop) {
  constexpr int frames = 100'000;
  for (auto mode : both_modes) {
    std::atomic<int> handled{0};
    auto opts = options(mode);
    BOOST_REQUIRE(
      !opts.handlers.on<count_message>([&handled](tao::connection&, const count_message& m) {
        if (m.text.empty())
          ++handled;
      }));
    start(std::move(opts));
    tlv_socket bystander{srv.port()};
    round_trips(bystander, 3);
    tlv_socket flood{srv.port()};
    std::string bytes;
    for (int i = 0; i < frames; ++i)
      bytes += header(2, 0);
    std::thread writer{[&] {
      flood.send_raw(bytes);
      flood.send(1, "done");
    }};
    round_trips(bystander, 50);
    writer.join();
    auto f = flood.read();
    BOOST_REQUIRE(f);
    BOOST_CHECK_EQUAL(f->payload, "done");
    BOOST_CHECK_EQUAL(handled.load(), frames);
    BOOST_CHECK_EQUAL(metric_at_least("tao_frames_received_total{type=\"2\"}", frames), frames);
    round_trips(bystander, 3);
    finish();
  }
}

namespace {

/// Drips a header announcing 1000 bytes, then one byte every `pause`, until
/// the server closes or `stop` is set.
void drip(int fd, std::atomic<bool>& stop, std::chrono::milliseconds pause) {
  auto bytes = header(1, 1000) + std::string(1000, 's');
  for (size_t i = 0; i < bytes.size() && !stop; ++i) {
    if (::send(fd, bytes.data() + i, 1, MSG_NOSIGNAL) != 1)
      return;
    std::this_thread::sleep_for(pause);
  }
}

} // namespace

/// Connects a slowloris peer (after `first` complete echo frames) and
/// returns how long the server took to end it.
std::chrono::milliseconds slowloris_close_latency(uint16_t port, int first) {
  tlv_socket hostile{port};
  for (int i = 0; i < first; ++i) {
    BOOST_REQUIRE(hostile.send(1, "first"));
    BOOST_REQUIRE(hostile.read());
  }
  auto before = clock_type::now();
  std::atomic<bool> stop{false};
  std::thread writer{[&] {
    drip(hostile.fd(), stop, 20ms);
  }};
  BOOST_CHECK(read_until_end(hostile) != read_end::timeout);
  auto latency = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - before);
  stop = true;
  writer.join();
  return latency;
}

BOOST_AUTO_TEST_CASE(slowloris_is_closed_by_the_first_message_timeout) {
  for (auto mode : both_modes) {
    auto opts = options(mode);
    opts.first_message_timeout = 200ms;
    start(std::move(opts));
    tlv_socket bystander{srv.port()};
    round_trips(bystander, 1); // its first message: the timeout no longer applies
    auto latency = slowloris_close_latency(srv.port(), 0);
    BOOST_TEST_MESSAGE("slowloris closed after " << latency.count()
                                                 << " ms (first_message_timeout 200 ms)");
    BOOST_CHECK_GE(latency.count(), 150);
    BOOST_CHECK_LT(latency.count(), 2000);
    BOOST_REQUIRE(log.wait_for("close idle_timeout", 1 + (mode == both_modes[0] ? 0 : 1)));
    BOOST_CHECK_EQUAL(metric_at_least("tao_connections_closed_total{reason=\"idle_timeout\"}", 1),
                      1);
    round_trips(bystander, 3);
    finish();
  }
}

BOOST_AUTO_TEST_CASE(slowloris_after_a_first_frame_is_closed_by_the_read_idle_timeout) {
  // read_idle_timeout counts complete frames, not bytes: dripping bytes of a
  // frame does not keep a connection alive.
  for (auto mode : both_modes) {
    auto opts = options(mode);
    opts.read_idle_timeout = 200ms;
    start(std::move(opts));
    steady_bystander bystander{srv.port(), 10ms};
    auto latency = slowloris_close_latency(srv.port(), 1);
    BOOST_TEST_MESSAGE("slowloris closed after " << latency.count()
                                                 << " ms (read_idle_timeout 200 ms)");
    BOOST_CHECK_GE(latency.count(), 100);
    BOOST_CHECK_LT(latency.count(), 2000);
    BOOST_CHECK_EQUAL(metric_at_least("tao_connections_closed_total{reason=\"idle_timeout\"}", 1),
                      1);
    BOOST_CHECK_EQUAL(bystander.stop(), 0);
    BOOST_CHECK_GT(bystander.completed(), 0);
    finish();
  }
}

BOOST_AUTO_TEST_CASE(slowloris_without_timeouts_is_kept) {
  start(options(tao::dispatch_mode::scheduled));
  tlv_socket bystander{srv.port()};
  round_trips(bystander, 1);
  tlv_socket hostile{srv.port()};
  std::atomic<bool> stop{false};
  std::thread writer{[&] {
    drip(hostile.fd(), stop, 5ms);
  }};
  round_trips(bystander, 20);
  BOOST_CHECK(await_connections(2));
  stop = true;
  writer.join();
  BOOST_CHECK_EQUAL(log.count("close idle_timeout"), 0u);
  round_trips(bystander, 3);
  finish();
}

/// A peer sends 50 echo frames, shuts down its write side (SHUT_WR) and
/// reads: it must get all 50 replies, then a FIN.
void check_half_open_peer(fixture& fx, tao::dispatch_mode mode) {
  fx.start(fx.options(mode));
  tlv_socket bystander{fx.srv.port()};
  fixture::round_trips(bystander, 1);
  tlv_socket half{fx.srv.port()};
  for (int i = 0; i < 50; ++i)
    BOOST_REQUIRE(half.send(1, "half " + std::to_string(i) + std::string(10'000, 'h')));
  half.shutdown_write();
  int replies = 0;
  while (auto f = half.read()) {
    BOOST_CHECK(f->payload.rfind("half " + std::to_string(replies), 0) == 0);
    ++replies;
  }
  BOOST_TEST_MESSAGE("half-open peer: " << replies << " of 50 replies before the end");
  BOOST_CHECK_EQUAL(replies, 50);
  BOOST_CHECK(half.end() == read_end::eof);
  fixture::round_trips(bystander, 3);
  fx.finish();
}

BOOST_AUTO_TEST_CASE(half_open_peer_gets_every_reply_then_fin_inline) {
  check_half_open_peer(*this, tao::dispatch_mode::inline_io);
}

// Scheduled dispatch: CAF 0.17 detaches the socket at the peer's FIN while
// the handler actor still has frames; the broker keeps the write side until
// the handler actor closed after them.
BOOST_AUTO_TEST_CASE(half_open_peer_gets_every_reply_then_fin_scheduled) {
  check_half_open_peer(*this, tao::dispatch_mode::scheduled);
}

BOOST_AUTO_TEST_CASE(silent_peers_are_closed_and_counted) {
  for (auto mode : both_modes) {
    auto opts = options(mode);
    opts.first_message_timeout = 150ms;
    start(std::move(opts));
    tlv_socket bystander{srv.port()};
    round_trips(bystander, 1);
    tlv_socket silent{srv.port()};
    BOOST_CHECK(read_until_end(silent) != read_end::timeout);
    BOOST_CHECK_EQUAL(metric_at_least("tao_connections_closed_total{reason=\"idle_timeout\"}", 1),
                      1);
    round_trips(bystander, 3);
    finish();

    opts = options(mode);
    opts.heartbeat_period = 50ms;
    opts.heartbeat_misses = 3;
    start(std::move(opts));
    steady_bystander live{srv.port(), 10ms};
    tlv_socket mute{srv.port()};
    // The mute peer receives heartbeats (type 0) but never answers.
    BOOST_CHECK(read_until_end(mute) != read_end::timeout);
    BOOST_REQUIRE(log.wait_for("close heartbeat_timeout"));
    BOOST_CHECK_EQUAL(
      metric_at_least("tao_connections_closed_total{reason=\"heartbeat_timeout\"}", 1), 1);
    finish();
  }
}

BOOST_AUTO_TEST_CASE(throwing_decoder_and_handler_close_only_their_connection) {
  for (auto mode : both_modes) {
    auto opts = options(mode);
    BOOST_REQUIRE(!opts.handlers.on<undecodable>([](tao::connection&, const undecodable&) {}));
    BOOST_REQUIRE(!opts.handlers.on<throwing_message>(
      [](tao::connection&, const throwing_message&) { throw std::logic_error("handler bug"); }));
    start(std::move(opts));
    tlv_socket bystander{srv.port()};
    round_trips(bystander, 3);
    auto malformed = log.count("close malformed_payload");
    auto failed = log.count("close handler_failed");
    {
      tlv_socket bad{srv.port()};
      BOOST_REQUIRE(bad.send(7, "boom"));
      BOOST_CHECK(read_until_end(bad) != read_end::timeout);
    }
    BOOST_REQUIRE(log.wait_for("close malformed_payload", malformed + 1));
    round_trips(bystander, 3);
    {
      tlv_socket bad{srv.port()};
      BOOST_REQUIRE(bad.send(8, "boom"));
      BOOST_CHECK(read_until_end(bad) != read_end::timeout);
    }
    BOOST_REQUIRE(log.wait_for("close handler_failed", failed + 1));
    BOOST_CHECK_EQUAL(
      metric_at_least("tao_connections_closed_total{reason=\"malformed_payload\"}", 1), 1);
    BOOST_CHECK_EQUAL(metric_at_least("tao_connections_closed_total{reason=\"handler_failed\"}", 1),
                      1);
    round_trips(bystander, 3);
    finish();
  }
}

BOOST_AUTO_TEST_CASE(connection_flood_beyond_max_connections) {
  constexpr size_t max = 50;
  constexpr size_t flood = 300;
  auto opts = options(tao::dispatch_mode::scheduled);
  opts.max_connections = max;
  start(std::move(opts));
  std::vector<std::unique_ptr<tlv_socket>> ok;
  for (size_t i = 0; i < max; ++i) {
    ok.push_back(std::make_unique<tlv_socket>(srv.port()));
    round_trips(*ok.back(), 1);
  }
  auto before = clock_type::now();
  std::vector<std::unique_ptr<tlv_socket>> extra;
  for (size_t i = 0; i < flood; ++i) {
    extra.push_back(std::make_unique<tlv_socket>(srv.port(), 5000));
    BOOST_REQUIRE(extra.back()->fd() >= 0);
  }
  size_t refused = 0;
  for (auto& s : extra)
    if (read_until_end(*s) != read_end::timeout)
      ++refused;
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - before);
  BOOST_TEST_MESSAGE(flood << " flood connections refused in " << took.count() << " ms");
  BOOST_CHECK_EQUAL(refused, flood);
  BOOST_CHECK_LT(took.count(), 5000);
  BOOST_CHECK_EQUAL(stats().refused_max_connections, flood);
  BOOST_CHECK_EQUAL(
    metric_at_least("tao_connections_refused_total{reason=\"max_connections\"}", flood), flood);
  for (auto& s : ok)
    round_trips(*s, 1, "existing");
  extra.clear();
  ok.resize(max - 10);
  BOOST_REQUIRE(await_connections(max - 10));
  for (int i = 0; i < 10; ++i) {
    ok.push_back(std::make_unique<tlv_socket>(srv.port()));
    round_trips(*ok.back(), 1, "again");
  }
  BOOST_CHECK_EQUAL(stats().refused_max_connections, flood);
  finish();
}

BOOST_AUTO_TEST_CASE(slow_reader_is_bounded_and_does_not_starve_others) {
  constexpr size_t high = 256 * 1024;
  constexpr size_t frame = 64 * 1024;
  for (auto policy : {tao::overflow_policy::would_block, tao::overflow_policy::disconnect}) {
    for (auto mode : both_modes) {
      std::atomic<size_t> max_queued{0};
      auto opts = options(mode);
      opts.high_water_mark = high;
      opts.low_water_mark = 64 * 1024;
      opts.overflow = policy;
      opts.drain_timeout = 100ms;
      BOOST_REQUIRE(!opts.handlers.on<tao::protocol::text_message<3>>(
        [&](tao::connection& c, const tao::protocol::text_message<3>&) {
          c.run_every(1ms, [&](tao::connection& x, tao::time_point) {
            x.write(echo_message{std::string(frame, 'f')});
            auto q = x.queued_bytes();
            if (q > max_queued)
              max_queued = q;
          });
        }));
      start(std::move(opts));
      tlv_socket bystander{srv.port()};
      round_trips(bystander, 3);
      auto slow = std::make_unique<tlv_socket>(srv.port());
      BOOST_REQUIRE(slow->send(3, "flood me"));
      if (policy == tao::overflow_policy::would_block) {
        auto deadline = clock_type::now() + 10s;
        while (metric("tao_would_block_total") < 100 && clock_type::now() < deadline)
          round_trips(bystander, 1);
        BOOST_CHECK_GE(metric("tao_would_block_total"), 100);
      } else {
        BOOST_REQUIRE(log.wait_for("close slow_consumer", log.count("close slow_consumer") + 1));
        BOOST_CHECK_EQUAL(
          metric_at_least("tao_connections_closed_total{reason=\"slow_consumer\"}", 1), 1);
      }
      // The bystander's throughput holds while the slow reader is full.
      auto before = clock_type::now();
      round_trips(bystander, 200);
      auto took = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - before);
      BOOST_TEST_MESSAGE("200 bystander round trips next to a slow reader: "
                         << took.count() << " ms; max queued " << max_queued.load());
      BOOST_CHECK_LT(took.count(), 5000);
      BOOST_CHECK_LE(max_queued.load(), high + frame + 8);
      slow.reset();
      finish();
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
