#define BOOST_TEST_MODULE integration_io_threads
#include <boost/test/unit_test.hpp>

// A server and clients on two I/O threads (`tao::io_pool`), on loopback with
// ephemeral ports. Every wait is on an event with a bound; no sleeps.

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include "tao/all.hpp"
#include "tao/detail/connection_ids.hpp"

#include "support/event_log.hpp"
#include "support/loopback.hpp"
#include "support/test_certs.hpp"
#include "support/tlv_socket.hpp"

using namespace std::chrono_literals;
using echo_message = tao::protocol::text_message<1>;
using tick_message = tao::protocol::text_message<2>;
using tao::detail::shard_of;
using tao::protocol::errc;
using tao::protocol::render;
using tao::test::tlv_socket;

namespace {

/// Where the callbacks of each connection ran, by connection id.
struct placement {
  std::mutex mtx;
  std::map<uint64_t, std::thread::id> threads;
  /// The text of the first frame of each connection, by connection id.
  std::map<std::string, uint64_t> id_of;

  void connected(uint64_t id) {
    std::lock_guard<std::mutex> guard{mtx};
    threads[id] = std::this_thread::get_id();
  }

  void named(const std::string& text, uint64_t id) {
    std::lock_guard<std::mutex> guard{mtx};
    id_of.emplace(text, id);
  }

  uint64_t id(const std::string& text) {
    std::lock_guard<std::mutex> guard{mtx};
    return id_of.at(text);
  }
};

/// The pool of two I/O threads, as a base listed before the actor system's
/// so that it outlives it.
struct two_io_threads {
  tao::io_pool pool{2};
};

struct fixture : two_io_threads, tao::test::loopback_fixture {
  tao::server srv;
  std::shared_ptr<placement> where = std::make_shared<placement>();

  ~fixture() {
    if (srv)
      stop();
  }

  /// Echoes type 1 and records each connection's thread and first text.
  tao::server_options echo_options(tao::dispatch_mode mode = tao::dispatch_mode::inline_io) {
    tao::server_options opts;
    opts.io_threads = 2;
    opts.io_pool = &pool;
    opts.dispatch = mode;
    BOOST_REQUIRE(
      !opts.handlers.on<echo_message>([where = where](tao::connection& c, const echo_message& m) {
        where->named(m.text, c.id());
        BOOST_CHECK(!c.write(m));
      }));
    opts.on_connect = [this](tao::connection& c) {
      where->connected(c.id());
      log.add("connect");
      return true;
    };
    opts.on_close = [this](tao::connection&, const caf::error& reason) {
      log.add("close " + std::string{reason ? render(reason) : "none"});
    };
    return opts;
  }

  void start(tao::server_options opts) {
    auto res = tao::server::start(*sys, std::move(opts));
    BOOST_REQUIRE_MESSAGE(res, (res ? std::string{} : render(res.error())));
    srv = *res;
  }

  void stop() {
    loopback_fixture::stop(srv);
    srv = tao::server{};
  }

  template <class Reply, class... Ts>
  caf::expected<Reply> try_ask(Ts... xs) {
    caf::scoped_actor self{*sys};
    caf::expected<Reply> result = caf::error{};
    self->request(srv.actor(), 10s, xs...)
      .receive([&](Reply& x) { result = std::move(x); }, [&](caf::error& err) { result = err; });
    return result;
  }

  /// Requests `xs...` that answer nothing but errors (unicast).
  template <class... Ts>
  caf::error ask_void(Ts... xs) {
    caf::scoped_actor self{*sys};
    caf::error result;
    self->request(srv.actor(), 10s, xs...).receive([] {}, [&](caf::error& err) { result = err; });
    return result;
  }

  template <class Reply, class... Ts>
  Reply ask(Ts... xs) {
    auto res = try_ask<Reply>(xs...);
    BOOST_REQUIRE_MESSAGE(res, (res ? std::string{} : render(res.error())));
    return std::move(*res);
  }

  /// Opens `n` connections; each sends "c<i>" and reads its echo, so that
  /// all are joined and named when this returns.
  std::vector<std::unique_ptr<tlv_socket>> open_named(size_t n) {
    std::vector<std::unique_ptr<tlv_socket>> socks;
    for (size_t i = 0; i < n; ++i) {
      socks.push_back(std::make_unique<tlv_socket>(srv.port()));
      BOOST_REQUIRE(socks.back()->fd() >= 0);
      BOOST_REQUIRE(socks.back()->send(1, "c" + std::to_string(i)));
    }
    for (size_t i = 0; i < n; ++i) {
      auto f = socks[i]->read();
      BOOST_REQUIRE(f);
      BOOST_REQUIRE_EQUAL(f->payload, "c" + std::to_string(i));
    }
    return socks;
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(io_threads, fixture)

BOOST_AUTO_TEST_CASE(connections_are_dealt_evenly_and_stay_on_their_thread) {
  for (auto mode : {tao::dispatch_mode::inline_io, tao::dispatch_mode::scheduled}) {
    BOOST_TEST_CONTEXT("dispatch "
                       << (mode == tao::dispatch_mode::inline_io ? "inline" : "scheduled")) {
      where = std::make_shared<placement>();
      start(echo_options(mode));
      auto socks = open_named(8);
      std::map<size_t, size_t> per_shard;
      std::set<std::thread::id> threads;
      for (auto& [id, thread] : where->threads) {
        ++per_shard[shard_of(id)];
        threads.insert(thread);
      }
      BOOST_CHECK_EQUAL(per_shard[0], 4u);
      BOOST_CHECK_EQUAL(per_shard[1], 4u);
      // Inline handlers run on the I/O threads: two of them. (Scheduled
      // ones run on the workers of each shard's system: one for the pool's
      // shard, any of the user's system for shard 0.)
      if (mode == tao::dispatch_mode::inline_io)
        BOOST_CHECK_EQUAL(threads.size(), 2u);
      // Many frames in order on every connection.
      for (int k = 0; k < 50; ++k)
        for (size_t i = 0; i < socks.size(); ++i)
          BOOST_REQUIRE(socks[i]->send(1, std::to_string(i) + ":" + std::to_string(k)));
      for (size_t i = 0; i < socks.size(); ++i)
        for (int k = 0; k < 50; ++k) {
          auto f = socks[i]->read();
          BOOST_REQUIRE(f);
          BOOST_REQUIRE_EQUAL(f->payload, std::to_string(i) + ":" + std::to_string(k));
        }
      auto stats = ask<tao::server_stats>(tao::stats_atom::value);
      BOOST_CHECK_EQUAL(stats.accepted, 8u);
      BOOST_CHECK_EQUAL(stats.connections, 8u);
      BOOST_CHECK_EQUAL(ask<uint64_t>(tao::count_atom::value), 8u);
      stop();
      log.wait_for("close none", 8);
    }
  }
}

BOOST_AUTO_TEST_CASE(unicast_lookup_broadcast_and_sched_reach_every_shard) {
  start(echo_options());
  auto socks = open_named(4);
  std::set<size_t> shards;
  for (size_t i = 0; i < socks.size(); ++i)
    shards.insert(shard_of(where->id("c" + std::to_string(i))));
  BOOST_REQUIRE_EQUAL(shards.size(), 2u);
  tao::protocol::byte_buffer bytes;
  for (size_t i = 0; i < socks.size(); ++i) {
    auto id = where->id("c" + std::to_string(i));
    bytes.clear();
    BOOST_REQUIRE(!tao::protocol::tlv_codec{}.encode(1, "to " + std::to_string(i), bytes));
    BOOST_REQUIRE(!ask_void(tao::unicast_atom::value, id, bytes));
    auto ref = ask<tao::connection_ref>(tao::lookup_atom::value, id);
    BOOST_CHECK_EQUAL(ref.id(), id);
    BOOST_REQUIRE(!ref.write(echo_message{"ref " + std::to_string(i)}));
  }
  for (size_t i = 0; i < socks.size(); ++i) {
    auto a = socks[i]->read();
    auto b = socks[i]->read();
    BOOST_REQUIRE(a && b);
    BOOST_CHECK_EQUAL(a->payload, "to " + std::to_string(i));
    BOOST_CHECK_EQUAL(b->payload, "ref " + std::to_string(i));
  }
  // Ids nobody owns, on an existing shard and on one that does not exist.
  for (uint64_t unknown : {tao::detail::with_shard(999'999, 1), tao::detail::with_shard(1, 7)}) {
    auto sent = ask_void(tao::unicast_atom::value, unknown, bytes);
    BOOST_CHECK(tao::protocol::is(sent, errc::closed));
    auto found = try_ask<tao::connection_ref>(tao::lookup_atom::value, unknown);
    BOOST_REQUIRE(!found);
    BOOST_CHECK(tao::protocol::is(found.error(), errc::closed));
  }
  // One broadcast, every shard.
  bytes.clear();
  BOOST_REQUIRE(!tao::protocol::tlv_codec{}.encode(1, "all", bytes));
  auto result = ask<tao::broadcast_result>(tao::broadcast_atom::value, bytes);
  BOOST_CHECK_EQUAL(result.delivered, 4u);
  BOOST_CHECK(result.failed.empty());
  BOOST_REQUIRE(!srv.broadcast(echo_message{"all again"}));
  for (auto& s : socks) {
    auto a = s->read();
    auto b = s->read();
    BOOST_REQUIRE(a && b);
    BOOST_CHECK_EQUAL(a->payload, "all");
    BOOST_CHECK_EQUAL(b->payload, "all again");
  }
  // sched reaches the connections of both shards, each on its own thread.
  srv.sched(5ms, [where = where](tao::connection& c, auto) {
    std::lock_guard<std::mutex> guard{where->mtx};
    if (where->threads.at(c.id()) != std::this_thread::get_id())
      c.write(tick_message{"wrong thread"});
    else
      c.write(tick_message{"tick"});
  });
  for (auto& s : socks) {
    auto f = s->read();
    BOOST_REQUIRE(f);
    BOOST_CHECK_EQUAL(f->type, 2);
    BOOST_CHECK_EQUAL(f->payload, "tick");
  }
}

BOOST_AUTO_TEST_CASE(max_connections_holds_across_shards) {
  auto opts = echo_options();
  opts.max_connections = 3;
  start(std::move(opts));
  auto socks = open_named(3);
  std::vector<std::unique_ptr<tlv_socket>> refused;
  for (int i = 0; i < 2; ++i) {
    refused.push_back(std::make_unique<tlv_socket>(srv.port()));
    BOOST_REQUIRE(refused.back()->fd() >= 0);
    BOOST_CHECK(!refused.back()->read()); // closed by the server
    BOOST_CHECK(refused.back()->end() != tao::test::read_end::timeout);
  }
  auto stats = ask<tao::server_stats>(tao::stats_atom::value);
  BOOST_CHECK_EQUAL(stats.refused_max_connections, 2u);
  BOOST_CHECK_EQUAL(stats.accepted, 3u);
  // A place freed on either shard admits a new connection.
  socks.pop_back();
  BOOST_REQUIRE(log.wait_for("close none", 1));
  caf::scoped_actor self{*sys};
  for (int i = 0; i < 1000 && ask<tao::server_stats>(tao::stats_atom::value).connections > 2; ++i)
    self->receive(caf::after(5ms) >> [] {});
  tlv_socket again{srv.port()};
  BOOST_REQUIRE(again.send(1, "again"));
  auto f = again.read();
  BOOST_REQUIRE(f);
  BOOST_CHECK_EQUAL(f->payload, "again");
}

BOOST_AUTO_TEST_CASE(stop_delivers_every_echo_and_closes_the_listener) {
  start(echo_options());
  auto socks = open_named(4);
  for (auto& s : socks)
    for (int k = 0; k < 100; ++k)
      BOOST_REQUIRE(s->send(1, "last " + std::to_string(k)));
  auto port = srv.port();
  // Every frame reached its connection before the stop: the stop must
  // deliver their echoes before the FIN.
  for (auto& s : socks)
    for (int k = 0; k < 100; ++k) {
      auto f = s->read();
      BOOST_REQUIRE(f);
      BOOST_REQUIRE_EQUAL(f->payload, "last " + std::to_string(k));
    }
  stop();
  for (auto& s : socks) {
    BOOST_CHECK(!s->read());
    BOOST_CHECK(s->end() == tao::test::read_end::eof);
  }
  BOOST_CHECK_EQUAL(log.count("close none"), 4u);
  tlv_socket late{port};
  BOOST_CHECK(late.fd() < 0);
}

BOOST_AUTO_TEST_CASE(tls_clients_and_server_on_two_threads) {
  auto& certs = tao::test::test_certs::get();
  auto opts = echo_options();
  opts.tls = certs.server();
  start(std::move(opts));
  // Clients take the pool's threads in turn: 2 on each.
  auto client_threads = std::make_shared<placement>();
  std::vector<tao::client> clients;
  for (uint64_t i = 0; i < 4; ++i) {
    tao::client_options c;
    c.host = "localhost";
    c.port = srv.port();
    c.tls = certs.client();
    c.io_threads = 2;
    c.io_pool = &pool;
    BOOST_REQUIRE(!c.handlers.on<echo_message>(
      [this, i, client_threads](tao::connection&, const echo_message& m) {
        client_threads->connected(i);
        log.add("client " + m.text);
      }));
    auto cli = tao::client::start(*sys, std::move(c));
    BOOST_REQUIRE_MESSAGE(cli, (cli ? std::string{} : render(cli.error())));
    clients.push_back(*cli);
  }
  for (size_t i = 0; i < clients.size(); ++i)
    BOOST_REQUIRE(!clients[i].write(echo_message{"tls " + std::to_string(i)}));
  for (size_t i = 0; i < clients.size(); ++i)
    BOOST_CHECK(log.wait_for("client tls " + std::to_string(i)));
  std::set<std::thread::id> threads;
  for (auto& [i, thread] : client_threads->threads)
    threads.insert(thread);
  BOOST_CHECK_EQUAL(threads.size(), 2u);
  std::set<size_t> shards;
  for (auto& [id, thread] : where->threads)
    shards.insert(shard_of(id));
  BOOST_CHECK_EQUAL(shards.size(), 2u);
  for (auto& cli : clients)
    BOOST_CHECK(tao::stop_gracefully(*sys, cli, 10s));
}

BOOST_AUTO_TEST_CASE(io_threads_are_checked_against_the_pool) {
  auto opts = echo_options();
  opts.io_pool = nullptr;
  auto res = tao::server::start(*sys, opts);
  BOOST_REQUIRE(!res);
  BOOST_CHECK(tao::protocol::is(res.error(), errc::invalid_argument));
  BOOST_CHECK_NE(render(res.error()).find("io_pool"), std::string::npos);
  opts.io_pool = &pool;
  opts.io_threads = 3;
  res = tao::server::start(*sys, opts);
  BOOST_REQUIRE(!res);
  BOOST_CHECK(tao::protocol::is(res.error(), errc::invalid_argument));
  opts.io_threads = 0;
  res = tao::server::start(*sys, opts);
  BOOST_REQUIRE(!res);
  // A shared supervisor would read the clocks of other threads' connections.
  opts.io_threads = 2;
  opts.supervisor = *tao::supervisor::spawn(*sys, tao::supervisor_options{});
  res = tao::server::start(*sys, opts);
  BOOST_REQUIRE(!res);
  BOOST_CHECK_NE(render(res.error()).find("supervisor"), std::string::npos);
  opts.supervisor.stop();
  tao::client_options c;
  c.port = 1;
  c.io_threads = 2;
  auto cli = tao::client::start(*sys, c);
  BOOST_REQUIRE(!cli);
  BOOST_CHECK(tao::protocol::is(cli.error(), errc::invalid_argument));
}

BOOST_AUTO_TEST_SUITE_END()
