#define BOOST_TEST_MODULE actors_composition
#include <memory>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>
#include <caf/event_based_actor.hpp>

#include "tao/all.hpp"

#include "actors/deterministic_server.hpp"

// Composing connections with other CAF actors, on the deterministic
// scheduler and in both dispatch modes: a connection's own behaviour
// (`connection_options::behavior`: a stateful connection actor) and
// `on_down`, write receipts, and the typed server interface.

using namespace std::chrono_literals;
using tao::protocol::errc;
using tao::test::echo_message;
using tao::test::for_each_dispatch;
using tao::test::server_fixture;
using tao::test::tlv;

namespace {

using said_atom = caf::atom_constant<caf::atom("said")>;
using say_atom = caf::atom_constant<caf::atom("say")>;
using watch_atom = caf::atom_constant<caf::atom("watch")>;

/// What an actor received, for the test to look at.
using lines = std::shared_ptr<std::vector<std::string>>;

/// Records write receipts.
caf::behavior recorder(caf::event_based_actor*, lines box) {
  return {
    [box](tao::written_atom, uint64_t) { box->push_back("written"); },
    [box](tao::write_failed_atom, uint64_t, const caf::error& err) {
      box->push_back("failed " + std::string{tao::to_string(static_cast<tao::errc>(err.code()))});
    },
  };
}

caf::behavior bystander(caf::event_based_actor*) {
  return {[](int) {
  }};
}

/// Server options whose connections understand `say`, `said` and `watch`,
/// and whose refs are collected in `refs`.
tao::server_options chatty(server_fixture& fix, std::vector<tao::connection_ref>& refs) {
  auto opts = fix.options();
  opts.on_connect = [&refs](tao::connection& c) {
    refs.push_back(c.ref());
    return true;
  };
  opts.behavior = [](tao::connection& c) -> caf::message_handler {
    // State of this connection's actor; `c` lives as long as the connection.
    auto said = std::make_shared<int>(0);
    auto* conn = &c;
    return {
      [conn, said](say_atom, const std::string& text) {
        ++*said;
        BOOST_CHECK(!conn->write(echo_message{text}));
      },
      [said](said_atom) { return *said; },
      [conn](watch_atom, const caf::actor& other) { conn->self()->monitor(other); },
    };
  };
  opts.on_down = [](tao::connection& c, const caf::down_msg&) {
    BOOST_CHECK(!c.write(echo_message{"down"}));
  };
  return opts;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_connection_behavior_keeps_state_per_connection_and_answers) {
  for_each_dispatch([](server_fixture& fix) {
    std::vector<tao::connection_ref> refs;
    fix.start(chatty(fix, refs));
    auto a = fix.connect(fix.acc);
    auto b = fix.connect(fix.acc);
    BOOST_REQUIRE_EQUAL(refs.size(), 2u);
    caf::anon_send(refs[0].actor(), say_atom::value, std::string{"one"});
    caf::anon_send(refs[0].actor(), say_atom::value, std::string{"two"});
    caf::anon_send(refs[1].actor(), say_atom::value, std::string{"three"});
    fix.run();
    BOOST_CHECK_EQUAL(fix.take_output(a), tlv(1, "one") + tlv(1, "two"));
    BOOST_CHECK_EQUAL(fix.take_output(b), tlv(1, "three"));
    BOOST_CHECK_EQUAL(*fix.tao::test::fixture::ask<int>(refs[0].actor(), said_atom::value), 2);
    BOOST_CHECK_EQUAL(*fix.tao::test::fixture::ask<int>(refs[1].actor(), said_atom::value), 1);
    // Frames still work beside the behaviour.
    fix.send(a, tlv(1, "echo"));
    BOOST_CHECK_EQUAL(fix.take_output(a), tlv(1, "echo"));
    // A message nobody understands is an error to its requester, not a crash.
    auto odd = fix.tao::test::fixture::ask<int>(refs[0].actor(), std::string{"odd"});
    BOOST_CHECK(!odd);
  });
}

BOOST_AUTO_TEST_CASE(on_down_runs_when_a_monitored_actor_ends) {
  for_each_dispatch([](server_fixture& fix) {
    std::vector<tao::connection_ref> refs;
    fix.start(chatty(fix, refs));
    auto a = fix.connect(fix.acc);
    auto other = fix.sys.spawn(bystander);
    caf::anon_send(refs.at(0).actor(), watch_atom::value, other);
    fix.run();
    BOOST_CHECK_EQUAL(fix.take_output(a), "");
    caf::anon_send_exit(other, caf::exit_reason::user_shutdown);
    fix.run();
    BOOST_CHECK_EQUAL(fix.take_output(a), tlv(1, "down"));
  });
}

BOOST_AUTO_TEST_CASE(a_write_receipt_says_written_once_the_bytes_are_out) {
  for_each_dispatch([](server_fixture& fix) {
    std::vector<tao::connection_ref> refs;
    fix.start(chatty(fix, refs));
    auto a = fix.connect(fix.acc);
    auto box = std::make_shared<std::vector<std::string>>();
    auto rec = fix.sys.spawn(recorder, box);
    auto id = refs.at(0).write_with_receipt(echo_message{"x"}, rec);
    BOOST_REQUIRE(id);
    BOOST_CHECK(box->empty());
    fix.run();
    BOOST_CHECK_EQUAL(fix.take_output(a), tlv(1, "x"));
    BOOST_CHECK((*box == std::vector<std::string>{"written"}));
    caf::anon_send_exit(rec, caf::exit_reason::user_shutdown);
  });
}

BOOST_AUTO_TEST_CASE(a_write_receipt_says_failed_when_the_connection_ends_first) {
  for_each_dispatch([](server_fixture& fix) {
    std::vector<tao::connection_ref> refs;
    fix.start(chatty(fix, refs));
    auto a = fix.connect(fix.acc);
    auto box = std::make_shared<std::vector<std::string>>();
    auto rec = fix.sys.spawn(recorder, box);
    refs.at(0).abort(); // reaches the broker before the write below
    auto id = refs.at(0).write_with_receipt(echo_message{"lost"}, rec);
    BOOST_REQUIRE(id);
    fix.run();
    BOOST_CHECK_EQUAL(fix.take_output(a), "");
    BOOST_CHECK((*box == std::vector<std::string>{"failed closed"}));
    // Once the connection is gone, the write is refused at once.
    auto late = refs.at(0).write_with_receipt(echo_message{"late"}, rec);
    BOOST_REQUIRE(!late);
    BOOST_CHECK(tao::is(late.error(), tao::errc::closed));
    fix.run();
    BOOST_CHECK_EQUAL(box->size(), 1u);
    caf::anon_send_exit(rec, caf::exit_reason::user_shutdown);
  });
}

BOOST_AUTO_TEST_CASE(the_typed_server_interface_answers_stats_count_lookup_and_stop) {
  for_each_dispatch([](server_fixture& fix) {
    std::vector<tao::connection_ref> refs;
    fix.start(chatty(fix, refs));
    auto a = fix.connect(fix.acc);
    tao::server_actor srv = fix.srv.actor();
    auto n = fix.tao::test::fixture::ask<uint64_t>(srv, tao::count_atom::value);
    BOOST_CHECK_EQUAL(*n, 1u);
    auto stats = fix.tao::test::fixture::ask<tao::server_stats>(srv, tao::stats_atom::value);
    BOOST_CHECK_EQUAL(stats->accepted, 1u);
    auto ref = fix.tao::test::fixture::ask<tao::connection_ref>(srv, tao::lookup_atom::value,
                                                                refs.at(0).id());
    BOOST_REQUIRE(ref);
    BOOST_CHECK(!ref->write(echo_message{"via lookup"}));
    fix.run();
    BOOST_CHECK_EQUAL(fix.take_output(a), tlv(1, "via lookup"));
    // One way to stop: the stop message; its answer comes once every
    // connection is closed (`server::stop()` sends the same message).
    auto stopped = fix.tao::test::fixture::ask<void>(srv, tao::stop_atom::value);
    BOOST_CHECK(stopped);
    BOOST_CHECK_EQUAL(fix.count("close none"), 1u);
    fix.srv = tao::server{};
  });
}
