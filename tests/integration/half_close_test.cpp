#define BOOST_TEST_MODULE integration_half_close
#include <boost/test/unit_test.hpp>

// A client that pipelines requests and then half-closes (shutdown(SHUT_WR))
// gets every reply before the server's FIN, in both dispatch modes, whether
// the replies come from the handler, from another actor (a key-value store
// that is an ordinary CAF actor) or from a timer. And no write ever
// succeeds and then vanishes: a write refused because the connection closed
// says so to its writer.

#include <atomic>
#include <map>
#include <memory>
#include <string>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "tao/all.hpp"

#include "support/io_threads.hpp"
#include "support/loopback.hpp"
#include "support/tlv_socket.hpp"

using namespace std::chrono_literals;
using tao::test::tlv_socket;

namespace {

using set_request = tao::protocol::text_message<2>; // "key=value"
using get_request = tao::protocol::text_message<3>; // "key"
using get_reply = tao::protocol::text_message<4>;   // "key=value" or "key="
using delayed = tao::protocol::text_message<5>;     // echoed after 20 ms

using set_atom = caf::atom_constant<caf::atom("set")>;
using get_atom = caf::atom_constant<caf::atom("get")>;
using unheld_get_atom = caf::atom_constant<caf::atom("uget")>;

struct store_state {
  std::map<std::string, std::string> data;
  /// Replies written through a plain connection_ref: accepted, refused.
  std::shared_ptr<std::atomic<int>> accepted;
  std::shared_ptr<std::atomic<int>> refused;
};

/// An ordinary CAF actor: knows nothing of tao but the reply handles.
caf::behavior store(caf::stateful_actor<store_state>* self, std::shared_ptr<std::atomic<int>> ok,
                    std::shared_ptr<std::atomic<int>> refused) {
  self->state.accepted = std::move(ok);
  self->state.refused = std::move(refused);
  return {
    [self](set_atom, const std::string& key, const std::string& value) {
      self->state.data[key] = value;
    },
    [self](get_atom, const std::string& key, const tao::pending_reply& reply) {
      auto& d = self->state.data;
      auto i = d.find(key);
      auto err = reply.write(get_reply{key + "=" + (i != d.end() ? i->second : "")});
      BOOST_CHECK_MESSAGE(!err, tao::protocol::render(err));
    },
    [self](unheld_get_atom, const std::string& key, const tao::connection_ref& conn) {
      auto& d = self->state.data;
      auto i = d.find(key);
      if (conn.write(get_reply{key + "=" + (i != d.end() ? i->second : "")}))
        ++*self->state.refused;
      else
        ++*self->state.accepted;
    },
  };
}

struct fixture : tao::test::loopback_fixture {
  std::shared_ptr<std::atomic<int>> accepted = std::make_shared<std::atomic<int>>(0);
  std::shared_ptr<std::atomic<int>> refused = std::make_shared<std::atomic<int>>(0);
  caf::actor kv = sys->spawn(store, accepted, refused);

  ~fixture() {
    caf::anon_send_exit(kv, caf::exit_reason::user_shutdown);
  }

  /// A key-value server: GET replies come from the store actor, either
  /// held with a pending reply or through a plain connection_ref.
  tao::server start(tao::dispatch_mode mode, bool held) {
    tao::server_options opts;
    opts.dispatch = mode;
    auto store_actor = kv;
    opts.handlers.on<set_request>([store_actor](tao::connection&, const set_request& m) {
      auto eq = m.text.find('=');
      caf::anon_send(store_actor, set_atom::value, m.text.substr(0, eq), m.text.substr(eq + 1));
    });
    opts.handlers.on<get_request>([store_actor, held](tao::connection& c, const get_request& m) {
      if (held)
        caf::anon_send(store_actor, get_atom::value, m.text, c.defer());
      else
        caf::anon_send(store_actor, unheld_get_atom::value, m.text, c.ref());
    });
    opts.handlers.on<delayed>([](tao::connection& c, const delayed& m) {
      c.run_after(20ms, [m](tao::connection& x, tao::time_point) { BOOST_CHECK(!x.write(m)); });
    });
    auto srv = tao::server::start(*sys, tao::test::with_test_io_threads(std::move(opts)));
    BOOST_REQUIRE(srv);
    return *srv;
  }
};

const char* mode_name(tao::dispatch_mode mode) {
  return mode == tao::dispatch_mode::scheduled ? "scheduled" : "inline";
}

constexpr int pairs = 50;

} // namespace

BOOST_FIXTURE_TEST_SUITE(integration_half_close, fixture)

BOOST_AUTO_TEST_CASE(replies_from_another_actor_reach_a_half_closed_peer) {
  for (auto mode : {tao::dispatch_mode::scheduled, tao::dispatch_mode::inline_io}) {
    BOOST_TEST_CONTEXT(mode_name(mode)) {
      auto srv = start(mode, true);
      tlv_socket peer{srv.port()};
      std::string burst;
      for (int i = 0; i < pairs; ++i) {
        auto k = "k" + std::to_string(i);
        BOOST_REQUIRE(peer.send(2, k + "=v" + std::to_string(i)));
        BOOST_REQUIRE(peer.send(3, k));
      }
      peer.shutdown_write();
      int got = 0;
      while (auto f = peer.read()) {
        BOOST_CHECK_EQUAL(f->type, 4);
        BOOST_CHECK_EQUAL(f->payload, "k" + std::to_string(got) + "=v" + std::to_string(got));
        ++got;
      }
      BOOST_CHECK_EQUAL(got, pairs);
      BOOST_CHECK(peer.end() == tao::test::read_end::eof);
      stop(srv);
    }
  }
}

BOOST_AUTO_TEST_CASE(replies_from_a_timer_reach_a_half_closed_peer) {
  for (auto mode : {tao::dispatch_mode::scheduled, tao::dispatch_mode::inline_io}) {
    BOOST_TEST_CONTEXT(mode_name(mode)) {
      auto srv = start(mode, true);
      tlv_socket peer{srv.port()};
      for (int i = 0; i < pairs; ++i)
        BOOST_REQUIRE(peer.send(5, "t" + std::to_string(i)));
      peer.shutdown_write();
      int got = 0;
      while (auto f = peer.read()) {
        BOOST_CHECK_EQUAL(f->payload, "t" + std::to_string(got));
        ++got;
      }
      BOOST_CHECK_EQUAL(got, pairs);
      BOOST_CHECK(peer.end() == tao::test::read_end::eof);
      stop(srv);
    }
  }
}

// Without a pending reply the server does not know a reply is coming, so a
// half-closed connection may close before the store answers. What must
// never happen is a write that succeeds and never arrives.
BOOST_AUTO_TEST_CASE(an_accepted_write_is_never_lost) {
  for (auto mode : {tao::dispatch_mode::scheduled, tao::dispatch_mode::inline_io}) {
    BOOST_TEST_CONTEXT(mode_name(mode)) {
      *accepted = 0;
      *refused = 0;
      auto srv = start(mode, false);
      tlv_socket peer{srv.port()};
      for (int i = 0; i < pairs; ++i) {
        BOOST_REQUIRE(peer.send(2, "k=v"));
        BOOST_REQUIRE(peer.send(3, "k"));
      }
      peer.shutdown_write();
      int got = 0;
      while (peer.read())
        ++got;
      BOOST_CHECK(peer.end() == tao::test::read_end::eof);
      // The store has answered every GET once the server stopped.
      stop(srv);
      caf::scoped_actor self{*sys};
      self->request(kv, 10s, set_atom::value, std::string{"sync"}, std::string{})
        .receive([] {}, [](caf::error&) {});
      BOOST_CHECK_EQUAL(*accepted + *refused, pairs);
      BOOST_CHECK_EQUAL(got, accepted->load());
      BOOST_TEST_MESSAGE(mode_name(mode) << ": " << *accepted << " replies delivered, " << *refused
                                         << " refused with errc::closed");
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
