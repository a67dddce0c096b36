#define BOOST_TEST_MODULE reliability_connection_churn
#include <boost/test/unit_test.hpp>

// Connection churn must not grow the heap (issue 9, found by bench/soak): a
// server that accepted and closed thousands of connections holds no memory
// for them once they are gone. Measured with glibc's mallinfo2 (heap in
// use) after a warm-up round, so caches that fill once do not count; under
// sanitizers mallinfo2 sees nothing and the check passes trivially.

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <caf/scoped_actor.hpp>
#include <malloc.h>

#include "tao/all.hpp"

#include "reliability/peer_tools.hpp"
#include "support/io_threads.hpp"
#include "support/loopback.hpp"
#include "support/tlv_socket.hpp"

using namespace std::chrono_literals;
using echo_message = tao::protocol::text_message<1>;
using tao::test::tlv_socket;
using clock_type = std::chrono::steady_clock;

namespace {

/// Heap bytes in use (small blocks plus mmapped ones).
size_t heap_in_use() {
  auto info = ::mallinfo2();
  return info.uordblks + info.hblkhd;
}

struct fixture : tao::test::loopback_fixture {
  tao::server srv;
  /// Actors the system runs by itself, before any server.
  size_t system_actors = sys->registry().running();

  void start(tao::dispatch_mode mode) {
    tao::server_options opts;
    opts.dispatch = mode;
    opts.max_connections = 10000;
    BOOST_REQUIRE(!opts.handlers.on<echo_message>(
      [](tao::connection& c, const echo_message& m) { c.write(m); }));
    auto res = tao::server::start(*sys, tao::test::with_test_io_threads(std::move(opts)));
    BOOST_REQUIRE(res);
    srv = *res;
  }

  ~fixture() {
    if (srv)
      stop(srv);
  }

  uint64_t open_connections() {
    caf::scoped_actor self{*sys};
    uint64_t n = 0;
    self->request(srv.actor(), 10s, tao::stats_atom::value)
      .receive([&](tao::server_stats& x) { n = x.connections; },
               [](caf::error& err) { BOOST_FAIL(tao::protocol::render(err)); });
    return n;
  }

  /// Opens `n` connections in batches of 100, one echo round trip each,
  /// closes them, and waits (bounded) until the server and every actor of
  /// theirs are gone.
  void churn(size_t n, size_t idle_actors) {
    for (size_t done = 0; done < n; done += 100) {
      std::vector<std::unique_ptr<tlv_socket>> batch;
      for (size_t i = 0; i < 100; ++i) {
        batch.push_back(std::make_unique<tlv_socket>(srv.port()));
        BOOST_REQUIRE(batch.back()->send(1, "churn"));
      }
      for (auto& s : batch) {
        auto f = s->read();
        BOOST_REQUIRE(f);
        BOOST_REQUIRE_EQUAL(f->payload, "churn");
      }
    }
    auto deadline = clock_type::now() + 20s;
    while ((open_connections() > 0 || sys->registry().running() > idle_actors)
           && clock_type::now() < deadline)
      std::this_thread::sleep_for(5ms);
    BOOST_REQUIRE_EQUAL(open_connections(), 0u);
    BOOST_REQUIRE_EQUAL(sys->registry().running(), idle_actors);
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(connection_churn, fixture)

// Every connection broker monitors its owner (the server, or the client
// actor). CAF 0.17 keeps a monitor's record, with a weak reference to the
// monitoring actor, in the monitored actor until that one terminates, and a
// weak reference keeps the whole allocation of a terminated actor (about
// 1.5 KiB). Before the broker demonitored its owner when it quits, a server
// retained that much per connection it ever served (heaptrack: io::broker::fork
// in server.cpp and local_actor::monitor in connection_broker.cpp).
BOOST_AUTO_TEST_CASE(closed_connections_leave_no_heap_behind) {
  constexpr size_t warm_up = 500;
  constexpr size_t rounds = 3000;
  std::string figures;
  bool bounded = true;
  for (auto mode : {tao::dispatch_mode::scheduled, tao::dispatch_mode::inline_io}) {
    start(mode);
    // The server and its supervisor, and nothing of any connection.
    // (Counted, not read off the registry now: the previous mode's server
    // may still be finishing.) On several I/O threads the user's system
    // holds the front actor, shard 0's server broker and its supervisor.
    auto idle_actors = system_actors + (tao::test::test_io_threads() > 1 ? 3 : 2);
    churn(warm_up, idle_actors);
    ::malloc_trim(0);
    auto before = heap_in_use();
    churn(rounds, idle_actors);
    ::malloc_trim(0);
    auto after = heap_in_use();
    auto per_conn = after > before ? (after - before) / rounds : 0;
    figures += std::string{mode == tao::dispatch_mode::scheduled ? " scheduled" : " inline"}
               + ": heap " + std::to_string(before) + " -> " + std::to_string(after) + " bytes ("
               + std::to_string(per_conn) + " per connection);";
    // Allocator noise is a few KiB; a per-connection retention is MiBs.
    bounded = bounded && after < before + 256 * 1024;
    stop(srv);
    srv = tao::server{};
  }
  BOOST_TEST_MESSAGE(rounds << " connections opened and closed:" << figures);
  BOOST_CHECK_MESSAGE(bounded, "heap grew with closed connections:" << figures);
}

// The client side: each reconnect's broker monitors the client actor, which
// lives on.
BOOST_AUTO_TEST_CASE(reconnects_leave_no_heap_behind) {
  constexpr int warm_up = 200;
  constexpr int rounds = 1500;
  // A server that accepts and at once closes every connection.
  tao::test::raw_listener listener;
  BOOST_REQUIRE(listener.port() != 0);
  std::atomic<bool> done{false};
  std::thread acceptor{[&] {
    while (!done) {
      int fd = listener.accept(100ms);
      if (fd >= 0)
        ::close(fd);
    }
  }};
  std::atomic<int> connects{0};
  tao::client_options opts;
  opts.port = listener.port();
  opts.reconnect.enabled = true;
  opts.reconnect.initial_delay = 1ms;
  opts.reconnect.max_delay = 1ms;
  opts.reconnect.jitter = false;
  opts.on_connect = [&connects](tao::connection&) {
    ++connects;
    return true;
  };
  auto cli = tao::client::start(*sys, tao::test::with_test_io_threads(std::move(opts)));
  BOOST_REQUIRE(cli);
  auto await_connects = [&](int n) {
    auto deadline = clock_type::now() + 60s;
    while (connects < n && clock_type::now() < deadline)
      std::this_thread::sleep_for(1ms);
    return connects >= n;
  };
  BOOST_REQUIRE(await_connects(warm_up));
  ::malloc_trim(0);
  auto before = heap_in_use();
  auto first = connects.load();
  BOOST_REQUIRE(await_connects(first + rounds));
  ::malloc_trim(0);
  auto after = heap_in_use();
  auto cycles = connects.load() - first;
  cli->close();
  await_exit(cli->actor());
  done = true;
  acceptor.join();
  auto per_cycle = after > before ? (after - before) / static_cast<size_t>(cycles) : 0;
  BOOST_TEST_MESSAGE(cycles << " reconnects: heap " << before << " -> " << after << " bytes ("
                            << per_cycle << " per reconnect)");
  BOOST_CHECK_MESSAGE(after < before + 256 * 1024,
                      "heap grew with reconnects: " << before << " -> " << after << " bytes ("
                                                    << per_cycle << " per reconnect)");
}

BOOST_AUTO_TEST_SUITE_END()
