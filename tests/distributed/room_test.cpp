#define BOOST_TEST_MODULE distributed_room
// Rooms of simulated nodes in one deterministic actor system (CAF's test
// coordinator and test multiplexer): each node is a tao server with its room;
// rooms talk through forwarding actors that stand in for BASP proxies: a cut
// link kills them (the rooms see DOWN), a healed link is a new pair.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include "tao/all.hpp"

#include "room.hpp"
#include "support/deterministic.hpp"

using namespace std::chrono_literals;
using tao::test::tlv;

namespace {

/// `(fw_reverse_atom, caf::actor)`: the forwarder of the other direction.
using fw_reverse_atom = caf::atom_constant<caf::atom("fw_rev")>;
/// `(fw_mode_atom, int)`: 0 forwards, 1 drops silently, 2 forwards twice.
using fw_mode_atom = caf::atom_constant<caf::atom("fw_mode")>;

struct forwarder_state {
  caf::actor reverse;
  int mode = 0;
  static inline const char* name = "test.forwarder";
};

/// Stands in for the BASP proxy of `to` on another node: forwards what it
/// gets, replacing the sender's room handle in hellos and welcomes by the reverse
/// forwarder (as BASP replaces a local handle by a proxy), and dies with
/// its target (as a proxy does when the node is gone).
caf::behavior forwarder(caf::stateful_actor<forwarder_state>* self, caf::actor to) {
  self->monitor(to);
  self->set_down_handler([self](caf::down_msg&) { self->quit(caf::sec::remote_linking_failed); });
  self->set_default_handler(
    [self, to](caf::scheduled_actor*, caf::message_view& x) -> caf::result<caf::message> {
      auto msg = x.move_content_to_message();
      if (msg.match_elements<chat_node::hello_atom, caf::actor, uint64_t, std::string,
                             std::vector<std::string>>())
        msg = caf::make_message(chat_node::hello_atom::value, self->state.reverse,
                                msg.get_as<uint64_t>(2), msg.get_as<std::string>(3),
                                msg.get_as<std::vector<std::string>>(4));
      else if (msg.match_elements<chat_node::welcome_atom, caf::actor, uint64_t, std::string,
                                  std::vector<std::string>>())
        msg = caf::make_message(chat_node::welcome_atom::value, self->state.reverse,
                                msg.get_as<uint64_t>(2), msg.get_as<std::string>(3),
                                msg.get_as<std::vector<std::string>>(4));
      if (self->state.mode == 1)
        return caf::message{};
      caf::anon_send(to, msg);
      if (self->state.mode == 2)
        caf::anon_send(to, msg);
      return caf::message{};
    });
  return {
    [self](fw_reverse_atom, const caf::actor& reverse) { self->state.reverse = reverse; },
    [self](fw_mode_atom, int mode) { self->state.mode = mode; },
  };
}

/// The frames of `bytes` that are not history (type 2), as bytes.
std::string live(const std::string& bytes) {
  std::string result;
  size_t pos = 0;
  while (pos + 8 <= bytes.size()) {
    auto type = tao::protocol::load_le32(bytes.data() + pos);
    auto len = tao::protocol::load_le32(bytes.data() + pos + 4);
    if (type != 2)
      result += bytes.substr(pos, 8 + len);
    pos += 8 + len;
  }
  return result;
}

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
  /// The wall clock of every room (ms), moved by `tick` and `start`.
  std::shared_ptr<int64_t> wall = std::make_shared<int64_t>(1'000'000);
  /// Forwarder pairs of the links, by (from, to) as passed to `link`.
  std::map<std::pair<size_t, size_t>, std::pair<caf::actor, caf::actor>> links;
  size_t retain_lines = 10000;
  size_t history_lines = 20;
  tao::metrics_ptr metrics;

  ~rooms_fixture() {
    for (auto& kvp : links) {
      caf::anon_send_exit(kvp.second.first, caf::exit_reason::kill);
      caf::anon_send_exit(kvp.second.second, caf::exit_reason::kill);
    }
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
          [log, who](chat_node::log_atom, const std::string& line) {
            log->push_back(who + ": " + line);
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
    *wall += 1000;
    node n;
    n.address = name;
    n.incarnation = next_incarnation++;
    chat_node::room_config rcfg;
    rcfg.incarnation = n.incarnation;
    rcfg.wall_clock = [w = wall] {
      return *w;
    };
    rcfg.retention.max_lines = retain_lines;
    rcfg.history_lines = history_lines;
    rcfg.metrics = metrics;
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

  /// What the linker does after connecting: hands (a proxy of) `to`'s room
  /// to `from`'s; `to` learns `from` from its hello.
  void link(size_t from, size_t to) {
    if (auto i = links.find({to, from}); i != links.end()) {
      caf::anon_send(nodes[from].room, chat_node::peer_atom::value, i->second.second);
      run();
      return;
    }
    if (auto i = links.find({from, to}); i != links.end()) {
      caf::anon_send(nodes[from].room, chat_node::peer_atom::value, i->second.first);
      run();
      return;
    }
    if (from == to) {
      caf::anon_send(nodes[from].room, chat_node::peer_atom::value, nodes[to].room);
      run();
      return;
    }
    auto there = sys.spawn(forwarder, nodes[to].room);
    auto back = sys.spawn(forwarder, nodes[from].room);
    caf::anon_send(there, fw_reverse_atom::value, back);
    caf::anon_send(back, fw_reverse_atom::value, there);
    links[{from, to}] = {there, back};
    run();
    caf::anon_send(nodes[from].room, chat_node::peer_atom::value, there);
    run();
  }

  /// The link made by `link(from, to)` drops: both rooms see DOWN and
  /// whatever was in flight is lost.
  void cut(size_t from, size_t to) {
    auto i = links.find({from, to});
    BOOST_REQUIRE(i != links.end());
    caf::anon_send_exit(i->second.first, caf::exit_reason::kill);
    caf::anon_send_exit(i->second.second, caf::exit_reason::kill);
    links.erase(i);
    run();
  }

  /// Sets the mode of both directions of a link (see `fw_mode_atom`).
  void mode(size_t from, size_t to, int m) {
    auto& fw = links.at({from, to});
    caf::anon_send(fw.first, fw_mode_atom::value, m);
    caf::anon_send(fw.second, fw_mode_atom::value, m);
    run();
  }

  /// Lets acks and replays run for `n` ack periods.
  void tick(int n = 1) {
    for (int i = 0; i < n; ++i) {
      *wall += 200;
      advance(200ms);
    }
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

  /// A client of node `i` that has joined the room (its join line came back
  /// after the history).
  caf::io::connection_handle client(size_t i) {
    auto hdl = connect(nodes[i].acceptor);
    send(hdl, tlv(1, "join\n"));
    BOOST_REQUIRE_EQUAL(live(take_output(hdl)), tlv(1, "join\n"));
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

BOOST_AUTO_TEST_CASE(a_link_lost_on_one_side_first_comes_back_on_both) {
  // What CAF 0.17's BASP did to node b of distributed_nodes after a thaw:
  // c reconnected to b while b still held c's old connection, c's hello
  // reached b's room through the old proxy of c (b counted c as linked and
  // did not answer), then b's BASP closed the old connection and killed that
  // proxy (b: peer down c). b's linker reconnected and said hello; c, which
  // had added b already, did not answer either: b never saw c again.
  auto a = start("a"), b = start("b");
  link(a, b);
  auto a1 = client(a), b1 = client(b);
  quiet();
  auto old = links.at({a, b});
  // a loses the link: its proxy of b dies; b's proxy of a lives on for now.
  caf::anon_send_exit(old.first, caf::exit_reason::kill);
  run();
  BOOST_CHECK(reported("a: down b 0"));
  // a's linker reconnects: a new proxy of b; b maps a to its old proxy.
  auto there = sys.spawn(forwarder, nodes[b].room);
  caf::anon_send(there, fw_reverse_atom::value, old.second);
  caf::anon_send(old.second, fw_reverse_atom::value, there);
  run();
  caf::anon_send(nodes[a].room, chat_node::peer_atom::value, there);
  run();
  BOOST_CHECK_EQUAL(stats(a).peers, 1u); // b answered a hello from a linked peer
  // Now b's old proxy of a dies (b: down a); b's linker reconnects.
  caf::anon_send_exit(old.second, caf::exit_reason::kill);
  run();
  BOOST_CHECK(reported("b: down a 0"));
  BOOST_CHECK_EQUAL(stats(b).peers, 0u);
  auto back = sys.spawn(forwarder, nodes[a].room);
  caf::anon_send(back, fw_reverse_atom::value, there);
  caf::anon_send(there, fw_reverse_atom::value, back);
  links[{a, b}] = {there, back};
  run();
  caf::anon_send(nodes[b].room, chat_node::peer_atom::value, back);
  run();
  BOOST_CHECK_EQUAL(stats(a).peers, 1u);
  BOOST_CHECK_EQUAL(stats(b).peers, 1u); // a answered too, though b was linked for it
  send(a1, lines("a1", 1, 3));
  send(b1, lines("b1", 1, 3));
  tick(3);
  BOOST_CHECK(from(frames(take_output(b1)), "a1") == expected("a1", 3));
  BOOST_CHECK(from(frames(take_output(a1)), "b1") == expected("b1", 3));
}

BOOST_AUTO_TEST_CASE(duplicated_messages_reach_clients_once) {
  auto a = start("a"), b = start("b");
  link(a, b);
  auto a1 = client(a), b1 = client(b);
  quiet();
  mode(a, b, 2); // every message between the rooms arrives twice
  send(a1, lines("a1", 1, 5));
  tick(3);
  BOOST_CHECK(frames(take_output(b1)) == expected("a1", 5));
  BOOST_CHECK_GE(stats(b).duplicates, 5u);
}

BOOST_AUTO_TEST_CASE(a_cut_link_is_replayed_in_order_after_the_heal) {
  auto a = start("a"), b = start("b"), c = start("c");
  link(a, b);
  link(b, c);
  link(c, a);
  auto a1 = client(a), b1 = client(b), c1 = client(c);
  quiet();
  send(a1, lines("a1", 1, 3));
  cut(b, c);
  cut(c, a);
  BOOST_CHECK(reported("c: down a 0"));
  send(a1, lines("a1", 4, 30));
  send(b1, lines("b1", 1, 10));
  send(c1, lines("c1", 1, 10));
  tick(5);
  BOOST_CHECK(from(frames(take_output(c1)), "a1") == expected("a1", 3));
  link(c, a);
  link(b, c);
  tick(2);
  auto at_c = frames(take_output(c1));
  auto all_a1 = expected("a1", 30);
  BOOST_CHECK(from(at_c, "a1") == std::vector<std::string>(all_a1.begin() + 3, all_a1.end()));
  BOOST_CHECK(from(at_c, "b1") == expected("b1", 10));
  for (auto hdl : {a1, b1}) {
    auto got = frames(take_output(hdl));
    BOOST_CHECK(from(got, "c1") == expected("c1", 10));
  }
  BOOST_CHECK_EQUAL(stats(c).duplicates, 0u);
  BOOST_CHECK_EQUAL(stats(c).gaps, 0u);
  BOOST_CHECK_EQUAL(stats(a).replayed + stats(b).replayed, 37u);
}

BOOST_AUTO_TEST_CASE(lines_lost_on_a_link_that_stays_up_are_recovered) {
  auto a = start("a"), b = start("b");
  link(a, b);
  auto a1 = client(a), b1 = client(b);
  quiet();
  mode(a, b, 1); // an alternative BASP route took over: lost, no DOWN
  send(a1, lines("a1", 1, 4));
  mode(a, b, 0);
  BOOST_CHECK(frames(take_output(b1)).empty());
  tick(2); // a's ack shows b what it misses
  BOOST_CHECK(frames(take_output(b1)) == expected("a1", 4));
  BOOST_CHECK_EQUAL(stats(b).peers, 1u);
}

BOOST_AUTO_TEST_CASE(a_gap_beyond_retention_reaches_clients_as_a_notice) {
  retain_lines = 5;
  auto a = start("a"), b = start("b");
  link(a, b);
  auto a1 = client(a), b1 = client(b);
  quiet();
  cut(a, b);
  send(a1, lines("a1", 1, 12));
  link(b, a);
  tick(2);
  auto got = frames(take_output(b1));
  BOOST_REQUIRE_EQUAL(got.size(), 6u);
  BOOST_CHECK_EQUAL(got[0], "*** missed 7 lines from node a\n");
  auto all_a1 = expected("a1", 12);
  BOOST_CHECK(std::vector<std::string>(got.begin() + 1, got.end())
              == std::vector<std::string>(all_a1.begin() + 7, all_a1.end()));
  BOOST_CHECK_EQUAL(stats(b).gaps, 1u);
  BOOST_CHECK_EQUAL(stats(b).missed, 7u);
}

BOOST_AUTO_TEST_CASE(a_joining_client_gets_history_before_live_lines) {
  history_lines = 3;
  auto a = start("a"), b = start("b");
  link(a, b);
  auto a1 = client(a);
  send(a1, lines("a1", 1, 5));
  auto hdl = connect(nodes[b].acceptor);
  send(a1, tlv(1, "live\n"));
  // History is type 2, so Tao's chat clients skip it.
  BOOST_CHECK_EQUAL(take_output(hdl),
                    tlv(2, "a1 3\n") + tlv(2, "a1 4\n") + tlv(2, "a1 5\n") + tlv(1, "live\n"));
}

BOOST_AUTO_TEST_CASE(metrics_count_replays_per_peer) {
  metrics = std::make_shared<tao::metrics>();
  auto a = start("a"), b = start("b");
  link(a, b);
  auto a1 = client(a);
  cut(a, b);
  send(a1, lines("a1", 1, 4));
  link(a, b);
  tick(2);
  auto text = metrics->text();
  BOOST_CHECK(text.find("chat_lines_replayed_total{peer=\"b\"} 4") != std::string::npos);
  // Both rooms publish into the one registry here: a delivered its 5, b too.
  BOOST_CHECK(text.find("chat_lines_delivered_total{origin=\"a\"} 10") != std::string::npos);
  BOOST_CHECK(text.find("chat_lines_retained{origin=\"a\"} 5") != std::string::npos);
  BOOST_CHECK(text.find("chat_gaps_announced_total{origin=\"a\"} 0") != std::string::npos);
  BOOST_CHECK(reported("a: replayed 4 lines of a to b"));
  BOOST_CHECK(text.find("chat_peer_linked{peer=\"a\"} 1") != std::string::npos);
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
