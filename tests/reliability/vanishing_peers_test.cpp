#define BOOST_TEST_MODULE reliability_vanishing_peers
#include <boost/test/unit_test.hpp>

// Peers that vanish (issue 9): killed or reset mid-frame, mid-TLS-handshake
// and while the other side writes megabytes to them, on the server side and
// on the client side. Every case checks that the vanished connection gets
// exactly one on_close (the reason where it is deterministic), that it is
// counted and reaped (connection count back to the baseline, outbound queue
// gone), that nothing dies of SIGPIPE (the test process would), and that a
// bystander connection keeps its checked traffic throughout. Waits are on
// events or counters with bounds of seconds.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <caf/scoped_actor.hpp>

#include "tao/all.hpp"

#include "reliability/peer_tools.hpp"
#include "reliability/server_fixture.hpp"
#include "support/io_threads.hpp"
#include "support/steady_bystander.hpp"
#include "support/test_certs.hpp"
#include "support/tlv_socket.hpp"

using namespace std::chrono_literals;
using flood_request = tao::protocol::text_message<3>;
using big_message = tao::protocol::text_message<4>;
using tao::test::both_modes;
using tao::test::code_name;
using tao::test::echo_message;
using tao::test::frame;
using tao::test::header;
using tao::test::read_end;
using tao::test::steady_bystander;
using tao::test::tlv_socket;
using clock_type = std::chrono::steady_clock;

namespace {

const char* mode_name(tao::dispatch_mode mode) {
  return mode == tao::dispatch_mode::scheduled ? "scheduled" : "inline";
}

/// Frames of the server's flood: 128 x 64 KiB = 8 MiB per request.
constexpr size_t flood_frames = 128;
constexpr size_t flood_frame_size = 64 * 1024;

/// The payload of flood (or broadcast) frame `i`.
std::string flood_payload(size_t i) {
  return std::string(flood_frame_size, static_cast<char>('a' + i % 26));
}

/// Milliseconds since `t`, to 0.01 ms.
double ms_since(clock_type::time_point t) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - t).count();
  return static_cast<double>(us / 10) / 100.0;
}

struct fixture : tao::test::reliability_fixture {
  std::atomic<size_t> peak_queued{0};

  /// The shared echo server; type 3 answers with an 8 MiB flood of type 4
  /// frames (all queued: high-water mark 16 MiB). Each close is also logged
  /// as a bare "close".
  tao::server_options options(tao::dispatch_mode mode) {
    auto opts = reliability_fixture::options(mode);
    opts.high_water_mark = 16u << 20;
    opts.low_water_mark = 1u << 20;
    BOOST_REQUIRE(
      !opts.handlers.on<flood_request>([this](tao::connection& c, const flood_request&) {
        for (size_t i = 0; i < flood_frames; ++i)
          c.write(big_message{flood_payload(i)});
        if (c.queued_bytes() > peak_queued)
          peak_queued = c.queued_bytes();
      }));
    opts.on_close = [this](tao::connection&, const caf::error& err) {
      log.add("close " + code_name(err));
      log.add("close");
    };
    return opts;
  }

  void start(tao::server_options opts) {
    peak_queued = 0;
    reliability_fixture::start(std::move(opts));
  }

  double closed_total() {
    return tao::test::sample_sum(metrics->text(), "tao_connections_closed_total");
  }

  double queued_gauge() {
    return tao::test::sample(metrics->text(), "tao_outbound_queued_bytes");
  }

  /// A fresh connection is still served.
  void still_serving() {
    tlv_socket fresh{srv.port()};
    round_trips(fresh, 2, "fresh");
  }
};

/// An echo frame and, in the same segment (under one read of the smallest
/// read size, 512 B), the header and the first 400 bytes of a 1000-byte
/// frame: once the echo comes back, the server has the partial frame
/// buffered.
std::string echo_then_half_frame() {
  return frame(1, "whole") + header(1, 1000) + std::string(400, 'h');
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(vanishing_peers, fixture)

BOOST_AUTO_TEST_CASE(reset_mid_frame) {
  for (auto mode : both_modes) {
    start(options(mode));
    steady_bystander bystander{srv.port()};
    BOOST_REQUIRE(bystander.await_more(3));
    auto closes = log.count("close truncated_frame");
    auto peer = std::make_unique<tlv_socket>(srv.port());
    BOOST_REQUIRE(peer->send_raw(echo_then_half_frame()));
    auto f = peer->read();
    BOOST_REQUIRE(f);
    BOOST_CHECK_EQUAL(f->payload, "whole");
    tao::test::arm_reset(peer->fd());
    auto before = clock_type::now();
    peer.reset(); // RST with half a frame buffered at the server
    BOOST_REQUIRE(log.wait_for("close truncated_frame", closes + 1));
    BOOST_TEST_MESSAGE(mode_name(mode)
                       << ": RST mid-frame reaped (on_close) after " << ms_since(before) << " ms");
    BOOST_CHECK(await_connections(1));
    BOOST_CHECK(await([&] { return closed_total() >= 1; }));
    BOOST_CHECK(bystander.await_more(3));
    BOOST_CHECK_EQUAL(bystander.stop(), 0);
    still_serving();
    finish();
    // The bystander and the fresh connection closed cleanly; nothing else.
    BOOST_CHECK_EQUAL(log.count("close truncated_frame"), closes + 1);
  }
}

BOOST_AUTO_TEST_CASE(killed_mid_frame) {
  // SIGKILL: the kernel closes the socket with a FIN (nothing unread).
  for (auto mode : both_modes) {
    start(options(mode));
    steady_bystander bystander{srv.port()};
    auto closes = log.count("close truncated_frame");
    tao::test::forked_peer peer{srv.port(), echo_then_half_frame(), 8 + 5};
    BOOST_REQUIRE(peer.await_ready());
    auto before = clock_type::now();
    peer.kill();
    BOOST_REQUIRE(log.wait_for("close truncated_frame", closes + 1));
    BOOST_TEST_MESSAGE(mode_name(mode)
                       << ": SIGKILLed peer mid-frame reaped after " << ms_since(before) << " ms");
    BOOST_CHECK(log.count("error truncated_frame") >= 1);
    BOOST_CHECK(await_connections(1));
    BOOST_CHECK(bystander.await_more(3));
    BOOST_CHECK_EQUAL(bystander.stop(), 0);
    still_serving();
    finish();
  }
}

/// A peer asks for the 8 MiB flood, reads the first 64 KiB of it and then
/// vanishes (`killed`: SIGKILL with unread data, so the kernel resets;
/// otherwise an RST close). The server is writing to it all the while.
void check_vanish_mid_write(fixture& fx, tao::dispatch_mode mode, bool killed) {
  fx.start(fx.options(mode));
  steady_bystander bystander{fx.srv.port()};
  BOOST_REQUIRE(bystander.await_more(3));
  auto closes = fx.log.count("close");
  auto request = frame(3, "flood me");
  std::unique_ptr<tlv_socket> sock;
  std::unique_ptr<tao::test::forked_peer> child;
  if (killed) {
    child = std::make_unique<tao::test::forked_peer>(fx.srv.port(), request, flood_frame_size);
    BOOST_REQUIRE(child->await_ready());
  } else {
    sock = std::make_unique<tlv_socket>(fx.srv.port());
    BOOST_REQUIRE(sock->send_raw(request));
    auto first = sock->read();
    BOOST_REQUIRE(first);
    BOOST_CHECK(first->payload == flood_payload(0));
    tao::test::arm_reset(sock->fd());
  }
  BOOST_REQUIRE(fixture::await([&] { return fx.peak_queued.load() > 0; }));
  auto before = clock_type::now();
  if (killed)
    child->kill();
  else
    sock.reset();
  BOOST_REQUIRE(fx.log.wait_for("close", closes + 1));
  auto reaped = ms_since(before);
  BOOST_TEST_MESSAGE(mode_name(mode)
                     << (killed ? ": SIGKILLed" : ": RST") << " peer mid-write ("
                     << fx.peak_queued.load() << " bytes queued) reaped after " << reaped
                     << " ms; reason " << fx.log.latest("close ").substr(6));
  BOOST_CHECK_GT(fx.peak_queued.load(), 1u << 20);
  BOOST_CHECK(fx.await_connections(1));
  BOOST_CHECK(fixture::await([&] { return fx.closed_total() >= 1; }));
  // The dead connection's outbound queue is gone with it (the gauge sums
  // the open connections' queues; the bystander's is empty between trips).
  BOOST_CHECK(fixture::await([&] { return fx.queued_gauge() < 1024; }));
  BOOST_CHECK(bystander.await_more(10));
  auto during = bystander.completed();
  BOOST_CHECK_EQUAL(bystander.stop(), 0);
  BOOST_TEST_MESSAGE("bystander: " << during << " checked round trips, 0 failed");
  fx.still_serving();
  fx.finish();
  // Exactly one on_close for the vanished peer, then the bystander's and
  // the fresh connection's.
  BOOST_CHECK_EQUAL(fx.log.count("close"), closes + 3);
}

BOOST_AUTO_TEST_CASE(reset_mid_write) {
  for (auto mode : both_modes)
    check_vanish_mid_write(*this, mode, false);
}

BOOST_AUTO_TEST_CASE(killed_mid_write) {
  for (auto mode : both_modes)
    check_vanish_mid_write(*this, mode, true);
}

BOOST_AUTO_TEST_CASE(reset_during_a_broadcast) {
  // 64 broadcast frames of 64 KiB (4 MiB) to a bystander that checks every
  // byte and to a peer that resets after the first frame.
  constexpr size_t frames = 64;
  start(options(tao::dispatch_mode::scheduled));
  tlv_socket bystander{srv.port()};
  round_trips(bystander, 1);
  auto peer = std::make_unique<tlv_socket>(srv.port());
  round_trips(*peer, 1, "doomed");
  BOOST_REQUIRE(await_connections(2));
  for (size_t i = 0; i < frames; ++i)
    BOOST_REQUIRE(!srv.broadcast(big_message{flood_payload(i)}));
  auto first = peer->read();
  BOOST_REQUIRE(first);
  tao::test::arm_reset(peer->fd());
  peer.reset();
  for (size_t i = 0; i < frames; ++i) {
    auto f = bystander.read();
    BOOST_REQUIRE_MESSAGE(f, "bystander lost broadcast frame " << i);
    BOOST_CHECK_EQUAL(f->type, 4);
    BOOST_CHECK(f->payload == flood_payload(i));
  }
  BOOST_REQUIRE(log.wait_for("close"));
  BOOST_TEST_MESSAGE("broadcast: peer reset as " << log.latest("close ").substr(6));
  BOOST_CHECK(await_connections(1));
  round_trips(bystander, 5);
  // A broadcast after the reset reaches the bystander only.
  BOOST_REQUIRE(!srv.broadcast(big_message{"after"}));
  auto f = bystander.read();
  BOOST_REQUIRE(f);
  BOOST_CHECK_EQUAL(f->payload, "after");
  finish();
}

BOOST_AUTO_TEST_CASE(reset_mid_tls_handshake) {
  auto& certs = tao::test::test_certs::get();
  auto hello = tao::test::client_hello();
  BOOST_REQUIRE_GT(hello.size(), 50u);
  BOOST_REQUIRE_EQUAL(hello[0], 0x16); // a handshake record
  for (auto mode : both_modes) {
    auto opts = options(mode);
    opts.tls = certs.server();
    start(std::move(opts));
    // A TLS client as the bystander, echoing before and after.
    tao::client_options copts;
    copts.host = "localhost";
    copts.port = srv.port();
    copts.tls = certs.client();
    copts.handlers.on<echo_message>(
      [this](tao::connection&, const echo_message& m) { log.add("echo " + m.text); });
    auto cli = tao::client::start(*sys, tao::test::with_test_io_threads(std::move(copts)));
    BOOST_REQUIRE(cli);
    BOOST_CHECK(!cli->write(echo_message{"tls before"}));
    BOOST_REQUIRE(log.wait_for("echo tls before"));
    auto base = stats().tls_failures;
    // 1: a real ClientHello, the server's first flight read, then RST.
    {
      tlv_socket peer{srv.port()};
      BOOST_REQUIRE(peer.send_raw(hello));
      BOOST_REQUIRE(tao::test::await_readable(peer.fd(), 10s));
      BOOST_CHECK(!tao::test::read_some(peer.fd(), 5, 10s).empty());
      tao::test::arm_reset(peer.fd());
    }
    auto before = clock_type::now();
    BOOST_CHECK(await([&] { return stats().tls_failures == base + 1; }));
    BOOST_TEST_MESSAGE(mode_name(mode)
                       << ": RST after the ServerHello reaped after " << ms_since(before) << " ms");
    // 2: half a ClientHello record, then RST.
    {
      tlv_socket peer{srv.port()};
      BOOST_REQUIRE(peer.send_raw(hello.substr(0, hello.size() / 2)));
      tao::test::arm_reset(peer.fd());
    }
    BOOST_CHECK(await([&] { return stats().tls_failures == base + 2; }));
    BOOST_CHECK(await_connections(1));
    BOOST_CHECK(!cli->write(echo_message{"tls after"}));
    BOOST_REQUIRE(log.wait_for("echo tls after"));
    cli->close();
    await_exit(cli->actor());
    finish();
  }
}

namespace {

/// A client of `port` that logs echoes, closes and errors (with their code),
/// reconnect attempts and its giving up.
tao::client_options logging_client(tao::test::event_log& log, uint16_t port,
                                   tao::dispatch_mode mode) {
  tao::client_options opts;
  opts.port = port;
  opts.dispatch = mode;
  opts.high_water_mark = 16u << 20;
  opts.drain_timeout = 500ms;
  opts.handlers.on<echo_message>(
    [&log](tao::connection&, const echo_message& m) { log.add("echo " + m.text); });
  opts.on_close = [&log](tao::connection&, const caf::error& err) {
    log.add("close " + code_name(err));
    log.add("close");
  };
  opts.on_error = [&log](tao::connection&, const caf::error& err) {
    log.add("error " + code_name(err));
  };
  opts.on_reconnecting = [&log](unsigned, caf::timespan, const caf::error&) {
    log.add("reconnecting");
  };
  opts.on_give_up = [&log](const caf::error&) {
    log.add("give up");
  };
  return opts;
}

} // namespace

BOOST_AUTO_TEST_CASE(client_whose_server_resets_mid_frame) {
  for (auto mode : both_modes) {
    for (bool reconnect : {false, true}) {
      tao::test::event_log events;
      tao::test::raw_listener server;
      BOOST_REQUIRE(server.port() != 0);
      auto opts = logging_client(events, server.port(), mode);
      opts.reconnect.enabled = reconnect;
      opts.reconnect.initial_delay = 10ms;
      auto cli = tao::client::start(*sys, tao::test::with_test_io_threads(std::move(opts)));
      BOOST_REQUIRE(cli);
      int fd = server.accept();
      BOOST_REQUIRE(fd >= 0);
      BOOST_REQUIRE(tao::test::send_all(fd, echo_then_half_frame()));
      BOOST_REQUIRE(events.wait_for("echo whole"));
      tao::test::arm_reset(fd);
      auto before = clock_type::now();
      ::close(fd);
      BOOST_REQUIRE(events.wait_for("close truncated_frame"));
      BOOST_TEST_MESSAGE(mode_name(mode) << ": client saw its server's RST mid-frame after "
                                         << ms_since(before) << " ms");
      if (reconnect) {
        BOOST_REQUIRE(events.wait_for("reconnecting"));
        int again = server.accept();
        BOOST_REQUIRE(again >= 0);
        BOOST_REQUIRE(tao::test::send_all(again, frame(1, "again")));
        BOOST_REQUIRE(events.wait_for("echo again"));
        BOOST_CHECK_EQUAL(events.count("close"), 1u);
        cli->close();
        await_exit(cli->actor());
        ::close(again);
        BOOST_CHECK(events.wait_for("close", 2));
        BOOST_CHECK_EQUAL(events.count("close"), 2u);
        BOOST_CHECK_EQUAL(events.count("give up"), 0u);
      } else {
        BOOST_REQUIRE(events.wait_for("give up"));
        await_exit(cli->actor());
        BOOST_CHECK_EQUAL(events.count("reconnecting"), 0u);
      }
      BOOST_CHECK_EQUAL(events.count("close truncated_frame"), 1u);
    }
  }
}

/// A client writes 8 MiB to a server that reads 64 KiB of it and resets:
/// the client's on_close runs once and, without reconnection, it gives up
/// and terminates. Returns the reason on_close saw.
std::string client_reset_mid_write(fixture& fx, tao::dispatch_mode mode) {
  tao::test::event_log events;
  tao::test::raw_listener server;
  auto opts = logging_client(events, server.port(), mode);
  auto cli = tao::client::start(*fx.sys, tao::test::with_test_io_threads(std::move(opts)));
  BOOST_REQUIRE(cli);
  int fd = server.accept();
  BOOST_REQUIRE(fd >= 0);
  for (size_t i = 0; i < flood_frames; ++i)
    BOOST_CHECK(!cli->write(echo_message{flood_payload(i)}));
  auto got = tao::test::read_some(fd, flood_frame_size, 10s);
  BOOST_REQUIRE_EQUAL(got.size(), flood_frame_size);
  BOOST_CHECK(got.compare(0, 8, header(1, flood_frame_size)) == 0);
  tao::test::arm_reset(fd);
  auto before = clock_type::now();
  ::close(fd);
  BOOST_REQUIRE(events.wait_for("close"));
  auto reason = events.latest("close ").substr(6);
  BOOST_TEST_MESSAGE(mode_name(mode) << ": client writing 8 MiB saw its server's RST after "
                                     << ms_since(before) << " ms; reason " << reason);
  BOOST_REQUIRE(events.wait_for("give up"));
  fx.await_exit(cli->actor());
  BOOST_CHECK_EQUAL(events.count("close"), 1u);
  return reason;
}

BOOST_AUTO_TEST_CASE(client_whose_server_resets_mid_write) {
  for (auto mode : both_modes)
    client_reset_mid_write(*this, mode);
}

// A peer that resets while megabytes are queued for it is an error
// (errc::network_failure in on_error and on_close), on servers and clients
// alike. CAF 0.17 turns ECONNRESET/EPIPE into the same connection_closed_msg
// as a FIN; the broker tells them apart by the socket's TCP state.
BOOST_AUTO_TEST_CASE(reset_with_queued_writes_is_an_error) {
  std::string reasons;
  bool all_errors = true;
  for (auto mode : both_modes) {
    start(options(mode));
    auto closes = log.count("close");
    {
      tlv_socket peer{srv.port()};
      BOOST_REQUIRE(peer.send(3, "flood me"));
      BOOST_REQUIRE(peer.read());
      tao::test::arm_reset(peer.fd());
    }
    BOOST_REQUIRE(log.wait_for("close", closes + 1));
    auto server_reason = log.latest("close ").substr(6);
    auto client_reason = client_reset_mid_write(*this, mode);
    reasons += std::string{" "} + mode_name(mode) + ": server " + server_reason + ", client "
               + client_reason + ";";
    all_errors = all_errors && server_reason != "none" && client_reason != "none";
    finish();
  }
  BOOST_CHECK_MESSAGE(all_errors,
                      "on_close reasons of connections reset with bytes queued:" << reasons);
}

BOOST_AUTO_TEST_SUITE_END()
