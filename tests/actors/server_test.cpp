#define BOOST_TEST_MODULE actors_server
#include <vector>

#include <boost/test/unit_test.hpp>

#include "tao/all.hpp"

#include "support/deterministic.hpp"

using namespace std::chrono_literals;
using echo_message = tao::protocol::text_message<1>;

namespace {

struct fixture : tao::test::deterministic_fixture {
  tao::server srv;
  caf::io::accept_handle acc;
  std::vector<std::string> closes;

  ~fixture() {
    if (srv) {
      srv.stop();
      run();
      advance(10s);
    }
  }

  void start(tao::server_options opts) {
    acc = provide_acceptor(8080);
    opts.port = 8080;
    if (!opts.on_close)
      opts.on_close = [this](tao::connection&, const caf::error& reason) {
        closes.push_back(tao::protocol::render(reason));
      };
    auto res = tao::server::start(sys, std::move(opts));
    BOOST_REQUIRE(res);
    srv = *res;
    run();
  }

  static tao::server_options echo_options() {
    tao::server_options opts;
    BOOST_REQUIRE(!opts.handlers.on<echo_message>(
      [](tao::connection& c, const echo_message& m) { BOOST_CHECK(!c.write(m)); }));
    return opts;
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(server, fixture)

BOOST_AUTO_TEST_CASE(echo_across_chunks) {
  start(echo_options());
  auto conn = connect(acc);
  auto bytes = tao::test::tlv(1, "hi") + tao::test::tlv(1, "") + tao::test::tlv(1, "world");
  send(conn, bytes.substr(0, 5));
  BOOST_CHECK_EQUAL(take_output(conn), "");
  send(conn, bytes.substr(5, 9));
  send(conn, bytes.substr(14));
  BOOST_CHECK_EQUAL(take_output(conn), bytes);
  peer_close(conn);
  BOOST_REQUIRE_EQUAL(closes.size(), 1u);
  BOOST_CHECK_EQUAL(closes[0], "none");
}

BOOST_AUTO_TEST_SUITE_END()
