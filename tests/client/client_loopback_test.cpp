#define BOOST_TEST_MODULE client_loopback
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include "tao/all.hpp"

#include "support/io_threads.hpp"
#include "support/loopback.hpp"

using namespace std::chrono_literals;
using echo_message = tao::protocol::text_message<1>;

namespace {

struct fixture : tao::test::loopback_fixture {
  tao::server start_echo_server(uint16_t port = 0, std::string host = "127.0.0.1") {
    tao::server_options opts;
    opts.host = std::move(host);
    opts.port = port;
    opts.handlers.on<echo_message>([](tao::connection& c, const echo_message& m) { c.write(m); });
    auto srv = tao::server::start(*sys, tao::test::with_test_io_threads(std::move(opts)));
    BOOST_REQUIRE_MESSAGE(srv, (srv ? std::string{} : tao::protocol::render(srv.error())));
    return *srv;
  }

  tao::client_options client_options(uint16_t port) {
    tao::client_options opts;
    opts.port = port;
    opts.handlers.on<echo_message>(
      [this](tao::connection&, const echo_message& m) { log.add("echo " + m.text); });
    opts.on_connect = [this](tao::connection&) {
      log.add("connect");
      return true;
    };
    opts.on_close = [this](tao::connection&, const caf::error&) {
      log.add("close");
    };
    return opts;
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(client_loopback, fixture)

BOOST_AUTO_TEST_CASE(echo_and_deliberate_close) {
  auto srv = start_echo_server();
  auto cli = tao::client::start(*sys, tao::test::with_test_io_threads(client_options(srv.port())));
  BOOST_REQUIRE(cli);
  // Written before the connection exists: queued, then sent in order.
  for (int i = 0; i < 10; ++i)
    BOOST_CHECK(!cli->write(echo_message{"m" + std::to_string(i)}));
  BOOST_REQUIRE(log.wait_for("echo m9"));
  for (int i = 0; i < 10; ++i)
    BOOST_CHECK_EQUAL(log.count("echo m" + std::to_string(i)), 1u);
  cli->close();
  await_exit(cli->actor());
  BOOST_CHECK_EQUAL(log.count("connect"), 1u);
  BOOST_CHECK_EQUAL(log.count("close"), 1u);
  stop(srv);
}

BOOST_AUTO_TEST_CASE(reconnects_after_server_restart) {
  auto srv = start_echo_server();
  auto port = srv.port();
  auto opts = client_options(port);
  opts.reconnect.enabled = true;
  opts.reconnect.initial_delay = 20ms;
  opts.reconnect.max_delay = 200ms;
  opts.on_reconnecting = [this](unsigned, caf::timespan, const caf::error&) {
    log.add("reconnecting");
  };
  auto cli = tao::client::start(*sys, tao::test::with_test_io_threads(std::move(opts)));
  BOOST_REQUIRE(cli);
  BOOST_CHECK(!cli->write(echo_message{"before"}));
  BOOST_REQUIRE(log.wait_for("echo before"));
  stop(srv);
  BOOST_REQUIRE(log.wait_for("reconnecting"));
  BOOST_CHECK(!cli->write(echo_message{"while down"}));
  auto srv2 = start_echo_server(port);
  BOOST_REQUIRE(log.wait_for("connect", 2));
  BOOST_REQUIRE(log.wait_for("echo while down"));
  cli->close();
  await_exit(cli->actor());
  stop(srv2);
}

BOOST_AUTO_TEST_CASE(gives_up_after_max_attempts) {
  auto srv = start_echo_server();
  auto port = srv.port();
  stop(srv);
  auto opts = client_options(port);
  opts.reconnect.enabled = true;
  opts.reconnect.initial_delay = 1ms;
  opts.reconnect.max_attempts = 3;
  opts.on_reconnecting = [this](unsigned, caf::timespan, const caf::error&) {
    log.add("reconnecting");
  };
  opts.on_give_up = [this](const caf::error&) {
    log.add("give up");
  };
  auto cli = tao::client::start(*sys, tao::test::with_test_io_threads(std::move(opts)));
  BOOST_REQUIRE(cli);
  BOOST_REQUIRE(log.wait_for("give up"));
  BOOST_CHECK_EQUAL(log.count("reconnecting"), 3u);
  await_exit(cli->actor());
}

BOOST_AUTO_TEST_CASE(ipv6_and_host_names) {
  // Server on ::1, client by address; server on 127.0.0.1, client by name
  // ("localhost" may resolve to ::1 first: the connector tries each address).
  for (auto [server_host, client_host] :
       {std::pair{"::1", "::1"}, std::pair{"127.0.0.1", "localhost"}}) {
    auto srv = start_echo_server(0, server_host);
    auto opts = client_options(srv.port());
    opts.host = client_host;
    auto cli = tao::client::start(*sys, tao::test::with_test_io_threads(std::move(opts)));
    BOOST_REQUIRE(cli);
    BOOST_CHECK(!cli->write(echo_message{std::string{"via "} + client_host}));
    BOOST_CHECK(log.wait_for(std::string{"echo via "} + client_host));
    cli->close();
    await_exit(cli->actor());
    stop(srv);
  }
}

BOOST_AUTO_TEST_CASE(connect_timeout_and_refusal_are_reported) {
  auto srv = start_echo_server();
  auto port = srv.port();
  stop(srv);
  auto opts = client_options(port);
  caf::error reason;
  opts.on_give_up = [this, &reason](const caf::error& err) {
    reason = err;
    log.add("give up");
  };
  auto cli = tao::client::start(*sys, tao::test::with_test_io_threads(std::move(opts)));
  BOOST_REQUIRE(cli);
  BOOST_REQUIRE(log.wait_for("give up"));
  BOOST_CHECK(tao::protocol::is(reason, tao::protocol::errc::network_failure));
  await_exit(cli->actor());
}

BOOST_AUTO_TEST_SUITE_END()
