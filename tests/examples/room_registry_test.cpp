#define BOOST_TEST_MODULE examples_room_registry
// The room registry of examples/compose_with_caf on its own: an ordinary CAF
// actor on CAF's test coordinator (virtual time, no threads, no sockets).
// Its members are connection_refs whose "broker" is a plain actor collecting
// the bytes written to it, so no tao server is involved.

#include <memory>
#include <string>

#include <boost/test/unit_test.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include "tao/all.hpp"
#include "tao/net/atoms.hpp"
#include "tao/net/outbound_budget.hpp"

#include "room_registry.hpp"
#include "support/deterministic.hpp"
#include "token_bucket.hpp"

using namespace std::chrono_literals;
using tao::test::tlv;

namespace {

/// A member: a connection_ref onto a collecting actor, and the actor that
/// stands for its connection (the registry monitors it).
struct fake_member {
  tao::connection_ref ref;
  caf::actor connection_actor;
  std::shared_ptr<std::string> output;
};

struct registry_fixture : tao::test::deterministic_fixture {
  caf::actor registry;
  uint64_t next_id = 1;

  registry_fixture() {
    compose::registry_config rcfg;
    rcfg.rate = 1.0;
    rcfg.burst = 2.0;
    registry = compose::spawn_room_registry(sys, rcfg);
    run();
  }

  ~registry_fixture() {
    caf::anon_send_exit(registry, caf::exit_reason::user_shutdown);
    run();
  }

  fake_member member() {
    fake_member m;
    m.output = std::make_shared<std::string>();
    // Spawned with an argument each: CAF 0.17 dereferences a null argument
    // tuple for function-based actors spawned without one (UBSan reports it).
    auto broker = sys.spawn(
      [](caf::event_based_actor*, std::shared_ptr<std::string> out) -> caf::behavior {
        return {[out](tao::net::write_atom, const tao::protocol::byte_buffer& bytes) {
          out->append(bytes.begin(), bytes.end());
        }};
      },
      m.output);
    m.connection_actor = sys.spawn(
      [](caf::event_based_actor*, uint64_t) -> caf::behavior {
        return {[](int) {
        }};
      },
      next_id);
    auto budget = std::make_shared<tao::net::outbound_budget>(1u << 20, 1u << 19);
    m.ref = tao::connection_ref{next_id++,
                                broker,
                                m.connection_actor,
                                tao::protocol::default_codec(),
                                budget,
                                tao::overflow_policy::would_block};
    run();
    return m;
  }

  void join(const fake_member& m, const std::string& room, const std::string& name) {
    caf::anon_send(registry, compose::join_atom::value, room, name, m.ref);
    run();
  }

  void say(const fake_member& m, const std::string& text) {
    caf::anon_send(registry, compose::say_atom::value, m.ref.id(), text);
    run();
  }

  std::string take(const fake_member& m) {
    auto result = *m.output;
    m.output->clear();
    return result;
  }

  compose::registry_stats stats() {
    auto result = std::make_shared<compose::registry_stats>();
    sys.spawn(
      [result](caf::event_based_actor* self, caf::actor r) {
        self->request(r, caf::infinite, compose::room_stats_atom::value)
          .then([result](const compose::registry_stats& x) { *result = x; });
      },
      registry);
    run();
    return *result;
  }
};

} // namespace

BOOST_AUTO_TEST_CASE(token_bucket_refills_at_its_rate_up_to_the_burst) {
  tao::time_point t0{};
  compose::token_bucket b{2.0, 3.0, t0};
  BOOST_TEST(b.try_take(t0));
  BOOST_TEST(b.try_take(t0));
  BOOST_TEST(b.try_take(t0));
  BOOST_TEST(!b.try_take(t0));
  BOOST_TEST(!b.try_take(t0 + 400ms)); // 0.8 tokens
  BOOST_TEST(b.try_take(t0 + 500ms));  // 1.0
  BOOST_TEST(!b.try_take(t0 + 500ms));
  BOOST_TEST(b.try_take(t0 + 100s)); // capped at the burst: 3 in a row, not 200
  BOOST_TEST(b.try_take(t0 + 100s));
  BOOST_TEST(b.try_take(t0 + 100s));
  BOOST_TEST(!b.try_take(t0 + 100s));
}

BOOST_FIXTURE_TEST_SUITE(registry, registry_fixture)

BOOST_AUTO_TEST_CASE(a_line_reaches_every_member_of_the_room_only) {
  auto alice = member();
  auto bob = member();
  auto carol = member();
  join(alice, "lobby", "alice");
  join(bob, "lobby", "bob");
  join(carol, "garden", "carol");
  BOOST_TEST(take(alice) == tlv(3, "joined lobby"));
  BOOST_TEST(take(carol) == tlv(3, "joined garden"));
  take(bob);
  say(alice, "hi");
  BOOST_TEST(take(alice) == tlv(1, "alice: hi"));
  BOOST_TEST(take(bob) == tlv(1, "alice: hi"));
  BOOST_TEST(take(carol).empty());
  BOOST_TEST(stats().delivered == 1u);
  BOOST_TEST(stats().members == 3u);
}

BOOST_AUTO_TEST_CASE(a_room_over_its_rate_refuses_lines_until_tokens_come_back) {
  auto alice = member();
  auto bob = member();
  join(alice, "lobby", "alice");
  join(bob, "lobby", "bob");
  take(alice);
  take(bob);
  say(alice, "1");
  say(alice, "2");
  say(alice, "3"); // burst 2: refused
  BOOST_TEST(take(bob) == tlv(1, "alice: 1") + tlv(1, "alice: 2"));
  BOOST_TEST(take(alice) == tlv(1, "alice: 1") + tlv(1, "alice: 2") + tlv(3, "rate limited: 3"));
  advance(999ms);
  say(bob, "4");
  BOOST_TEST(take(bob) == tlv(3, "rate limited: 4"));
  advance(1ms); // one token per second
  say(bob, "5");
  BOOST_TEST(take(alice) == tlv(1, "bob: 5"));
  auto s = stats();
  BOOST_TEST(s.delivered == 3u);
  BOOST_TEST(s.rate_limited == 2u);
}

BOOST_AUTO_TEST_CASE(rooms_have_their_own_buckets) {
  auto alice = member();
  auto carol = member();
  join(alice, "lobby", "alice");
  join(carol, "garden", "carol");
  for (auto text : {"1", "2", "3"})
    say(alice, text);
  take(carol);
  say(carol, "flowers");
  BOOST_TEST(take(carol) == tlv(1, "carol: flowers"));
}

BOOST_AUTO_TEST_CASE(a_member_whose_connection_actor_ends_is_dropped) {
  auto alice = member();
  auto bob = member();
  join(alice, "lobby", "alice");
  join(bob, "lobby", "bob");
  BOOST_TEST(stats().members == 2u);
  caf::anon_send_exit(bob.connection_actor, caf::exit_reason::user_shutdown);
  run();
  BOOST_TEST(stats().members == 1u);
  take(bob);
  say(alice, "anyone?");
  BOOST_TEST(take(bob).empty());
}

BOOST_AUTO_TEST_CASE(joining_another_room_leaves_the_first) {
  auto alice = member();
  auto bob = member();
  join(alice, "lobby", "alice");
  join(bob, "lobby", "bob");
  join(bob, "garden", "bob");
  take(bob);
  say(alice, "still here?");
  BOOST_TEST(take(bob).empty());
  BOOST_TEST(stats().members == 2u);
}

BOOST_AUTO_TEST_CASE(lines_of_strangers_are_ignored) {
  auto alice = member();
  say(alice, "not in a room");
  BOOST_TEST(take(alice).empty());
  BOOST_TEST(stats().delivered == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
