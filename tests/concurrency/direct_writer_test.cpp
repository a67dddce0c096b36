#define BOOST_TEST_MODULE concurrency_direct_writer
#include <boost/test/unit_test.hpp>

// net::direct_writer, the socket a broker shares with its connection actor
// (scheduled dispatch), on a socket pair: the contract case by case, then a
// writer thread, a broker thread (its own sends, a CAF-like write buffer
// that it flushes without the lock, hand-overs in mailbox order) and a
// reader thread checking that every frame arrives whole and each sender's
// frames in order. make tsan runs this suite. Waits are bounded; threads
// record failures in atomics and the main thread checks them.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include <sys/socket.h>
#include <unistd.h>

#include "tao/net/direct_writer.hpp"
#include "tao/net/outbound_budget.hpp"
#include "tao/net/socket_ops.hpp"

using namespace std::chrono_literals;
using tao::net::direct_writer;
using tao::net::outbound_budget;
using tao::protocol::byte_buffer;

namespace {

/// A connected pair of stream sockets, closed at the end.
struct socket_pair {
  int writer = -1;
  int reader = -1;
  socket_pair() {
    int fds[2];
    BOOST_REQUIRE_EQUAL(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    writer = fds[0];
    reader = fds[1];
  }
  ~socket_pair() {
    ::close(writer);
    ::close(reader);
  }
  /// Makes the writer's kernel buffer small, so that sends go partial.
  void shrink_send_buffer() {
    int size = 4096;
    ::setsockopt(writer, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
  }
  /// Everything readable right now (non-blocking).
  byte_buffer drain() {
    byte_buffer result;
    char buf[65536];
    for (;;) {
      auto n = ::recv(reader, buf, sizeof(buf), MSG_DONTWAIT);
      if (n <= 0)
        return result;
      result.insert(result.end(), buf, buf + n);
    }
  }
};

byte_buffer bytes_of(const char* text) {
  return byte_buffer(text, text + std::strlen(text));
}

const auto t1 = caf::actor_clock::time_point{} + 1s;

} // namespace

BOOST_AUTO_TEST_CASE(sends_at_once_when_nothing_is_queued) {
  socket_pair sp;
  auto budget = std::make_shared<outbound_budget>(1000, 500);
  int observed = 0;
  direct_writer w{sp.writer, budget, [&](const byte_buffer& b) {
                    observed += int(b.size());
                  }};
  auto bytes = bytes_of("hello");
  budget->force_reserve(bytes.size());
  auto result = w.write(bytes, t1);
  BOOST_CHECK(!result.hand_over);
  BOOST_CHECK(!result.writable);
  BOOST_CHECK(bytes.empty());
  BOOST_CHECK_EQUAL(budget->queued(), 0u);
  BOOST_CHECK_EQUAL(w.bytes_sent(), 5u);
  BOOST_CHECK(w.last_output() == t1);
  BOOST_CHECK_EQUAL(observed, 5);
  auto got = sp.drain();
  BOOST_CHECK_EQUAL(std::string(got.begin(), got.end()), "hello");
}

BOOST_AUTO_TEST_CASE(hands_over_while_anything_is_queued_ahead) {
  socket_pair sp;
  auto budget = std::make_shared<outbound_budget>(1000, 500);
  int observed = 0;
  direct_writer w{sp.writer, budget, [&](const byte_buffer&) {
                    ++observed;
                  }};
  {
    auto guard = w.lock();
    w.set_broker_pending(true);
  }
  auto first = bytes_of("first");
  budget->force_reserve(first.size());
  auto result = w.write(first, t1);
  BOOST_CHECK(result.hand_over);
  BOOST_CHECK(!result.counted); // the broker counts it
  BOOST_CHECK_EQUAL(first.size(), 5u);
  BOOST_CHECK_EQUAL(observed, 0);
  // CAF's buffer drained, but the first hand-over is still on its way: a
  // second write must queue behind it.
  {
    auto guard = w.lock();
    w.set_broker_pending(false);
  }
  auto second = bytes_of("second");
  BOOST_CHECK(w.write(second, t1).hand_over);
  w.handed_over();
  auto third = bytes_of("third");
  BOOST_CHECK(w.write(third, t1).hand_over);
  w.handed_over();
  w.handed_over();
  auto fourth = bytes_of("fourth");
  budget->force_reserve(fourth.size());
  BOOST_CHECK(!w.write(fourth, t1).hand_over);
  auto got = sp.drain();
  BOOST_CHECK_EQUAL(std::string(got.begin(), got.end()), "fourth");
  BOOST_CHECK_EQUAL(w.bytes_sent(), 6u);
}

BOOST_AUTO_TEST_CASE(hands_over_what_the_kernel_did_not_take) {
  socket_pair sp;
  sp.shrink_send_buffer();
  auto budget = std::make_shared<outbound_budget>(size_t{1} << 30, size_t{1} << 29);
  int observed = 0;
  direct_writer w{sp.writer, budget, [&](const byte_buffer&) {
                    ++observed;
                  }};
  byte_buffer bytes(1 << 20, 'x');
  budget->force_reserve(bytes.size());
  auto result = w.write(bytes, t1);
  BOOST_REQUIRE(result.hand_over);
  BOOST_CHECK(result.counted);
  BOOST_CHECK_EQUAL(observed, 1);
  BOOST_CHECK_GT(w.bytes_sent(), 0u);
  // Part of the buffer is on the wire: the writer keeps the rest, and the
  // hand-over (empty) only tells the broker to take it.
  BOOST_CHECK(bytes.empty());
  byte_buffer handed_over;
  w.take_rest(handed_over);
  BOOST_CHECK_EQUAL(w.bytes_sent() + handed_over.size(), size_t{1} << 20);
  BOOST_CHECK(std::all_of(handed_over.begin(), handed_over.end(), [](char c) { return c == 'x'; }));
  // What was sent left the budget; the rest stays reserved for the broker.
  BOOST_CHECK_EQUAL(budget->queued(), handed_over.size());
  // Taken once.
  byte_buffer again;
  w.take_rest(again);
  BOOST_CHECK(again.empty());
}

// The broker's heartbeat (or another writer's frame) must not land inside
// the writer's half-sent frame: the broker's next send carries the rest
// first, also when it comes before the hand-over.
BOOST_AUTO_TEST_CASE(the_rest_of_a_partial_send_goes_before_the_brokers_next_bytes) {
  socket_pair sp;
  sp.shrink_send_buffer();
  auto budget = std::make_shared<outbound_budget>(size_t{1} << 30, size_t{1} << 29);
  direct_writer w{sp.writer, budget, {}};
  byte_buffer bytes(1 << 20, 'x');
  budget->force_reserve(bytes.size());
  BOOST_REQUIRE(w.write(bytes, t1).hand_over);
  auto sent = w.bytes_sent();
  BOOST_REQUIRE_LT(sent, size_t{1} << 20);
  byte_buffer beat{'h', 'b'};
  {
    auto guard = w.lock_for_send(beat);
    BOOST_REQUIRE_EQUAL(beat.size(), (size_t{1} << 20) - sent + 2);
    BOOST_CHECK(std::all_of(beat.begin(), beat.end() - 2, [](char c) { return c == 'x'; }));
    BOOST_CHECK_EQUAL(beat[beat.size() - 2], 'h');
    BOOST_CHECK_EQUAL(beat.back(), 'b');
  }
  // The hand-over, arriving afterwards, finds nothing left to prepend.
  byte_buffer handed_over;
  w.take_rest(handed_over);
  BOOST_CHECK(handed_over.empty());
  // Until it is handled, the writer still hands everything over.
  byte_buffer next(10, 'y');
  BOOST_CHECK(w.write(next, t1).hand_over);
  BOOST_CHECK_EQUAL(next.size(), 10u);
  w.handed_over();
  w.handed_over();
}

BOOST_AUTO_TEST_CASE(never_sends_after_close) {
  socket_pair sp;
  auto budget = std::make_shared<outbound_budget>(1000, 500);
  direct_writer w{sp.writer, budget, {}};
  w.close();
  w.close();
  auto bytes = bytes_of("late");
  auto result = w.write(bytes, t1);
  BOOST_CHECK(result.hand_over);
  BOOST_CHECK_EQUAL(bytes.size(), 4u);
  BOOST_CHECK(sp.drain().empty());
  BOOST_CHECK_EQUAL(w.bytes_sent(), 0u);
}

BOOST_AUTO_TEST_CASE(a_failed_send_hands_everything_over) {
  socket_pair sp;
  ::shutdown(sp.writer, SHUT_WR);
  auto budget = std::make_shared<outbound_budget>(1000, 500);
  direct_writer w{sp.writer, budget, {}};
  auto bytes = bytes_of("lost?");
  budget->force_reserve(bytes.size());
  auto result = w.write(bytes, t1);
  BOOST_CHECK(result.hand_over);
  BOOST_CHECK_EQUAL(bytes.size(), 5u);
  BOOST_CHECK_EQUAL(budget->queued(), 5u);
}

BOOST_AUTO_TEST_CASE(reports_the_queue_draining_after_a_crossing) {
  socket_pair sp;
  auto budget = std::make_shared<outbound_budget>(100, 50);
  direct_writer w{sp.writer, budget, {}};
  byte_buffer bytes(150, 'y');
  BOOST_CHECK(budget->force_reserve(bytes.size())
              == tao::net::reserve_status::above_high_water_mark);
  auto result = w.write(bytes, t1);
  BOOST_CHECK(!result.hand_over);
  BOOST_CHECK(result.writable);
}

namespace {

/// Frame of the concurrent case: sender, sequence number, length, then
/// `length` bytes each equal to the sequence number's low byte.
struct frame_header {
  uint32_t sender;
  uint32_t seq;
  uint32_t length;
};

byte_buffer make_frame(uint32_t sender, uint32_t seq, uint32_t length) {
  byte_buffer out(sizeof(frame_header) + length, static_cast<char>(seq & 0xff));
  frame_header h{sender, seq, length};
  std::memcpy(out.data(), &h, sizeof(h));
  return out;
}

/// The broker's mailbox: hand-overs, in order.
class mailbox {
public:
  void push(byte_buffer bytes) {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      items_.push_back(std::move(bytes));
    }
    cv_.notify_one();
  }
  /// Pops one item, waiting up to `patience` for one.
  bool try_pop(byte_buffer& out, std::chrono::microseconds patience) {
    std::unique_lock<std::mutex> guard{mtx_};
    cv_.wait_for(guard, patience, [this] { return !items_.empty(); });
    if (items_.empty())
      return false;
    out = std::move(items_.front());
    items_.pop_front();
    if (items_.empty())
      drained_.notify_all();
    return true;
  }
  /// The broker says whether its CAF-like buffer holds bytes.
  void set_backlog(bool backlog) {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      backlog_ = backlog;
    }
    drained_.notify_all();
  }
  /// Waits until the broker took every item and flushed its buffer, at
  /// most `patience`.
  void wait_drained(std::chrono::milliseconds patience) {
    std::unique_lock<std::mutex> guard{mtx_};
    drained_.wait_for(guard, patience, [this] { return items_.empty() && !backlog_; });
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::condition_variable drained_;
  bool backlog_ = false;
  std::deque<byte_buffer> items_;
};

constexpr uint32_t writer_id = 1;
constexpr uint32_t broker_id = 2;
constexpr uint32_t writer_frames = 10000;
constexpr uint32_t broker_frames = 2000;

} // namespace

BOOST_AUTO_TEST_CASE(frames_stay_whole_and_in_order_between_threads) {
  socket_pair sp;
  sp.shrink_send_buffer();
  auto budget = std::make_shared<outbound_budget>(size_t{1} << 30, size_t{1} << 29);
  auto writer = std::make_shared<direct_writer>(sp.writer, budget, direct_writer::write_observer{});
  mailbox box;
  std::atomic<bool> writer_done{false};
  std::atomic<uint64_t> failures{0};
  std::atomic<uint64_t> frames_read{0};
  std::atomic<uint64_t> handovers{0};

  std::thread writer_thread{[&] {
    uint32_t state = 7;
    for (uint32_t seq = 0; seq < writer_frames; ++seq) {
      state = state * 1103515245u + 12345u;
      auto bytes = make_frame(writer_id, seq, 1 + (state >> 16) % 2000);
      budget->force_reserve(bytes.size());
      if (writer->write(bytes, t1).hand_over) {
        ++handovers;
        box.push(std::move(bytes));
      }
      // Letting the broker catch up now and then makes both paths
      // alternate (the checks below hold either way).
      if (seq % 8 == 0 && failures == 0)
        box.wait_drained(1s);
    }
    writer_done = true;
  }};

  // The broker: as connection_broker's send_raw, with a CAF-like buffer
  // that it writes without the writer's lock while it holds bytes.
  std::thread broker_thread{[&] {
    byte_buffer caf_buffer;
    uint32_t own = 0;
    auto send_raw = [&](byte_buffer bytes) {
      auto guard = writer->lock_for_send(bytes);
      if (caf_buffer.empty()) {
        auto sent = tao::net::socket_ops::send_some(sp.writer, bytes.data(), bytes.size());
        if (sent < 0) {
          ++failures;
          return;
        }
        budget->release(static_cast<size_t>(sent));
        bytes.erase(bytes.begin(), bytes.begin() + sent);
      }
      if (!bytes.empty()) {
        caf_buffer.insert(caf_buffer.end(), bytes.begin(), bytes.end());
        writer->set_broker_pending(true);
        box.set_backlog(true);
      }
    };
    auto deadline = std::chrono::steady_clock::now() + 60s;
    uint64_t turn = 0;
    for (;;) {
      if (std::chrono::steady_clock::now() > deadline) {
        ++failures;
        return;
      }
      // Read before the pop: the writer pushes its last hand-over before it
      // says it is done.
      bool done = writer_done;
      byte_buffer bytes;
      bool got = false;
      auto patience = caf_buffer.empty() ? 1000us : 0us;
      while (box.try_pop(bytes, patience)) {
        got = true;
        patience = 0us;
        writer->take_rest(bytes);
        send_raw(std::move(bytes));
        writer->handed_over();
      }
      if (own < broker_frames && (++turn % 3 == 0 || done)) {
        auto beat = make_frame(broker_id, own++, 16);
        budget->force_reserve(beat.size());
        send_raw(std::move(beat));
      }
      if (!caf_buffer.empty()) {
        // CAF writes its buffer from the multiplexer, outside tao's lock.
        auto sent =
          tao::net::socket_ops::send_some(sp.writer, caf_buffer.data(), caf_buffer.size());
        if (sent > 0) {
          budget->release(static_cast<size_t>(sent));
          caf_buffer.erase(caf_buffer.begin(), caf_buffer.begin() + sent);
        }
        if (caf_buffer.empty()) {
          {
            auto guard = writer->lock();
            writer->set_broker_pending(false);
          }
          box.set_backlog(false);
        }
      }
      if (done && !got && own == broker_frames && caf_buffer.empty())
        return;
    }
  }};

  std::thread reader_thread{[&] {
    byte_buffer pending;
    uint32_t next_seq[3] = {0, 0, 0};
    char buf[65536];
    // Blocking reads, each bounded; the deadline bounds them all.
    timeval tv{0, 100000};
    ::setsockopt(sp.reader, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (frames_read < writer_frames + broker_frames) {
      if (std::chrono::steady_clock::now() > deadline) {
        ++failures;
        return;
      }
      auto n = ::recv(sp.reader, buf, sizeof(buf), 0);
      if (n <= 0)
        continue;
      pending.insert(pending.end(), buf, buf + n);
      size_t pos = 0;
      while (pending.size() - pos >= sizeof(frame_header)) {
        frame_header h;
        std::memcpy(&h, pending.data() + pos, sizeof(h));
        if (pending.size() - pos < sizeof(h) + h.length)
          break;
        if ((h.sender != writer_id && h.sender != broker_id) || h.seq != next_seq[h.sender]) {
          ++failures;
          return;
        }
        ++next_seq[h.sender];
        for (uint32_t i = 0; i < h.length; ++i)
          if (pending[pos + sizeof(h) + i] != static_cast<char>(h.seq & 0xff)) {
            ++failures;
            return;
          }
        pos += sizeof(h) + h.length;
        ++frames_read;
      }
      pending.erase(pending.begin(), pending.begin() + static_cast<ptrdiff_t>(pos));
    }
  }};

  writer_thread.join();
  broker_thread.join();
  reader_thread.join();
  BOOST_CHECK_EQUAL(failures.load(), 0u);
  BOOST_CHECK_EQUAL(frames_read.load(), uint64_t{writer_frames + broker_frames});
  BOOST_CHECK_EQUAL(budget->queued(), 0u);
  // Both paths were taken, or the case proved nothing.
  BOOST_CHECK_GT(handovers.load(), 0u);
  BOOST_CHECK_GT(writer->bytes_sent(), 0u);
  BOOST_TEST_MESSAGE("direct writer: " << handovers.load() << " of " << writer_frames
                                       << " frames handed over");
}
