#define BOOST_TEST_MODULE concurrency_connection_gate
#include <boost/test/unit_test.hpp>

// The gate of a server on several I/O shards, driven from plain threads as
// the dealer and the shards drive it (precise under ThreadSanitizer).

#include <atomic>
#include <thread>
#include <vector>

#include "tao/detail/connection_gate.hpp"

using tao::detail::connection_gate;

BOOST_AUTO_TEST_CASE(picks_spread_evenly_and_follow_departures) {
  connection_gate gate{3, 100};
  std::vector<size_t> per_shard(3);
  for (int i = 0; i < 9; ++i)
    ++per_shard[gate.pick()];
  BOOST_CHECK_EQUAL(per_shard[0], 3u);
  BOOST_CHECK_EQUAL(per_shard[1], 3u);
  BOOST_CHECK_EQUAL(per_shard[2], 3u);
  // Shard 1 loses two: the next two picks go there.
  gate.unassign(1);
  gate.unassign(1);
  BOOST_CHECK_EQUAL(gate.pick(), 1u);
  BOOST_CHECK_EQUAL(gate.pick(), 1u);
  BOOST_CHECK_EQUAL(gate.assigned(1), 3u);
}

BOOST_AUTO_TEST_CASE(admission_never_exceeds_the_limit_under_contention) {
  // One dealer thread assigns sockets; each shard thread admits or refuses
  // what it was assigned and holds up to 6 connections until every shard
  // thread is through, so that the shards together (24) press against the
  // limit (16) however the threads are scheduled.
  constexpr size_t shards = 4;
  constexpr size_t max = 16;
  constexpr size_t held_per_shard = 6;
  constexpr int sockets = 40000;
  connection_gate gate{shards, max};
  std::atomic<size_t> pending[shards] = {};
  std::atomic<bool> dealt{false};
  std::atomic<size_t> inside{0};
  std::atomic<bool> over{false};
  std::atomic<size_t> refusals{0};
  std::atomic<size_t> through{0};
  std::vector<std::thread> threads;
  for (size_t s = 0; s < shards; ++s)
    threads.emplace_back([&, s] {
      size_t held = 0;
      for (;;) {
        auto n = pending[s].load();
        if (n == 0) {
          if (dealt.load() && pending[s].load() == 0)
            break;
          std::this_thread::yield();
          continue;
        }
        pending[s].fetch_sub(1);
        if (!gate.try_enter()) {
          gate.unassign(s);
          refusals.fetch_add(1);
          continue;
        }
        if (inside.fetch_add(1) + 1 > max)
          over = true;
        if (++held > held_per_shard) {
          inside.fetch_sub(1);
          gate.leave(s);
          --held;
        }
      }
      through.fetch_add(1);
      while (through.load() < shards)
        std::this_thread::yield();
      for (; held > 0; --held) {
        inside.fetch_sub(1);
        gate.leave(s);
      }
    });
  std::thread dealer([&] {
    for (int i = 0; i < sockets; ++i)
      pending[gate.pick()].fetch_add(1);
    dealt = true;
  });
  dealer.join();
  for (auto& t : threads)
    t.join();
  BOOST_CHECK(!over);
  BOOST_CHECK_GT(refusals.load(), 0u);
  BOOST_CHECK_EQUAL(gate.open(), 0u);
  for (size_t s = 0; s < shards; ++s)
    BOOST_CHECK_EQUAL(gate.assigned(s), 0u);
}
