#define BOOST_TEST_MODULE actors_requests
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "tao/all.hpp"

#include "actors/deterministic_server.hpp"

// Handlers asking other actors (`c.request(dest, timeout, xs...).then(...)`)
// on CAF's deterministic scheduler, in both dispatch modes: ordered replies
// keep the order of the requests whatever order the answers come in,
// unordered ones do not wait, timeouts reach on_error, and a pending request
// keeps a half-closed or closing connection open.

using namespace std::chrono_literals;
using tao::protocol::errc;
using tao::test::for_each_dispatch;
using tao::test::server_fixture;
using tao::test::tlv;

namespace {

using get_request = tao::protocol::text_message<3>; // "key"
using get_reply = tao::protocol::text_message<4>;   // "key=value"
using get_atom = caf::atom_constant<caf::atom("get")>;
using hang_atom = caf::atom_constant<caf::atom("hang")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;

/// A store that answers keys ending in an even digit at once and holds the
/// others until 1 ms later, then answers them last first: answers come back
/// in another order than asked. `hang` is never answered.
using store_actor =
  caf::typed_actor<caf::replies_to<get_atom, std::string>::with<std::string>,
                   caf::replies_to<hang_atom>::with<std::string>, caf::reacts_to<flush_atom>>;

struct store_state {
  std::vector<std::pair<caf::typed_response_promise<std::string>, std::string>> held;
  std::vector<caf::typed_response_promise<std::string>> hung;
};

store_actor::behavior_type store(store_actor::stateful_pointer<store_state> self) {
  return {
    [self](get_atom, const std::string& key) -> caf::result<std::string> {
      auto value = key + "=v" + key;
      if (!key.empty() && (key.back() - '0') % 2 == 0)
        return value;
      if (self->state.held.empty())
        self->delayed_send(self, 1ms, flush_atom::value);
      auto rp = self->make_response_promise<std::string>();
      self->state.held.emplace_back(rp, value);
      return rp;
    },
    [self](hang_atom) -> caf::result<std::string> {
      auto rp = self->make_response_promise<std::string>();
      self->state.hung.push_back(rp);
      return rp;
    },
    [self](flush_atom) {
      auto held = std::move(self->state.held);
      self->state.held.clear();
      std::reverse(held.begin(), held.end());
      for (auto& [rp, value] : held)
        rp.deliver(value);
    },
  };
}

/// Options whose GET handler asks `kv`, ordered or not.
tao::server_options kv_options(server_fixture& fix, store_actor kv, bool ordered) {
  auto opts = fix.options();
  opts.handlers = tao::handlers{};
  BOOST_REQUIRE(
    !opts.handlers.on<get_request>([kv, ordered](tao::connection& c, const get_request& m) {
      auto on_answer = [](tao::connection& x, const std::string& v) {
        BOOST_CHECK(!x.write(get_reply{v}));
      };
      if (ordered)
        c.request(kv, 1s, get_atom::value, m.text).then(on_answer);
      else
        c.request(kv, 1s, get_atom::value, m.text).then_unordered(on_answer);
    }));
  return opts;
}

std::string gets(int n) {
  std::string burst;
  for (int i = 0; i < n; ++i)
    burst += tlv(3, std::to_string(i));
  return burst;
}

std::vector<std::string> replies(tao::test::scripted_peer& peer) {
  std::vector<std::string> result;
  while (peer.pending() > 0)
    result.push_back(peer.receive<get_reply>().text);
  return result;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_thousand_pipelined_gets_are_answered_in_order) {
  for_each_dispatch([](server_fixture& fix) {
    auto kv = fix.sys.spawn(store);
    fix.start(kv_options(fix, kv, true));
    tao::test::scripted_peer peer{fix, fix.connect(fix.acc)};
    peer.send_bytes(gets(1000));
    for (int i = 0; i < 1000 && peer.pending() < 1000; ++i)
      fix.advance(1ms);
    auto got = replies(peer);
    BOOST_REQUIRE_EQUAL(got.size(), 1000u);
    for (int i = 0; i < 1000; ++i)
      BOOST_CHECK_EQUAL(got[static_cast<size_t>(i)], std::to_string(i) + "=v" + std::to_string(i));
    caf::anon_send_exit(kv, caf::exit_reason::user_shutdown);
  });
}

BOOST_AUTO_TEST_CASE(unordered_requests_let_frames_go_on_and_answer_as_they_come) {
  for_each_dispatch([](server_fixture& fix) {
    auto kv = fix.sys.spawn(store);
    fix.start(kv_options(fix, kv, false));
    tao::test::scripted_peer peer{fix, fix.connect(fix.acc)};
    peer.send_bytes(gets(4));
    // Every frame was handled at once: the even keys are answered already.
    BOOST_CHECK((replies(peer) == std::vector<std::string>{"0=v0", "2=v2"}));
    fix.advance(1ms);
    BOOST_CHECK((replies(peer) == std::vector<std::string>{"3=v3", "1=v1"}));
    caf::anon_send_exit(kv, caf::exit_reason::user_shutdown);
  });
}

BOOST_AUTO_TEST_CASE(a_request_timeout_reaches_on_error_and_frames_go_on) {
  for_each_dispatch([](server_fixture& fix) {
    auto kv = fix.sys.spawn(store);
    auto opts = fix.options();
    opts.handlers = tao::handlers{};
    std::vector<std::string> errors;
    BOOST_REQUIRE(
      !opts.handlers.on<get_request>([kv, &errors](tao::connection& c, const get_request& m) {
        if (m.text == "hang")
          c.request(kv, 2s, hang_atom::value)
            .then([](tao::connection&, const std::string&) { BOOST_FAIL("answered"); },
                  [&errors](tao::connection& x, const caf::error& err) {
                    errors.push_back(caf::to_string(err));
                    BOOST_CHECK(!x.write(get_reply{"timeout"}));
                  });
        else
          BOOST_CHECK(!c.write(get_reply{m.text}));
      }));
    fix.start(std::move(opts));
    tao::test::scripted_peer peer{fix, fix.connect(fix.acc)};
    peer.send(get_request{"hang"}).send(get_request{"after"});
    peer.expect_nothing(); // "after" waits behind the unanswered request
    fix.advance(1999ms);
    peer.expect_nothing();
    fix.advance(1ms);
    BOOST_REQUIRE_EQUAL(errors.size(), 1u);
    BOOST_CHECK(errors[0].find("request_timeout") != std::string::npos);
    peer.expect(get_reply{"timeout"}).expect(get_reply{"after"});
    caf::anon_send_exit(kv, caf::exit_reason::user_shutdown);
  });
}

BOOST_AUTO_TEST_CASE(without_an_error_handler_errors_go_to_on_error) {
  for_each_dispatch([](server_fixture& fix) {
    auto kv = fix.sys.spawn(store);
    auto opts = fix.options();
    opts.handlers = tao::handlers{};
    BOOST_REQUIRE(!opts.handlers.on<get_request>([kv](tao::connection& c, const get_request&) {
      c.request(kv, 1s, hang_atom::value).then([](tao::connection&, const std::string&) {});
    }));
    std::vector<std::string> errors;
    opts.on_error = [&errors](tao::connection&, const caf::error& err) {
      errors.push_back(caf::to_string(err));
    };
    fix.start(std::move(opts));
    auto conn = fix.connect(fix.acc);
    fix.send(conn, tlv(3, "x"));
    fix.advance(999ms);
    BOOST_CHECK(errors.empty());
    fix.advance(1ms);
    BOOST_REQUIRE_EQUAL(errors.size(), 1u);
    BOOST_CHECK(errors[0].find("request_timeout") != std::string::npos);
    caf::anon_send_exit(kv, caf::exit_reason::user_shutdown);
  });
}

BOOST_AUTO_TEST_CASE(a_request_pending_at_half_close_is_answered_before_the_fin) {
  for_each_dispatch([](server_fixture& fix) {
    auto kv = fix.sys.spawn(store);
    fix.start(kv_options(fix, kv, true));
    tao::test::scripted_peer peer{fix, fix.connect(fix.acc)};
    peer.send_bytes(gets(3)).close();
    BOOST_CHECK((replies(peer) == std::vector<std::string>{"0=v0"}));
    BOOST_CHECK(!peer.closed_by_tao()); // it owes two replies
    fix.advance(1ms);                   // "1" answered; "2" at once after it
    BOOST_CHECK((replies(peer) == std::vector<std::string>{"1=v1", "2=v2"}));
    BOOST_CHECK(peer.closed_by_tao());
    BOOST_CHECK_EQUAL(fix.count("close none"), 1u);
    caf::anon_send_exit(kv, caf::exit_reason::user_shutdown);
  });
}

BOOST_AUTO_TEST_CASE(a_graceful_close_waits_for_a_pending_request_within_the_drain_timeout) {
  for_each_dispatch([](server_fixture& fix) {
    auto kv = fix.sys.spawn(store);
    auto opts = fix.options();
    opts.drain_timeout = 5s;
    opts.handlers = tao::handlers{};
    BOOST_REQUIRE(!opts.handlers.on<get_request>([kv](tao::connection& c, const get_request& m) {
      (void)m;
      c.request(kv, 10s, hang_atom::value).then([](tao::connection&, const std::string&) {});
      c.close();
    }));
    fix.start(std::move(opts));
    tao::test::scripted_peer peer{fix, fix.connect(fix.acc)};
    peer.send(get_request{"hang"});
    BOOST_CHECK(!peer.closed_by_tao());
    fix.advance(4s);
    BOOST_CHECK(!peer.closed_by_tao());
    fix.advance(1s); // the drain timeout bounds the wait
    BOOST_CHECK(peer.closed_by_tao());
    BOOST_CHECK_EQUAL(fix.log.size(), 1u); // closed once
    caf::anon_send_exit(kv, caf::exit_reason::user_shutdown);
  });
}
