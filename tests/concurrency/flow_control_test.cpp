#define BOOST_TEST_MODULE concurrency_flow_control
#include <boost/test/unit_test.hpp>

// The lock-free flow control shared between threads, driven from plain
// std::threads (no CAF scheduling in between, so ThreadSanitizer sees every
// synchronisation): outbound_budget between many writers and one broker,
// inbound_window between a broker and its handler actor. Besides freedom
// from data races (make tsan), each case checks the contract's liveness:
// a refused writer or a stopped reader is always woken, never left waiting.
// Waits are bounded; threads record failures in atomics and the main thread
// checks them (Boost.Test is not thread-safe).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "tao/net/inbound_window.hpp"
#include "tao/net/outbound_budget.hpp"

using namespace std::chrono_literals;

namespace {

/// Longest a thread waits for a wake-up before it reports a lost one.
constexpr auto patience = 20s;

/// A deterministic size sequence per thread: 1..max bytes.
struct sizes {
  uint32_t state;
  size_t max;
  size_t next() {
    state = state * 1103515245u + 12345u;
    return 1 + (state >> 16) % max;
  }
};

/// A counter that threads wait on: `bump` wakes every waiter.
class generation {
public:
  uint64_t current() {
    std::lock_guard<std::mutex> guard{mtx_};
    return value_;
  }
  void bump() {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      ++value_;
    }
    cv_.notify_all();
  }
  /// Waits until the value passes `seen`; false on timeout.
  bool wait_past(uint64_t seen) {
    std::unique_lock<std::mutex> guard{mtx_};
    return cv_.wait_for(guard, patience, [&] { return value_ > seen; });
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  uint64_t value_ = 0;
};

/// A queue of byte counts between threads (the broker's mailbox).
class byte_queue {
public:
  void push(size_t n) {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      items_.push_back(n);
    }
    cv_.notify_one();
  }
  /// Pops one item; false once `done` holds and the queue is empty.
  template <class Done>
  bool pop(size_t& n, Done done) {
    std::unique_lock<std::mutex> guard{mtx_};
    for (;;) {
      if (!items_.empty()) {
        n = items_.front();
        items_.pop_front();
        return true;
      }
      if (done())
        return false;
      cv_.wait_for(guard, 10ms);
    }
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<size_t> items_;
};

} // namespace

BOOST_AUTO_TEST_SUITE(concurrency_flow_control)

// Four writers reserve with try_reserve against one broker releasing what
// it received; refused writers wait for the drain notification.
BOOST_AUTO_TEST_CASE(refused_writers_are_always_woken) {
  constexpr size_t high = 4096;
  constexpr size_t low = 1024;
  constexpr size_t max_frame = 256;
  constexpr int writers = 4;
  constexpr int writes_each = 20000;
  tao::net::outbound_budget budget{high, low};
  byte_queue mailbox;
  generation drained;
  std::atomic<int> running{writers};
  std::atomic<int> lost_wakeups{0};
  std::atomic<int> refusals{0};
  std::atomic<size_t> peak{0};
  std::atomic<int> notifications{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      sizes gen{static_cast<uint32_t>(w + 1), max_frame};
      for (int i = 0; i < writes_each && lost_wakeups == 0;) {
        auto n = gen.next();
        auto seen = drained.current();
        if (budget.try_reserve(n)) {
          auto q = budget.queued();
          auto p = peak.load();
          while (q > p && !peak.compare_exchange_weak(p, q)) {
          }
          mailbox.push(n);
          ++i;
          continue;
        }
        ++refusals;
        if (!drained.wait_past(seen))
          ++lost_wakeups;
      }
      --running;
    });
  }
  std::thread broker{[&] {
    size_t n = 0;
    while (mailbox.pop(n, [&] { return running == 0; })) {
      if (budget.release(n)) {
        ++notifications;
        drained.bump();
      }
    }
  }};
  for (auto& t : threads)
    t.join();
  broker.join();
  BOOST_CHECK_EQUAL(lost_wakeups.load(), 0);
  BOOST_CHECK_EQUAL(budget.queued(), 0u);
  BOOST_CHECK_GT(refusals.load(), 0); // the marks were really exercised
  BOOST_CHECK_GT(notifications.load(), 0);
  // The bound: high-water mark plus one frame per writer racing past it.
  BOOST_CHECK_LE(peak.load(), high + writers * max_frame);
}

// force_reserve (the disconnect policy's path) from several threads: the
// count stays exact and every crossing of the mark is reported drained.
BOOST_AUTO_TEST_CASE(forced_reservations_balance) {
  tao::net::outbound_budget budget{1000, 200};
  constexpr int threads_n = 4;
  constexpr int ops = 50000;
  std::atomic<int> crossings{0};
  std::atomic<int> drains{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < threads_n; ++t) {
    threads.emplace_back([&, t] {
      sizes gen{static_cast<uint32_t>(100 + t), 64};
      for (int i = 0; i < ops; ++i) {
        auto n = gen.next();
        if (budget.force_reserve(n) == tao::net::reserve_status::above_high_water_mark)
          ++crossings;
        if (budget.release(n))
          ++drains;
      }
    });
  }
  for (auto& t : threads)
    t.join();
  BOOST_CHECK_EQUAL(budget.queued(), 0u);
  // Each drain notification ends an episode that some crossing started.
  BOOST_CHECK_LE(drains.load(), crossings.load());
}

// Writers reserve while the broker closes the budget: every reservation
// made before the close is in the count the close returns (so a connection
// that ends can report exactly what did not go out), and none succeeds
// after it.
BOOST_AUTO_TEST_CASE(close_counts_every_earlier_reservation) {
  constexpr int writers = 3;
  constexpr int rounds = 200;
  for (int round = 0; round < rounds; ++round) {
    tao::net::outbound_budget budget{size_t{1} << 40, 0};
    std::atomic<bool> go{false};
    std::atomic<size_t> reserved{0};
    std::atomic<size_t> refused_after_close{0};
    std::atomic<size_t> reserved_after_close{0};
    std::vector<std::thread> threads;
    for (int w = 0; w < writers; ++w) {
      threads.emplace_back([&, w] {
        sizes gen{static_cast<uint32_t>(round * writers + w + 1), 512};
        while (!go.load()) {
        }
        for (int i = 0; i < 2000; ++i) {
          auto n = gen.next();
          bool was_closed = budget.closed();
          auto status = w % 2 == 0 ? budget.force_reserve(n)
                                   : (budget.try_reserve(n) ? tao::net::reserve_status::reserved
                                                            : tao::net::reserve_status::closed);
          if (status == tao::net::reserve_status::closed) {
            ++refused_after_close;
            break;
          }
          reserved += n;
          if (was_closed)
            ++reserved_after_close;
        }
      });
    }
    go = true;
    auto at_close = budget.close();
    for (auto& t : threads)
      t.join();
    // Nothing was released: whatever got reserved did so before the close.
    BOOST_REQUIRE_EQUAL(at_close, reserved.load());
    BOOST_REQUIRE_EQUAL(budget.queued(), reserved.load());
    BOOST_REQUIRE_EQUAL(reserved_after_close.load(), 0u);
    BOOST_REQUIRE(!budget.writable());
    BOOST_REQUIRE_EQUAL(budget.close(), reserved.load()); // idempotent
    budget.release(reserved.load());
    BOOST_REQUIRE_EQUAL(budget.queued(), 0u);
    BOOST_REQUIRE(budget.closed());
  }
}

// A broker adds batches and stops at a full window; the handler consumes
// them and resumes the broker. Every stop meets exactly one resume.
BOOST_AUTO_TEST_CASE(stopped_reader_is_always_resumed) {
  constexpr size_t limit = 8192;
  constexpr size_t max_batch = 1024;
  constexpr int batches = 100000;
  tao::net::inbound_window window{limit};
  byte_queue handler_mailbox;
  generation resumed;
  std::atomic<bool> broker_done{false};
  std::atomic<int> stops{0};
  std::atomic<int> resumes{0};
  std::atomic<int> lost_wakeups{0};
  std::atomic<size_t> peak{0};
  std::thread handler{[&] {
    size_t n = 0;
    while (handler_mailbox.pop(n, [&] { return broker_done.load(); })) {
      if (window.consume(n)) {
        ++resumes;
        resumed.bump();
      }
    }
  }};
  std::thread broker{[&] {
    sizes gen{7, max_batch};
    for (int i = 0; i < batches && lost_wakeups == 0; ++i) {
      auto n = gen.next();
      auto seen = resumed.current();
      bool stop = window.add(n);
      auto f = window.in_flight();
      auto p = peak.load();
      while (f > p && !peak.compare_exchange_weak(p, f)) {
      }
      handler_mailbox.push(n);
      if (stop) {
        ++stops;
        if (!resumed.wait_past(seen))
          ++lost_wakeups;
      }
    }
    broker_done = true;
  }};
  broker.join();
  handler.join();
  BOOST_CHECK_EQUAL(lost_wakeups.load(), 0);
  BOOST_CHECK_GT(stops.load(), 0);
  BOOST_CHECK_EQUAL(stops.load(), resumes.load());
  BOOST_CHECK_EQUAL(window.in_flight(), 0u);
  BOOST_CHECK(!window.stopped());
  BOOST_CHECK_LE(peak.load(), limit + max_batch);
}

BOOST_AUTO_TEST_SUITE_END()
