#define BOOST_TEST_MODULE greeter
#include <boost/test/unit_test.hpp>
#include <tao/all.hpp>
#include <tao/test/fixture.hpp>
#include <tao/test/scripted_peer.hpp>

// A consumer's test of its handler with tao's installed test kit: no
// sockets, no threads, virtual time.

using hello = tao::protocol::text_message<1>;

namespace {

tao::server_options greeter() {
  tao::server_options opts;
  (void)opts.handlers.on<hello>([](tao::connection& c, const hello& m) {
    (void)c.write(hello{"hello, " + (m.text.empty() ? std::string{"world"} : m.text)});
  });
  opts.read_idle_timeout = std::chrono::seconds(30);
  return opts;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(greeter_suite, tao::test::fixture)

BOOST_AUTO_TEST_CASE(greets_by_name_and_closes_idle_peers) {
  auto srv = start_server(greeter());
  BOOST_REQUIRE(srv);
  auto peer = tao::test::scripted_peer::connect(*this);
  peer.send(hello{"tao"}).expect(hello{"hello, tao"});
  peer.send(hello{""}).expect(hello{"hello, world"});
  advance(std::chrono::seconds(29));
  BOOST_CHECK(!peer.closed_by_tao());
  advance(std::chrono::seconds(2));
  BOOST_CHECK(peer.closed_by_tao());
  auto stopped = ask<void>(srv->actor(), tao::stop_atom::value);
  BOOST_CHECK(stopped);
}

BOOST_AUTO_TEST_SUITE_END()
