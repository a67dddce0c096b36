#define BOOST_TEST_MODULE integration_server
#include <boost/test/unit_test.hpp>

// Loopback tests with real sockets on 127.0.0.1 and ephemeral ports. Every
// wait is on an event with a bound; no sleeps.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <sys/socket.h>

#include "tao/all.hpp"

#include "support/event_log.hpp"
#include "support/io_threads.hpp"
#include "support/tlv_socket.hpp"

using namespace std::chrono_literals;
using echo_message = tao::protocol::text_message<1>;
using tao::protocol::errc;
using tao::test::read_end;
using tao::test::tlv_socket;

namespace {

struct fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  tao::server srv;
  tao::test::event_log log;

  fixture() {
    tao::log_options quiet;
    quiet.level = tao::log_level::warn;
    tao::configure_logging(quiet);
    cfg.load<caf::io::middleman>();
    sys = std::make_unique<caf::actor_system>(cfg);
  }

  ~fixture() {
    if (srv)
      stop();
    sys.reset();
  }

  tao::server_options echo_options() {
    tao::server_options opts;
    BOOST_REQUIRE(!opts.handlers.on<echo_message>(
      [](tao::connection& c, const echo_message& m) { c.write(m); }));
    opts.on_close = [this](tao::connection&, const caf::error& reason) {
      log.add("close "
              + std::string{reason ? tao::protocol::to_string(static_cast<errc>(reason.code()))
                                   : "none"});
    };
    return opts;
  }

  void start(tao::server_options opts) {
    auto res = tao::server::start(*sys, tao::test::with_test_io_threads(std::move(opts)));
    BOOST_REQUIRE(res);
    srv = *res;
  }

  void stop() {
    caf::scoped_actor self{*sys};
    self->request(srv.actor(), 20s, tao::stop_atom::value)
      .receive([] {},
               [](caf::error& err) { BOOST_FAIL("stop failed: " << tao::protocol::render(err)); });
    srv = tao::server{};
  }

  template <class Reply, class... Ts>
  Reply ask(Ts... xs) {
    caf::scoped_actor self{*sys};
    Reply result{};
    self->request(srv.actor(), 10s, xs...)
      .receive([&](Reply& x) { result = std::move(x); },
               [](caf::error& err) { BOOST_FAIL(tao::protocol::render(err)); });
    return result;
  }
};

/// Reads one frame and returns its payload ("" plus a failed check if none).
std::string read_payload(tlv_socket& s) {
  auto f = s.read();
  BOOST_REQUIRE_MESSAGE(f, "no frame: end " << static_cast<int>(s.end()));
  return f->payload;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(server_loopback, fixture)

BOOST_AUTO_TEST_CASE(many_clients_echo_in_order) {
  for (auto mode : {tao::dispatch_mode::scheduled, tao::dispatch_mode::inline_io}) {
    auto opts = echo_options();
    opts.dispatch = mode;
    start(std::move(opts));
    std::vector<std::unique_ptr<tlv_socket>> clients;
    for (int i = 0; i < 20; ++i) {
      clients.push_back(std::make_unique<tlv_socket>(srv.port()));
      BOOST_REQUIRE(clients.back()->fd() >= 0);
    }
    for (int k = 0; k < 100; ++k)
      for (size_t i = 0; i < clients.size(); ++i)
        BOOST_REQUIRE(clients[i]->send(1, std::to_string(i) + ":" + std::to_string(k)));
    for (size_t i = 0; i < clients.size(); ++i)
      for (int k = 0; k < 100; ++k)
        BOOST_REQUIRE_EQUAL(read_payload(*clients[i]), std::to_string(i) + ":" + std::to_string(k));
    stop();
  }
}

namespace {

/// Payload number `seq` of a writer in `writes_of_three_writers_stay_whole`:
/// the number, then filler of a length and a letter that depend on it.
std::string numbered_payload(uint32_t seq) {
  auto digits = std::to_string(seq);
  return digits + std::string(1 + (seq * 7919u) % 30000u, static_cast<char>('a' + seq % 26));
}

} // namespace

// Scheduled dispatch: the connection actor sends its writes to the socket
// itself while nothing is queued, and hands them to the broker otherwise.
// Three writers share the socket here (the actor's timer, another thread
// through a connection_ref, the broker's heartbeats) and the reader is
// slower than them, so every path is taken: each frame must arrive whole,
// and each writer's frames in order.
BOOST_AUTO_TEST_CASE(writes_of_three_writers_stay_whole_and_in_order) {
  using timer_frame = tao::protocol::text_message<3>;
  using ref_frame = tao::protocol::text_message<4>;
  constexpr uint32_t timer_frames = 1500;
  constexpr uint32_t ref_frames = 400;
  tao::server_options opts;
  opts.dispatch = tao::dispatch_mode::scheduled;
  opts.heartbeat_period = 2ms;
  opts.heartbeat_misses = 100000; // the reader says nothing after "go"
  opts.high_water_mark = 64 * 1024 * 1024;
  opts.low_water_mark = 32 * 1024 * 1024;
  std::mutex mtx;
  tao::connection_ref ref;
  std::atomic<int> refused{0};
  BOOST_REQUIRE(!opts.handlers.on<echo_message>([&](tao::connection& c, const echo_message&) {
    {
      std::lock_guard<std::mutex> guard{mtx};
      ref = c.ref();
    }
    log.add("ref");
    auto next = std::make_shared<uint32_t>(0);
    c.run_every(1ms, [next, &refused](tao::connection& x, tao::time_point) {
      for (int i = 0; i < 8 && *next < timer_frames; ++i)
        if (x.write(timer_frame{numbered_payload((*next)++)}))
          ++refused;
    });
  }));
  start(std::move(opts));
  tlv_socket s{srv.port()};
  // A small receive buffer keeps the kernel from taking whole batches, so
  // that the actor's direct sends go partial.
  int rcvbuf = 16 * 1024;
  BOOST_REQUIRE_EQUAL(::setsockopt(s.fd(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)), 0);
  BOOST_REQUIRE(s.send(1, "go"));
  BOOST_REQUIRE(log.wait_for("ref"));
  // The reader's progress, so that the other writer spreads its frames over
  // the whole exchange (the broker's sends then meet the actor's partial
  // ones) instead of sending them all at the start.
  std::mutex progress_mtx;
  std::condition_variable progress_cv;
  uint32_t timer_seen = 0;
  std::thread other{[&] {
    tao::connection_ref r;
    {
      std::lock_guard<std::mutex> guard{mtx};
      r = ref;
    }
    for (uint32_t seq = 0; seq < ref_frames; ++seq) {
      {
        // Bounded: a stalled reader fails below, not here.
        std::unique_lock<std::mutex> guard{progress_mtx};
        progress_cv.wait_for(guard, 1s,
                             [&] { return timer_seen >= seq * (timer_frames / ref_frames); });
      }
      if (r.write(ref_frame{numbered_payload(seq)})) {
        ++refused;
        return;
      }
    }
  }};
  uint32_t next_timer = 0;
  uint32_t next_ref = 0;
  uint32_t heartbeats = 0;
  bool intact = true;
  while (intact && (next_timer < timer_frames || next_ref < ref_frames)) {
    auto f = s.read();
    if (!f) {
      intact = false;
      BOOST_ERROR("no frame after " << next_timer << " + " << next_ref << ": end "
                                    << static_cast<int>(s.end()));
      break;
    }
    if (f->type == 0) {
      intact = f->payload.size() == 8;
      ++heartbeats;
    } else if (f->type == 3) {
      intact = f->payload == numbered_payload(next_timer++);
      {
        std::lock_guard<std::mutex> guard{progress_mtx};
        timer_seen = next_timer;
      }
      progress_cv.notify_one();
    } else if (f->type == 4) {
      intact = f->payload == numbered_payload(next_ref++);
    } else {
      intact = false;
    }
    if (!intact)
      BOOST_ERROR("frame of type " << f->type << " and " << f->payload.size() << " bytes after "
                                   << next_timer << " + " << next_ref << " frames: not "
                                   << (f->type == 0 ? "a heartbeat" : "the next one"));
  }
  other.join();
  BOOST_CHECK_EQUAL(refused.load(), 0);
  BOOST_CHECK(intact);
  BOOST_CHECK_EQUAL(next_timer, timer_frames);
  BOOST_CHECK_EQUAL(next_ref, ref_frames);
  BOOST_TEST_MESSAGE("three writers: " << next_timer << " + " << next_ref << " frames and "
                                       << heartbeats << " heartbeats, in order");
}

BOOST_AUTO_TEST_CASE(golden_bytes_are_echoed_byte_for_byte) {
  start(echo_options());
  tlv_socket s{srv.port()};
  const std::string golden{"\x01\x00\x00\x00\x02\x00\x00\x00hi", 10};
  BOOST_REQUIRE(s.send_raw(golden));
  char buf[10];
  BOOST_REQUIRE_EQUAL(::recv(s.fd(), buf, 10, MSG_WAITALL), 10);
  BOOST_CHECK(std::string(buf, 10) == golden);
}

BOOST_AUTO_TEST_CASE(large_payloads_and_the_limit) {
  start(echo_options());
  tlv_socket big{srv.port()};
  std::string mib(1 << 20, 'm');
  BOOST_REQUIRE(big.send(1, mib));
  BOOST_CHECK(read_payload(big) == mib);
  std::string max(tao::protocol::default_max_payload, 'x');
  BOOST_REQUIRE(big.send(1, max));
  BOOST_CHECK(read_payload(big) == max);
  // One byte more: the server closes that connection, others are served.
  tlv_socket other{srv.port()};
  std::string hdr(8, '\0');
  tao::protocol::store_le32(hdr.data(), 1);
  tao::protocol::store_le32(hdr.data() + 4, tao::protocol::default_max_payload + 1);
  BOOST_REQUIRE(big.send_raw(hdr));
  BOOST_CHECK(!big.read());
  BOOST_CHECK(big.end() != read_end::timeout);
  BOOST_REQUIRE(log.wait_for("close oversized_frame"));
  BOOST_REQUIRE(other.send(1, "still served"));
  BOOST_CHECK_EQUAL(read_payload(other), "still served");
}

BOOST_AUTO_TEST_CASE(close_after_writes_delivers_everything_then_fin) {
  auto opts = echo_options();
  opts.handlers = tao::handlers{};
  BOOST_REQUIRE(!opts.handlers.on<echo_message>([](tao::connection& c, const echo_message&) {
    for (int i = 0; i < 5; ++i)
      c.write(echo_message{"reply " + std::to_string(i) + std::string(100'000, '.')});
    c.close();
  }));
  start(std::move(opts));
  tlv_socket s{srv.port()};
  BOOST_REQUIRE(s.send(1, "go"));
  for (int i = 0; i < 5; ++i)
    BOOST_CHECK(read_payload(s).rfind("reply " + std::to_string(i), 0) == 0);
  BOOST_CHECK(!s.read());
  BOOST_CHECK(s.end() == read_end::eof); // FIN, not RST (Tao: 0-1 replies, then RST)
}

BOOST_AUTO_TEST_CASE(frames_before_the_peers_fin_are_all_handled) {
  std::atomic<int> handled{0};
  auto opts = echo_options();
  opts.handlers = tao::handlers{};
  BOOST_REQUIRE(!opts.handlers.on<echo_message>(
    [&handled](tao::connection&, const echo_message&) { ++handled; }));
  start(std::move(opts));
  {
    tlv_socket s{srv.port()};
    std::string bytes;
    for (int i = 0; i < 100; ++i)
      bytes += std::string{"\x01\x00\x00\x00\x01\x00\x00\x00", 8} + "x";
    BOOST_REQUIRE(s.send_raw(bytes));
  } // close right after writing (Tao handled 1-3 of 10)
  BOOST_REQUIRE(log.wait_for("close none"));
  BOOST_CHECK_EQUAL(handled.load(), 100);
}

BOOST_AUTO_TEST_CASE(stop_delivers_queued_data_before_fin) {
  auto opts = echo_options();
  opts.handlers = tao::handlers{};
  std::string big(2 << 20, 'q');
  BOOST_REQUIRE(!opts.handlers.on<echo_message>([&](tao::connection& c, const echo_message&) {
    c.write(echo_message{big});
    log.add("replied");
  }));
  start(std::move(opts));
  std::vector<std::unique_ptr<tlv_socket>> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(std::make_unique<tlv_socket>(srv.port()));
    BOOST_REQUIRE(clients.back()->send(1, "give"));
  }
  BOOST_REQUIRE(log.wait_for("replied", 3));
  // Stop while the replies are still on their way (the clients did not read).
  std::thread stopper{[this] {
    stop();
  }};
  for (auto& c : clients) {
    BOOST_CHECK(read_payload(*c) == big);
    BOOST_CHECK(!c->read());
    BOOST_CHECK(c->end() == read_end::eof);
  }
  stopper.join();
}

BOOST_AUTO_TEST_CASE(max_connections_refuses_promptly) {
  auto opts = echo_options();
  opts.max_connections = 3;
  start(std::move(opts));
  std::vector<std::unique_ptr<tlv_socket>> ok;
  for (int i = 0; i < 3; ++i) {
    ok.push_back(std::make_unique<tlv_socket>(srv.port()));
    BOOST_REQUIRE(ok.back()->send(1, "hi"));
    BOOST_REQUIRE_EQUAL(read_payload(*ok.back()), "hi");
  }
  tlv_socket fourth{srv.port()};
  BOOST_CHECK(!fourth.read());
  BOOST_CHECK(fourth.end() == read_end::eof);
  BOOST_CHECK_EQUAL(ask<tao::server_stats>(tao::stats_atom::value).refused_max_connections, 1u);
  for (auto& c : ok) {
    BOOST_REQUIRE(c->send(1, "again"));
    BOOST_CHECK_EQUAL(read_payload(*c), "again");
  }
}

BOOST_AUTO_TEST_CASE(slow_consumer_would_block_then_writable) {
  constexpr size_t high = 256 * 1024;
  constexpr size_t frame = 64 * 1024;
  std::atomic<size_t> max_queued{0};
  auto opts = echo_options();
  opts.high_water_mark = high;
  opts.low_water_mark = 64 * 1024;
  opts.handlers = tao::handlers{};
  BOOST_REQUIRE(!opts.handlers.on<echo_message>([&](tao::connection& c, const echo_message&) {
    c.run_every(1ms, [&](tao::connection& x, tao::time_point) {
      auto q = x.queued_bytes();
      if (q > max_queued)
        max_queued = q;
      if (x.write(echo_message{std::string(frame, 'f')})) {
        if (x.timer_count() > 0 && !x.context_value("blocked")) {
          x.set_context_value("blocked", true);
          log.add("would_block");
        }
      }
    });
  }));
  opts.on_writable = [this](tao::connection&) {
    log.add("writable");
  };
  start(std::move(opts));
  tlv_socket s{srv.port()};
  BOOST_REQUIRE(s.send(1, "flood me"));
  BOOST_REQUIRE(log.wait_for("would_block"));
  // Bounded: the high-water mark plus one frame (plus its header).
  BOOST_CHECK_LE(max_queued.load(), high + frame + 8);
  // Start reading: the queue drains and the writer learns it.
  for (int i = 0; i < 64 && log.count("writable") == 0; ++i)
    BOOST_REQUIRE(s.read());
  BOOST_CHECK(log.wait_for("writable"));
}

BOOST_AUTO_TEST_CASE(slow_consumer_disconnect_keeps_others_going) {
  auto opts = echo_options();
  opts.high_water_mark = 256 * 1024;
  opts.overflow = tao::overflow_policy::disconnect;
  auto echo = opts.handlers.find(1) != nullptr;
  BOOST_REQUIRE(echo);
  BOOST_REQUIRE(!opts.handlers.on<tao::protocol::text_message<2>>(
    [](tao::connection& c, const tao::protocol::text_message<2>&) {
      c.run_every(1ms, [](tao::connection& x, tao::time_point) {
        x.write(echo_message{std::string(64 * 1024, 'f')});
      });
    }));
  start(std::move(opts));
  tlv_socket slow{srv.port()};
  tlv_socket fine{srv.port()};
  BOOST_REQUIRE(slow.send(2, "flood me"));
  BOOST_REQUIRE(log.wait_for("close slow_consumer"));
  BOOST_REQUIRE(fine.send(1, "unaffected"));
  BOOST_CHECK_EQUAL(read_payload(fine), "unaffected");
}

BOOST_AUTO_TEST_CASE(broadcast_continues_past_a_full_member) {
  auto opts = echo_options();
  opts.high_water_mark = 128 * 1024;
  start(std::move(opts));
  tlv_socket stuck{srv.port()};
  tlv_socket a{srv.port()};
  tlv_socket b{srv.port()};
  for (auto* s : {&stuck, &a, &b}) {
    BOOST_REQUIRE(s->send(1, "hello"));
    BOOST_REQUIRE_EQUAL(read_payload(*s), "hello");
  }
  // Broadcast large frames in lockstep with a and b, which read each one;
  // "stuck" never reads, so its queue is the one that fills up.
  tao::protocol::byte_buffer bytes;
  std::string payload(32 * 1024, 'b');
  BOOST_REQUIRE(!tao::protocol::tlv_codec{}.encode(1, payload, bytes));
  tao::broadcast_result result;
  for (int i = 0; i < 10'000 && result.failed.empty(); ++i) {
    result = ask<tao::broadcast_result>(tao::broadcast_atom::value, bytes);
    if (result.failed.empty()) {
      BOOST_REQUIRE(read_payload(a) == payload);
      BOOST_REQUIRE(read_payload(b) == payload);
    }
  }
  // Tao stopped at the first failing member; tao skips it and goes on.
  BOOST_REQUIRE_EQUAL(result.failed.size(), 1u);
  BOOST_CHECK_EQUAL(result.delivered, 2u);
  BOOST_CHECK(read_payload(a) == payload);
  BOOST_CHECK(read_payload(b) == payload);
}

BOOST_AUTO_TEST_CASE(stop_is_bounded_when_a_handler_blocks) {
  // A handler that blocks never lets its actor take the close request; stop
  // must still end, by resetting that connection after twice the drain
  // timeout. (Blocking handlers belong in scheduled dispatch: on the I/O
  // thread they would stall every connection, the server's included.)
  std::mutex mtx;
  std::condition_variable cv;
  bool release = false;
  auto opts = echo_options();
  opts.dispatch = tao::dispatch_mode::scheduled;
  opts.drain_timeout = 100ms;
  opts.handlers = tao::handlers{};
  BOOST_REQUIRE(!opts.handlers.on<echo_message>([&](tao::connection&, const echo_message&) {
    log.add("blocking");
    std::unique_lock<std::mutex> guard{mtx};
    cv.wait_for(guard, 20s, [&] { return release; });
  }));
  start(std::move(opts));
  tlv_socket s{srv.port()};
  BOOST_REQUIRE(s.send(1, "block"));
  BOOST_REQUIRE(log.wait_for("blocking"));
  auto before = std::chrono::steady_clock::now();
  stop();
  BOOST_CHECK(std::chrono::steady_clock::now() - before < 10s);
  BOOST_CHECK(!s.read());
  {
    std::lock_guard<std::mutex> guard{mtx};
    release = true;
  }
  cv.notify_all();
}

BOOST_AUTO_TEST_SUITE_END()
