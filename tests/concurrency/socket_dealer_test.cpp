#define BOOST_TEST_MODULE concurrency_socket_dealer
#include <boost/test/unit_test.hpp>

// net::socket_dealer from plain threads (precise under ThreadSanitizer):
// every connection is dealt exactly once, on the dealer's thread, until
// stop; stop returns while clients keep connecting, and nothing is dealt
// after it.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tao/net/socket_dealer.hpp"
#include "tao/protocol/error.hpp"

using tao::net::listen_tcp;
using tao::net::socket_dealer;

namespace {

int connect_to(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

/// What the dealer handed over.
struct dealt {
  std::mutex mtx;
  std::condition_variable cv;
  std::atomic<int> count{0};
  std::vector<int> fds;
  std::vector<size_t> listeners;
  std::set<std::thread::id> threads;
  std::atomic<bool> stopped{false};
  std::atomic<int> after_stop{0};
};

} // namespace

BOOST_AUTO_TEST_CASE(every_connection_is_dealt_once_from_one_thread) {
  auto a = listen_tcp("127.0.0.1", 0, true);
  auto b = listen_tcp("127.0.0.1", 0, true);
  BOOST_REQUIRE(a && b);
  BOOST_REQUIRE(a->port != 0 && b->port != 0 && a->port != b->port);
  dealt got;
  socket_dealer dealer{{a->fd, b->fd}, [&got](int fd, size_t listener) {
                         std::lock_guard<std::mutex> guard{got.mtx};
                         got.fds.push_back(fd);
                         got.listeners.push_back(listener);
                         got.threads.insert(std::this_thread::get_id());
                         got.cv.notify_all();
                       }};
  dealer.start();
  constexpr int per_thread = 50;
  std::vector<std::thread> clients;
  std::vector<int> client_fds[4];
  for (int t = 0; t < 4; ++t)
    clients.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i)
        client_fds[t].push_back(connect_to(t % 2 == 0 ? a->port : b->port));
    });
  for (auto& c : clients)
    c.join();
  // Connected clients are in the kernel's queue; wait (bounded) until the
  // dealer took them all.
  {
    std::unique_lock<std::mutex> guard{got.mtx};
    got.cv.wait_for(guard, std::chrono::seconds(10),
                    [&] { return got.fds.size() == 4 * per_thread; });
  }
  dealer.stop();
  BOOST_CHECK_EQUAL(got.fds.size(), 4u * per_thread);
  BOOST_CHECK_EQUAL(std::count(got.listeners.begin(), got.listeners.end(), 1u), 2 * per_thread);
  BOOST_CHECK_EQUAL(got.threads.size(), 1u);
  BOOST_CHECK(got.threads.count(std::this_thread::get_id()) == 0);
  std::set<int> unique(got.fds.begin(), got.fds.end());
  BOOST_CHECK_EQUAL(unique.size(), got.fds.size());
  for (int fd : got.fds)
    ::close(fd);
  for (auto& fds : client_fds)
    for (int fd : fds)
      if (fd >= 0)
        ::close(fd);
}

BOOST_AUTO_TEST_CASE(stop_under_a_storm_of_connections_deals_nothing_after) {
  auto l = listen_tcp("127.0.0.1", 0, true);
  BOOST_REQUIRE(l);
  dealt got;
  auto dealer = std::make_unique<socket_dealer>(std::vector<int>{l->fd}, [&got](int fd, size_t) {
    if (got.stopped.load())
      got.after_stop.fetch_add(1);
    ::close(fd);
    if (got.count.fetch_add(1) + 1 == 100) {
      std::lock_guard<std::mutex> guard{got.mtx};
      got.cv.notify_all();
    }
  });
  dealer->start();
  std::atomic<bool> done{false};
  std::vector<std::thread> clients;
  for (int t = 0; t < 2; ++t)
    clients.emplace_back([&] {
      while (!done.load()) {
        int fd = connect_to(l->port);
        if (fd < 0)
          break; // the listener is closed
        ::close(fd);
      }
    });
  // Stop in the middle of the storm, once it is well under way.
  {
    std::unique_lock<std::mutex> guard{got.mtx};
    BOOST_CHECK(
      got.cv.wait_for(guard, std::chrono::seconds(10), [&] { return got.count.load() >= 100; }));
  }
  dealer->stop();
  got.stopped = true;
  done = true;
  for (auto& c : clients)
    c.join();
  dealer.reset();
  BOOST_CHECK_EQUAL(got.after_stop.load(), 0);
}

BOOST_AUTO_TEST_CASE(listen_tcp_names_what_failed) {
  auto first = listen_tcp("127.0.0.1", 0, false);
  BOOST_REQUIRE(first);
  auto second = listen_tcp("127.0.0.1", first->port, false);
  BOOST_REQUIRE(!second);
  BOOST_CHECK_NE(tao::protocol::render(second.error()).find("127.0.0.1"), std::string::npos);
  auto bad = listen_tcp("no-such-host.invalid", 0, false);
  BOOST_CHECK(!bad);
  ::close(first->fd);
}
