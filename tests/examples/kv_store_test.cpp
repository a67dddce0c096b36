#define BOOST_TEST_MODULE examples_kv_store
#include <string>

#include <boost/test/unit_test.hpp>
#include <caf/send.hpp>

#include "tao/all.hpp"
#include "tao/test/fixture.hpp"
#include "tao/test/scripted_peer.hpp"

#include "kv_server.hpp"
#include "store.hpp"

// examples/kv_store on the installed test kit: the store alone, then the
// server's handlers with a scripted peer, in both dispatch modes, all on
// CAF's deterministic scheduler.

namespace {

struct fixture : tao::test::fixture {
  kv::store_actor store = sys.spawn(kv::store);
  uint16_t next_port = 8080;

  ~fixture() {
    caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
    run();
  }

  tao::test::scripted_peer start(tao::dispatch_mode mode) {
    auto opts = kv::server_options(store);
    opts.dispatch = mode;
    opts.port = next_port++;
    auto srv = start_server(std::move(opts));
    BOOST_REQUIRE_MESSAGE(srv, (srv ? std::string{} : tao::render(srv.error())));
    return tao::test::scripted_peer::connect(*this);
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(kv_store, fixture)

BOOST_AUTO_TEST_CASE(the_store_alone_answers_puts_and_gets) {
  BOOST_CHECK_EQUAL(*ask<std::string>(store, kv::get_atom::value, std::string{"a"}), "a=");
  BOOST_CHECK_EQUAL(
    *ask<std::string>(store, kv::put_atom::value, std::string{"a"}, std::string{"1"}), "stored a");
  BOOST_CHECK_EQUAL(*ask<std::string>(store, kv::get_atom::value, std::string{"a"}), "a=1");
}

BOOST_AUTO_TEST_CASE(pipelined_requests_are_answered_in_order) {
  for (auto mode : {tao::dispatch_mode::inline_io, tao::dispatch_mode::scheduled}) {
    auto peer = start(mode);
    for (int i = 0; i < 100; ++i) {
      auto k = std::to_string(i);
      peer.send(kv::set_request{"k" + k + "=v" + k}).send(kv::get_request{"k" + k});
    }
    for (int i = 0; i < 100; ++i) {
      auto k = std::to_string(i);
      peer.expect(kv::reply{"stored k" + k}).expect(kv::reply{"k" + k + "=v" + k});
    }
    peer.expect_nothing();
  }
}

BOOST_AUTO_TEST_CASE(a_half_closing_client_gets_every_reply_before_the_fin) {
  auto peer = start(tao::dispatch_mode::scheduled);
  peer.send(kv::set_request{"x=1"}).send(kv::get_request{"x"}).send(kv::get_request{"y"}).close();
  peer.expect(kv::reply{"stored x"}).expect(kv::reply{"x=1"}).expect(kv::reply{"y="});
  BOOST_CHECK(peer.closed_by_tao());
}

BOOST_AUTO_TEST_CASE(a_bad_set_and_a_dead_store_are_answered_with_errors) {
  auto peer = start(tao::dispatch_mode::inline_io);
  peer.send(kv::set_request{"no equals sign"});
  peer.expect(kv::reply{"error SET wants key=value"});
  caf::anon_send_exit(store, caf::exit_reason::kill);
  run();
  peer.send(kv::get_request{"x"});
  auto answer = peer.receive<kv::reply>();
  BOOST_CHECK_MESSAGE(answer.text.rfind("error ", 0) == 0, answer.text);
}

BOOST_AUTO_TEST_SUITE_END()
