#pragma once

// A server on CAF's deterministic scheduler and test multiplexer, with
// logging callbacks; `for_each_dispatch` runs a case once per dispatch mode.

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>
#include <caf/event_based_actor.hpp>

#include "tao/all.hpp"

#include "support/deterministic.hpp"

namespace tao::test {

using echo_message = tao::protocol::text_message<1>;
struct point {
  static constexpr int32_t tao_type = 7;
  using tao_payload = tao::protocol::inspect_payload;
  int32_t x = 0;
  int32_t y = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, point& p) {
  return f(p.x, p.y);
}

/// A deterministic server; every case runs once per dispatch mode.
struct server_fixture : tao::test::deterministic_fixture {
  tao::server srv;
  caf::io::accept_handle acc;
  std::vector<std::string> log;
  tao::dispatch_mode dispatch;

  explicit server_fixture(tao::dispatch_mode mode) : dispatch(mode) {
  }

  ~server_fixture() {
    if (srv) {
      srv.stop();
      run();
      advance(std::chrono::seconds(10));
    }
  }

  /// Options with an echo handler for type 1 and logging callbacks.
  tao::server_options options() {
    tao::server_options opts;
    opts.dispatch = dispatch;
    BOOST_REQUIRE(!opts.handlers.on<echo_message>(
      [](tao::connection& c, const echo_message& m) { BOOST_CHECK(!c.write(m)); }));
    opts.on_close = [this](tao::connection&, const caf::error& reason) {
      log.push_back("close " + tao::protocol::render(reason));
    };
    opts.on_error = [this](tao::connection&, const caf::error& err) {
      log.push_back(
        "error "
        + std::string{tao::protocol::to_string(static_cast<tao::protocol::errc>(err.code()))});
    };
    return opts;
  }

  void start(tao::server_options opts) {
    acc = provide_acceptor(8080);
    opts.port = 8080;
    auto res = tao::server::start(sys, std::move(opts));
    BOOST_REQUIRE(res);
    srv = *res;
    run();
  }

  size_t count(const std::string& x) const {
    return static_cast<size_t>(std::count(log.begin(), log.end(), x));
  }

  /// Requests `msg` from the server actor and returns the reply.
  template <class Reply, class... Ts>
  Reply ask(Ts... xs) {
    auto result = std::make_shared<Reply>();
    sys.spawn(
      [result](caf::event_based_actor* self, caf::actor server, Ts... ys) {
        self->request(server, caf::infinite, ys...).then([result](Reply& x) {
          *result = std::move(x);
        });
      },
      srv.actor(), xs...);
    run();
    return *result;
  }
};

template <class F>
void for_each_dispatch(F f) {
  for (auto mode : {tao::dispatch_mode::scheduled, tao::dispatch_mode::inline_io}) {
    BOOST_TEST_CONTEXT("dispatch "
                       << (mode == tao::dispatch_mode::scheduled ? "scheduled" : "inline")) {
      server_fixture fix{mode};
      f(fix);
    }
  }
}

} // namespace tao::test
