#pragma once

// The server side shared by the reliability suites: a loopback tao server
// with metrics, an echo handler and every error and close logged, plus the
// bounded waits the cases use. Waits poll server state (stats, metrics) that
// no event announces; each is bounded and fails the case at its bound.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include <boost/test/unit_test.hpp>
#include <caf/scoped_actor.hpp>

#include "tao/all.hpp"

#include "reliability/peer_tools.hpp"
#include "support/io_threads.hpp"
#include "support/loopback.hpp"
#include "support/tlv_socket.hpp"

namespace tao::test {

/// Both dispatch modes, for cases that run once per mode.
constexpr dispatch_mode both_modes[] = {dispatch_mode::scheduled, dispatch_mode::inline_io};

/// Type 1: echoed by the server of `reliability_fixture::options`.
using echo_message = protocol::text_message<1>;

/// A fixture owning one server at a time (`start` ... `finish`).
struct reliability_fixture : loopback_fixture {
  metrics_ptr metrics;
  server srv;

  /// Dispatch `mode`, fresh metrics, a 500 ms drain timeout, echo on type
  /// 1, every error and close logged as "error <code>" and "close <code>".
  server_options options(dispatch_mode mode) {
    server_options opts;
    opts.dispatch = mode;
    metrics = std::make_shared<tao::metrics>();
    opts.metrics = metrics;
    opts.drain_timeout = std::chrono::milliseconds{500};
    BOOST_REQUIRE(
      !opts.handlers.on<echo_message>([](connection& c, const echo_message& m) { c.write(m); }));
    opts.on_error = [this](connection&, const caf::error& err) {
      log.add("error " + code_name(err));
    };
    opts.on_close = [this](connection&, const caf::error& err) {
      log.add("close " + code_name(err));
    };
    return opts;
  }

  /// Starts `srv`; fails the case if the server does not start.
  void start(server_options opts) {
    auto res = server::start(*sys, tao::test::with_test_io_threads(std::move(opts)));
    BOOST_REQUIRE_MESSAGE(res, (res ? std::string{} : protocol::render(res.error())));
    srv = *res;
  }

  /// Stops `srv` and forgets it.
  void finish() {
    stop(srv);
    srv = server{};
  }

  ~reliability_fixture() {
    if (srv)
      stop(srv);
  }

  /// The server's counters.
  server_stats stats() {
    caf::scoped_actor self{*sys};
    server_stats result;
    self->request(srv.actor(), std::chrono::seconds{10}, stats_atom::value)
      .receive([&](server_stats& x) { result = x; },
               [](caf::error& err) { BOOST_FAIL(protocol::render(err)); });
    return result;
  }

  /// Waits (at most `bound`) until `pred()` holds; false at the bound.
  template <class Pred>
  static bool await(Pred pred, std::chrono::seconds bound = std::chrono::seconds{10}) {
    auto deadline = std::chrono::steady_clock::now() + bound;
    while (!pred()) {
      if (std::chrono::steady_clock::now() >= deadline)
        return false;
      std::this_thread::sleep_for(std::chrono::milliseconds{2});
    }
    return true;
  }

  /// Waits (bounded) until the server counts `n` open connections.
  bool await_connections(uint64_t n, std::chrono::seconds bound = std::chrono::seconds{10}) {
    return await([&] { return stats().connections == n; }, bound);
  }

  /// The metric sample `series` (name plus labels, as printed).
  double metric(const std::string& series) {
    return sample(metrics->text(), series);
  }

  /// Waits (bounded) until `series` reaches `want` (counts are published
  /// once per activation, so shortly after the events), then returns it.
  double metric_at_least(const std::string& series, double want) {
    double x = 0;
    await([&] { return (x = metric(series)) >= want; });
    return x;
  }

  /// `n` echo round trips on `s`, each checked.
  static void round_trips(tlv_socket& s, int n, const std::string& tag = "bystander") {
    for (int i = 0; i < n; ++i) {
      auto payload = tag + " " + std::to_string(i);
      BOOST_REQUIRE(s.send(1, payload));
      auto f = s.read();
      BOOST_REQUIRE_MESSAGE(f, tag << " got no reply: end " << static_cast<int>(s.end()));
      BOOST_REQUIRE_EQUAL(f->payload, payload);
    }
  }
};

} // namespace tao::test
