#define BOOST_TEST_MODULE operations_logging
#include <boost/test/unit_test.hpp>

// tao's logging through spdlog: quiet at the default level under load, and
// level switches that take effect.

#include <fstream>
#include <string>

#include <unistd.h>

#include "tao/all.hpp"

#include "support/loopback.hpp"
#include "support/temp_file.hpp"
#include "support/tlv_socket.hpp"

using echo_message = tao::protocol::text_message<1>;
using tao::test::tlv_socket;

namespace {

struct fixture : tao::test::loopback_fixture {
  tao::test::temp_file log_file{"tao-log"};
  const std::string& file = log_file.path();

  ~fixture() {
    tao::configure_logging({});
  }

  void log_to_file(tao::log_level level) {
    tao::log_options opts;
    opts.level = level;
    opts.file = file;
    BOOST_REQUIRE(!tao::configure_logging(opts));
  }

  std::vector<std::string> lines() {
    std::vector<std::string> result;
    std::ifstream in{file};
    for (std::string line; std::getline(in, line);)
      result.push_back(line);
    return result;
  }

  size_t count(const std::string& what) {
    size_t n = 0;
    for (auto& line : lines())
      n += line.find(what) != std::string::npos;
    return n;
  }

  tao::server start_echo() {
    tao::server_options opts;
    opts.handlers.on<echo_message>([](tao::connection& c, const echo_message& m) { c.write(m); });
    auto srv = tao::server::start(*sys, std::move(opts));
    BOOST_REQUIRE(srv);
    return *srv;
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(operations_logging, fixture)

BOOST_AUTO_TEST_CASE(default_level_is_quiet_under_load) {
  log_to_file(tao::log_level::info);
  auto srv = start_echo();
  for (int conn = 0; conn < 10; ++conn) {
    tlv_socket peer{srv.port()};
    BOOST_REQUIRE(peer.fd() >= 0);
    for (int i = 0; i < 1000; ++i)
      BOOST_REQUIRE(peer.send(1, "load"));
    BOOST_REQUIRE(peer.send(99, "an unknown type")); // an error, logged at debug only
    for (int i = 0; i < 1000; ++i)
      BOOST_REQUIRE(peer.read());
  }
  stop(srv);
  auto all = lines();
  for (auto& line : all)
    BOOST_TEST_MESSAGE(line);
  BOOST_CHECK_LE(all.size(), 5u); // listening, stopping, stopped
  BOOST_CHECK_EQUAL(count("[tao.server] [info] listening on 127.0.0.1:"), 1u);
  BOOST_CHECK_EQUAL(count("unregistered type"), 0u);
}

BOOST_AUTO_TEST_CASE(level_switches_take_effect) {
  log_to_file(tao::log_level::debug);
  auto srv = start_echo();
  {
    tlv_socket peer{srv.port()};
    BOOST_REQUIRE(peer.send(99, "x"));
    BOOST_REQUIRE(peer.send(1, "sync"));
    BOOST_REQUIRE(peer.read());
  }
  stop(srv);
  BOOST_CHECK_EQUAL(count("[tao.connection] [debug]"), 1u);
  BOOST_CHECK_EQUAL(count("frame of unregistered type 99 skipped"), 1u);
  log_to_file(tao::log_level::warn);
  auto quiet = start_echo();
  stop(quiet);
  BOOST_CHECK_EQUAL(count("listening on"), 1u); // only the first server's
  log_to_file(tao::log_level::off);
  tao::log_level parsed = tao::log_level::off;
  BOOST_CHECK(!tao::parse_log_level("debug", parsed));
  BOOST_CHECK(parsed == tao::log_level::debug);
  BOOST_CHECK(tao::parse_log_level("verbose", parsed));
  tao::log_options bad;
  bad.file = "/dev/null/tao.log"; // a file below a non-directory
  BOOST_CHECK(tao::configure_logging(bad));
}

BOOST_AUTO_TEST_SUITE_END()
