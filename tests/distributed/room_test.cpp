#define BOOST_TEST_MODULE distributed_room
// Rooms of simulated nodes in one deterministic actor system (CAF's test
// coordinator and test multiplexer): each node is a tao server with its room;
// rooms talk through local actor handles, as they would through BASP proxies.

#include <memory>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include "tao/all.hpp"

#include "room.hpp"
#include "support/deterministic.hpp"

using namespace std::chrono_literals;
using chat_node::peer_line;
using tao::test::tlv;

namespace {

/// One simulated node: a chat server on the test multiplexer and its room.
struct node {
  std::string address;
  uint64_t incarnation = 0;
  caf::actor room;
  tao::server server;
  caf::io::accept_handle acceptor;
};

struct rooms_fixture : tao::test::deterministic_fixture {
  /// Reports of every room's observer, in order ("a: up b 1", ...).
  std::shared_ptr<std::vector<std::string>> reports = std::make_shared<std::vector<std::string>>();
  std::vector<node> nodes;
  std::vector<caf::io::connection_handle> clients;
  uint16_t next_port = 8081;
  uint64_t next_incarnation = 1;

  ~rooms_fixture() {
    for (auto& n : nodes)
      stop(n);
    run();
    advance(10s);
  }

  /// An observer that logs reports as "<name>: up|down|gossip ...".
  caf::actor observer(const std::string& name) {
    // Spawned with arguments: CAF 0.17 dereferences a null argument tuple
    // when a function actor takes none (UBSan: reference binding to null).
    using log_ptr = std::shared_ptr<std::vector<std::string>>;
    return sys.spawn(
      [](caf::event_based_actor*, log_ptr log, std::string who) -> caf::behavior {
        return {
          [log, who](chat_node::up_atom, const caf::actor&, const std::string& address, uint64_t,
                     size_t peers) {
            log->push_back(who + ": up " + address + " " + std::to_string(peers));
          },
          [log, who](chat_node::down_atom, const caf::actor_addr&, const std::string& address,
                     const caf::error&, size_t peers) {
            log->push_back(who + ": down " + address + " " + std::to_string(peers));
          },
          [log, who](chat_node::gossip_atom, const std::vector<std::string>& addresses) {
            std::string line = who + ": gossip";
            for (auto& a : addresses)
              line += " " + a;
            log->push_back(line);
          },
        };
      },
      reports, name);
  }

  /// Starts a node named `name` (also its address, unless `announced` is
  /// false: then the room learns it later by `node_atom`); returns its index.
  size_t start(const std::string& name, bool announced = true) {
    node n;
    n.address = name;
    n.incarnation = next_incarnation++;
    chat_node::room_config rcfg;
    rcfg.incarnation = n.incarnation;
    if (announced) {
      rcfg.address = name;
      rcfg.observer = observer(name);
    }
    n.room = chat_node::spawn_room(sys, rcfg);
    auto port = next_port++;
    n.acceptor = provide_acceptor(port);
    tao::server_options opts;
    opts.port = port;
    BOOST_REQUIRE(!chat_node::serve_room(opts, n.room));
    auto srv = tao::server::start(sys, std::move(opts));
    BOOST_REQUIRE(srv);
    n.server = *srv;
    nodes.push_back(std::move(n));
    run();
    return nodes.size() - 1;
  }

  /// What the linker does after connecting: hands `to`'s room to `from`'s.
  void link(size_t from, size_t to) {
    caf::anon_send(nodes[from].room, chat_node::peer_atom::value, nodes[to].room);
    run();
  }

  /// The node dies: its room is gone (peers see DOWN, as after BASP's
  /// connection timeout) and so are its clients' connections.
  void kill(size_t i) {
    caf::anon_send_exit(nodes[i].room, caf::exit_reason::kill);
    stop(nodes[i]);
    run();
  }

  void stop(node& n) {
    if (n.server) {
      n.server.stop();
      n.server = {};
      caf::anon_send_exit(n.room, caf::exit_reason::user_shutdown);
    }
  }

  chat_node::room_stats stats(size_t i) {
    auto result = std::make_shared<chat_node::room_stats>();
    sys.spawn(
      [result](caf::event_based_actor* self, caf::actor room) {
        self->request(room, caf::infinite, chat_node::room_stats_atom::value)
          .then([result](const chat_node::room_stats& x) { *result = x; });
      },
      nodes[i].room);
    run();
    return *result;
  }

  /// A client of node `i` that has joined the room (its join line came back).
  caf::io::connection_handle client(size_t i) {
    auto hdl = connect(nodes[i].acceptor);
    send(hdl, tlv(1, "join\n"));
    BOOST_REQUIRE_EQUAL(take_output(hdl), tlv(1, "join\n"));
    clients.push_back(hdl);
    return hdl;
  }

  /// Forgets what every client received so far (other clients' join lines).
  void quiet() {
    for (auto hdl : clients)
      take_output(hdl);
  }

  bool reported(const std::string& line) const {
    return std::find(reports->begin(), reports->end(), line) != reports->end();
  }
};

std::string lines(const std::string& who, int from, int to) {
  std::string result;
  for (int i = from; i <= to; ++i)
    result += tlv(1, who + " " + std::to_string(i) + "\n");
  return result;
}

/// Splits TLV output into one string per frame payload.
std::vector<std::string> frames(const std::string& bytes) {
  std::vector<std::string> result;
  size_t pos = 0;
  while (pos + 8 <= bytes.size()) {
    auto len = tao::protocol::load_le32(bytes.data() + pos + 4);
    result.push_back(bytes.substr(pos + 8, len));
    pos += 8 + len;
  }
  return result;
}

/// The payloads in `got` that start with `who `, in order.
std::vector<std::string> from(const std::vector<std::string>& got, const std::string& who) {
  std::vector<std::string> result;
  for (auto& x : got)
    if (x.rfind(who + " ", 0) == 0)
      result.push_back(x);
  return result;
}

std::vector<std::string> expected(const std::string& who, int n) {
  std::vector<std::string> result;
  for (int i = 1; i <= n; ++i)
    result.push_back(who + " " + std::to_string(i) + "\n");
  return result;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(distributed_room, rooms_fixture)

BOOST_AUTO_TEST_CASE(a_line_reaches_every_client_of_every_node_once) {
  auto a = start("a"), b = start("b"), c = start("c");
  link(a, b);
  link(b, c);
  link(c, a);
  auto a1 = client(a), a2 = client(a), b1 = client(b), c1 = client(c);
  quiet();
  send(b1, tlv(1, "hello from b\n"));
  for (auto hdl : {a1, a2, b1, c1})
    BOOST_CHECK_EQUAL(take_output(hdl), tlv(1, "hello from b\n"));
  for (auto i : {a, b, c}) {
    BOOST_CHECK_EQUAL(stats(i).peers, 2u);
    BOOST_CHECK_EQUAL(stats(i).duplicates, 0u);
  }
  BOOST_CHECK_EQUAL(stats(b).said, 2u);     // b1's join line, hello
  BOOST_CHECK_EQUAL(stats(a).received, 3u); // b1's and c1's join lines, hello
}

BOOST_AUTO_TEST_CASE(links_are_symmetric_and_gossip_known_nodes) {
  auto a = start("a"), b = start("b"), c = start("c");
  link(a, b); // a reached b: both are peers now
  BOOST_CHECK(reported("a: up b 1"));
  BOOST_CHECK(reported("b: up a 1"));
  link(c, b); // c learns from b's hello that b knows a
  BOOST_CHECK(reported("c: gossip a"));
  BOOST_CHECK_EQUAL(stats(a).peers, 1u);
  BOOST_CHECK_EQUAL(stats(b).peers, 2u);
  link(b, c); // linking twice changes nothing
  link(c, c); // nor linking to itself
  BOOST_CHECK_EQUAL(stats(b).peers, 2u);
  BOOST_CHECK_EQUAL(stats(c).peers, 1u);
}

BOOST_AUTO_TEST_CASE(hellos_wait_until_the_room_knows_its_address) {
  auto a = start("a");
  auto b = start("b", false); // published, but not yet told its address
  link(a, b);
  BOOST_CHECK(!reported("a: up b 1"));
  BOOST_CHECK_EQUAL(stats(b).peers, 0u);
  caf::anon_send(nodes[b].room, chat_node::node_atom::value, std::string{"b"}, observer("b"));
  run();
  BOOST_CHECK(reported("a: up b 1"));
  BOOST_CHECK(reported("b: up a 1"));
}

BOOST_AUTO_TEST_CASE(each_clients_lines_arrive_everywhere_in_order) {
  auto a = start("a"), b = start("b"), c = start("c");
  link(a, b);
  link(a, c);
  link(b, c);
  auto a1 = client(a), b1 = client(b), c1 = client(c);
  quiet();
  // Interleave two senders: 40 lines each, a's in one read, b's in four.
  auto xs = lines("a1", 1, 40);
  send(a1, xs);
  for (int k = 0; k < 4; ++k)
    send(b1, lines("b1", k * 10 + 1, k * 10 + 10));
  for (auto hdl : {a1, b1, c1}) {
    auto got = frames(take_output(hdl));
    BOOST_CHECK_EQUAL(got.size(), 80u);
    BOOST_CHECK(from(got, "a1") == expected("a1", 40));
    BOOST_CHECK(from(got, "b1") == expected("b1", 40));
  }
}

BOOST_AUTO_TEST_CASE(a_dead_node_is_dropped_without_disturbing_the_rest) {
  auto a = start("a"), b = start("b"), c = start("c");
  link(a, b);
  link(a, c);
  link(b, c);
  auto a1 = client(a), c1 = client(c);
  quiet();
  kill(b);
  BOOST_CHECK(reported("a: down b 1"));
  BOOST_CHECK(reported("c: down b 1"));
  send(c1, tlv(1, "still here\n"));
  BOOST_CHECK_EQUAL(take_output(a1), tlv(1, "still here\n"));
  BOOST_CHECK_EQUAL(take_output(c1), tlv(1, "still here\n"));
  BOOST_CHECK_EQUAL(stats(a).peers, 1u);
}

BOOST_AUTO_TEST_CASE(a_restarted_node_rejoins_and_gets_new_lines_only) {
  auto a = start("a"), b = start("b");
  link(a, b);
  auto a1 = client(a), b1 = client(b);
  send(b1, lines("b1", 1, 3));
  kill(b);
  send(a1, tlv(1, "while b is down\n"));
  // b comes back: a new incarnation whose counter starts at 1 again.
  auto b2 = start("b");
  link(b2, a);
  BOOST_CHECK(reported("a: up b 1"));
  auto b2c = client(b2);
  quiet();
  send(b2c, lines("b2", 1, 3));
  auto got = frames(take_output(a1));
  BOOST_CHECK(got == expected("b2", 3)); // not dropped as "seen" by b's old counter
  BOOST_CHECK(from(frames(take_output(b2c)), "while").empty());
  BOOST_CHECK_EQUAL(stats(a).duplicates, 0u);
}

BOOST_AUTO_TEST_CASE(a_line_seen_again_is_dropped) {
  auto a = start("a");
  auto a1 = client(a);
  auto line = [](uint64_t seq, std::string text) {
    return peer_line{77, seq, std::move(text)};
  };
  // What a peer that rejoined after a freeze could resend, and stale lines.
  for (auto& x :
       {line(1, "one\n"), line(2, "two\n"), line(2, "two\n"), line(1, "one\n"), line(3, "three\n")})
    caf::anon_send(nodes[a].room, x);
  run();
  BOOST_CHECK_EQUAL(take_output(a1), tlv(1, "one\n") + tlv(1, "two\n") + tlv(1, "three\n"));
  BOOST_CHECK_EQUAL(stats(a).duplicates, 2u);
  BOOST_CHECK_EQUAL(stats(a).received, 3u);
}

BOOST_AUTO_TEST_CASE(clients_that_leave_are_dropped) {
  auto a = start("a");
  auto a1 = client(a), a2 = client(a);
  BOOST_CHECK_EQUAL(stats(a).members, 2u);
  peer_close(a2);
  BOOST_CHECK_EQUAL(stats(a).members, 1u);
  quiet();
  send(a1, tlv(1, "alone\n"));
  BOOST_CHECK_EQUAL(take_output(a1), tlv(1, "alone\n"));
}

BOOST_AUTO_TEST_SUITE_END()
