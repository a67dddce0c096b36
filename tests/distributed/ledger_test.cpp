#define BOOST_TEST_MODULE distributed_ledger
// The delivery ledger of chat nodes, step by step on a simulated network
// (ledger_sim.hpp): no actors, no clocks, no sockets. Links are cut and
// healed, messages lost, nodes killed and restarted; every node's clients
// must get every line once, in the order said, or a notice of what was
// missed.

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "ledger.hpp"
#include "ledger_sim.hpp"

using namespace std::chrono_literals;
using chat_node::ledger_config;
using chat_node::peer_ack;
using chat_node::peer_lines;
using chat_node::retained_lines;
using chat_node::retention_limits;
using chat_node::test::ledger_sim;

namespace {

std::string line(const std::string& who, int k) {
  return who + " " + std::to_string(k) + "\n";
}

/// The numbers of the lines of sender `who` in `log`, in order.
std::vector<int> numbers(const std::vector<std::string>& log, const std::string& who) {
  std::vector<int> result;
  for (auto& x : log)
    if (x.rfind(who + " ", 0) == 0)
      result.push_back(std::stoi(x.substr(who.size() + 1)));
  return result;
}

std::vector<int> range(int from, int to) {
  std::vector<int> result;
  for (int i = from; i <= to; ++i)
    result.push_back(i);
  return result;
}

/// Notices in `log`.
std::vector<std::string> notices(const std::vector<std::string>& log) {
  std::vector<std::string> result;
  for (auto& x : log)
    if (x.rfind("*** ", 0) == 0)
      result.push_back(x);
  return result;
}

struct sim_fixture {
  ledger_sim net;

  void mesh(const std::vector<std::string>& names) {
    for (auto& n : names)
      if (!net.alive(n))
        net.start(n);
    for (size_t i = 0; i < names.size(); ++i)
      for (size_t j = i + 1; j < names.size(); ++j)
        net.link(names[i], names[j]);
    net.run();
    net.tick();
  }

  void say(const std::string& node, const std::string& who, int from, int to) {
    for (int k = from; k <= to; ++k)
      net.say(node, line(who, k));
  }

  void settle(int ticks = 10) {
    for (int i = 0; i < ticks; ++i)
      net.tick();
  }
};

} // namespace

BOOST_AUTO_TEST_SUITE(retention)

BOOST_AUTO_TEST_CASE(keeps_the_newest_lines_within_count_and_bytes) {
  retained_lines log{retention_limits{3, 1 << 20}};
  for (uint64_t seq = 1; seq <= 5; ++seq)
    log.append(seq, static_cast<int64_t>(seq * 10), "x");
  BOOST_CHECK_EQUAL(log.size(), 3u);
  BOOST_CHECK_EQUAL(log.first_seq(), 3u);
  BOOST_CHECK_EQUAL(log.last_seq(), 5u);
  BOOST_CHECK_EQUAL(log.trimmed_seq(), 2u);
  BOOST_CHECK_EQUAL(log.trimmed_ts(), 20);
  BOOST_CHECK(log.find(2) == nullptr);
  BOOST_CHECK_EQUAL(log.find(4)->ts, 40);
  BOOST_CHECK_EQUAL(log.first_at_or_after(35), 4u);
  BOOST_CHECK_EQUAL(log.first_at_or_after(99), 6u);
  auto per_line = 100 + retained_lines::line_overhead;
  retained_lines small{retention_limits{1000, 2 * per_line}};
  for (uint64_t seq = 1; seq <= 4; ++seq)
    small.append(seq, 0, std::string(100, 'y'));
  BOOST_CHECK_EQUAL(small.size(), 2u);
  BOOST_CHECK_EQUAL(small.bytes(), 2 * per_line);
  small.append(5, 0, std::string(10000, 'z')); // larger than the bound: kept alone
  BOOST_CHECK_EQUAL(small.size(), 1u);
  small.reset(9, 77);
  BOOST_CHECK_EQUAL(small.size(), 0u);
  BOOST_CHECK_EQUAL(small.first_seq(), 10u);
  BOOST_CHECK_EQUAL(small.trimmed_ts(), 77);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(ledger, sim_fixture)

BOOST_AUTO_TEST_CASE(lines_reach_every_node_once_in_order) {
  mesh({"a", "b", "c"});
  // The first contact with each origin is a request for its start.
  BOOST_CHECK_EQUAL(net.node("c").totals().nacks, 2u);
  say("a", "a1", 1, 20);
  say("b", "b1", 1, 20);
  net.run();
  for (auto n : {"a", "b", "c"}) {
    BOOST_CHECK(numbers(net.client_log[n], "a1") == range(1, 20));
    BOOST_CHECK(numbers(net.client_log[n], "b1") == range(1, 20));
  }
  settle();
  BOOST_CHECK_EQUAL(net.node("c").totals().nacks, 2u);
  BOOST_CHECK_EQUAL(net.node("c").totals().duplicates, 0u);
  BOOST_CHECK_EQUAL(net.node("a").totals().replayed, 0u);
}

BOOST_AUTO_TEST_CASE(a_partitioned_node_gets_exactly_the_gap_after_the_heal) {
  mesh({"a", "b", "c"});
  say("a", "a1", 1, 5);
  net.run();
  net.cut("c", "a");
  net.cut("c", "b");
  say("a", "a1", 6, 105);
  say("b", "b1", 1, 50);
  say("c", "c1", 1, 30);
  net.run();
  settle(3);
  BOOST_CHECK(numbers(net.client_log["c"], "a1") == range(1, 5));
  net.link("c", "a");
  net.link("c", "b");
  settle(3);
  for (auto n : {"a", "b", "c"}) {
    BOOST_CHECK(numbers(net.client_log[n], "a1") == range(1, 105));
    BOOST_CHECK(numbers(net.client_log[n], "b1") == range(1, 50));
    BOOST_CHECK(numbers(net.client_log[n], "c1") == range(1, 30));
    BOOST_CHECK(notices(net.client_log[n]).empty());
  }
  // Exactly the gap: 100 lines of a and 50 of b to c, 30 of c to each.
  BOOST_CHECK_EQUAL(net.node("a").peer_stats()["c"].replayed, 100u);
  BOOST_CHECK_EQUAL(net.node("b").peer_stats()["c"].replayed, 50u);
  BOOST_CHECK_EQUAL(net.node("c").peer_stats()["a"].replayed, 30u);
  BOOST_CHECK_EQUAL(net.node("c").totals().duplicates, 0u);
}

BOOST_AUTO_TEST_CASE(a_split_heals_both_ways) {
  mesh({"a", "b", "c", "d"});
  for (auto x : {"a", "b"})
    for (auto y : {"c", "d"})
      net.cut(x, y);
  say("a", "a1", 1, 40);
  say("d", "d1", 1, 40);
  net.run();
  BOOST_CHECK(numbers(net.client_log["b"], "a1") == range(1, 40));
  BOOST_CHECK(numbers(net.client_log["c"], "a1").empty());
  for (auto x : {"a", "b"})
    for (auto y : {"c", "d"})
      net.link(x, y);
  settle(3);
  for (auto n : {"a", "b", "c", "d"}) {
    BOOST_CHECK(numbers(net.client_log[n], "a1") == range(1, 40));
    BOOST_CHECK(numbers(net.client_log[n], "d1") == range(1, 40));
  }
}

BOOST_AUTO_TEST_CASE(lines_lost_without_a_link_loss_are_asked_again) {
  mesh({"a", "b"});
  say("a", "a1", 1, 10);
  net.lose_in_flight("a", "b"); // an alternative BASP route took over
  say("a", "a1", 11, 12);
  net.run();
  // b saw 11 without 1..10: it dropped 11 and 12 and asked a for the rest.
  BOOST_CHECK(numbers(net.client_log["b"], "a1") == range(1, 12));
  BOOST_CHECK_EQUAL(net.node("b").totals().out_of_order, 2u);
  // The last lines lost with nothing after them: a's ack tells b.
  say("a", "a1", 13, 15);
  net.lose_in_flight("a", "b");
  net.run();
  BOOST_CHECK(numbers(net.client_log["b"], "a1") == range(1, 12));
  net.tick();
  BOOST_CHECK(numbers(net.client_log["b"], "a1") == range(1, 15));
  BOOST_CHECK_EQUAL(net.node("b").totals().duplicates, 0u);
}

BOOST_AUTO_TEST_CASE(one_replay_at_a_time_per_origin) {
  mesh({"a", "b"});
  auto first_contact = net.node("b").totals().nacks;
  net.cut("a", "b");
  say("a", "a1", 1, 1000);
  net.link("a", "b");
  // Acks cross and b asks once; further acks while the replay is under way
  // ask nothing more.
  net.run(2);
  net.tick();
  net.tick();
  settle();
  BOOST_CHECK(numbers(net.client_log["b"], "a1") == range(1, 1000));
  BOOST_CHECK_EQUAL(net.node("b").totals().nacks, first_contact + 1);
  BOOST_CHECK_EQUAL(net.node("a").totals().replayed, 1000u);
  BOOST_CHECK_EQUAL(net.node("b").totals().duplicates, 0u);
}

BOOST_AUTO_TEST_CASE(a_gap_beyond_retention_is_announced_with_its_size) {
  net.defaults.retention = retention_limits{50, 1 << 20};
  mesh({"a", "b"});
  say("a", "a1", 1, 10);
  net.run();
  net.cut("a", "b");
  say("a", "a1", 11, 130); // 120 lines, 50 retained: 70 are gone
  net.link("a", "b");
  settle(3);
  auto got = numbers(net.client_log["b"], "a1");
  BOOST_CHECK(got.size() == 60u);
  BOOST_CHECK(std::is_sorted(got.begin(), got.end()));
  BOOST_CHECK_EQUAL(got[10], 81);
  auto ns = notices(net.client_log["b"]);
  BOOST_REQUIRE_EQUAL(ns.size(), 1u);
  BOOST_CHECK_EQUAL(ns[0], "*** missed 70 lines from node a\n");
  // The notice sits where the lines are missing.
  auto& log = net.client_log["b"];
  auto at = std::find(log.begin(), log.end(), ns[0]);
  BOOST_CHECK(*(at - 1) == line("a1", 10));
  BOOST_CHECK(*(at + 1) == line("a1", 81));
  BOOST_CHECK_EQUAL(net.node("b").origin_stats()["a"].gaps, 1u);
  BOOST_CHECK_EQUAL(net.node("b").origin_stats()["a"].missed, 70u);
  BOOST_CHECK(notices(net.client_log["a"]).empty());
}

BOOST_AUTO_TEST_CASE(a_new_node_gets_the_lines_said_since_it_started) {
  mesh({"a", "b"});
  say("a", "a1", 1, 30);
  net.run();
  net.tick(1000ms);
  net.start("c");
  say("a", "a1", 31, 40); // said after c started, before c is linked
  net.tick(1000ms);
  net.link("c", "b"); // b knows a, but c asks only origins themselves first
  net.link("c", "a");
  settle(3);
  BOOST_CHECK(numbers(net.client_log["c"], "a1") == range(31, 40));
  say("c", "c1", 1, 3);
  net.run();
  BOOST_CHECK(numbers(net.client_log["a"], "c1") == range(1, 3));
  BOOST_CHECK(notices(net.client_log["c"]).empty());
}

BOOST_AUTO_TEST_CASE(a_restarted_node_is_a_new_origin_and_replays_nothing_old) {
  net.defaults.superseded_ttl = 5s;
  mesh({"a", "b", "c"});
  say("b", "b1", 1, 10);
  net.run();
  net.kill("b");
  say("a", "a1", 1, 5); // said while b is down: not owed to the new b
  net.run();
  net.tick(1000ms);
  net.start("b");
  say("b", "b2", 1, 5); // said before b is linked: owed to a and c
  mesh({"a", "b", "c"});
  settle(3);
  for (auto n : {"a", "c"}) {
    BOOST_CHECK(numbers(net.client_log[n], "b1") == range(1, 10));
    BOOST_CHECK(numbers(net.client_log[n], "b2") == range(1, 5));
  }
  auto bs = net.client_log["b"];
  BOOST_CHECK(numbers(bs, "b1") == range(1, 10)); // the old b's clients, before the kill
  BOOST_CHECK(numbers(bs, "a1").empty());
  BOOST_CHECK_EQUAL(net.node("a").totals().duplicates, 0u);
  // The old incarnation's lines are dropped once superseded for 5 s.
  BOOST_CHECK_EQUAL(net.node("a").origin_stats()["b"].retained, 15u);
  settle(30);
  BOOST_CHECK_EQUAL(net.node("a").origin_stats()["b"].retained, 5u);
}

BOOST_AUTO_TEST_CASE(survivors_agree_on_what_a_killed_node_said) {
  mesh({"a", "b", "c"});
  say("b", "b1", 1, 10);
  net.run();
  // b's last lines reach a but not c before b dies.
  say("b", "b1", 11, 15);
  net.lose_in_flight("b", "c");
  net.run();
  net.kill("b");
  BOOST_CHECK(numbers(net.client_log["c"], "b1") == range(1, 10));
  settle(3); // c sees a ahead on b's lines, b unlinked: a relays
  BOOST_CHECK(numbers(net.client_log["c"], "b1") == range(1, 15));
  BOOST_CHECK_EQUAL(net.node("a").peer_stats()["c"].replayed, 5u);
}

BOOST_AUTO_TEST_CASE(a_relay_never_serves_lines_it_was_not_owed) {
  mesh({"a", "b"});
  say("a", "a1", 1, 20);
  net.run();
  net.tick(1000ms);
  net.start("c"); // c knows a from line 20 on
  net.link("c", "a");
  settle(2);
  net.cut("a", "b");
  say("a", "a1", 21, 30);
  net.run();
  net.kill("a");
  net.link("b", "c");
  settle(3);
  // b is behind at 20; c started after line 20 and holds 21..30: it relays.
  BOOST_CHECK(numbers(net.client_log["b"], "a1") == range(1, 30));
  auto c_base = net.node("c").peer_stats()["b"].replayed;
  BOOST_CHECK_EQUAL(c_base, 10u);
}

BOOST_AUTO_TEST_CASE(replays_from_a_peer_that_goes_down_are_asked_elsewhere) {
  mesh({"a", "b", "c"});
  net.cut("a", "c");
  net.cut("b", "c");
  say("a", "a1", 1, 20);
  net.run();
  net.kill("a");
  net.link("b", "c");
  // c asks b for a's lines (a is gone); the link drops before the answer.
  net.run(2);
  BOOST_CHECK_EQUAL(net.in_flight(), 1u);
  net.cut("b", "c");
  net.start("d");
  net.link("d", "c");
  settle(2);
  BOOST_CHECK(numbers(net.client_log["c"], "a1").empty()); // d never knew a
  net.link("b", "c");
  settle(10);
  BOOST_CHECK(numbers(net.client_log["c"], "a1") == range(1, 20));
}

BOOST_AUTO_TEST_CASE(history_keeps_the_last_lines) {
  net.defaults.history_lines = 3;
  mesh({"a", "b"});
  say("a", "a1", 1, 5);
  net.run();
  say("b", "b1", 1, 1);
  auto& h = net.node("b").history();
  BOOST_REQUIRE_EQUAL(h.size(), 3u);
  BOOST_CHECK_EQUAL(h[0], line("a1", 4));
  BOOST_CHECK_EQUAL(h[2], line("b1", 1));
}

// Random partitions, flaps, silent losses, kills and restarts, with a fixed
// seed per case: at the end, after the network healed, every node's clients
// got every line of every live origin said since their node started, once and
// in order, and never a line twice or out of order from any origin.
BOOST_AUTO_TEST_CASE(random_faults_lose_nothing_within_retention) {
  for (unsigned seed = 1; seed <= 40; ++seed) {
    ledger_sim sim;
    std::mt19937 rng{seed};
    std::vector<std::string> names{"a", "b", "c", "d"};
    for (auto& n : names)
      sim.start(n);
    std::map<std::string, int> said;                     // lines per sender
    std::map<std::string, std::vector<int64_t>> said_at; // wall time of each line
    std::map<std::string, size_t> log_from;              // client log index at start
    std::map<std::string, int64_t> started_at;           // wall time of the start
    std::map<std::string, std::string> who;              // node -> current sender
    auto begin = [&](const std::string& n) {
      who[n] = n + std::to_string(sim.incarnation(n));
      log_from[who[n]] = sim.client_log[n].size();
      started_at[who[n]] = sim.wall;
    };
    for (auto& n : names)
      begin(n);
    auto roll = [&](int n) {
      return static_cast<int>(rng() % static_cast<unsigned>(n));
    };
    for (auto& x : names)
      for (auto& y : names)
        if (x < y)
          sim.link(x, y);
    for (int step = 0; step < 400; ++step) {
      auto r = roll(100);
      auto x = names[static_cast<size_t>(roll(4))];
      auto y = names[static_cast<size_t>(roll(4))];
      if (r < 45) {
        auto s = who[x];
        sim.say(x, line(s, ++said[s]));
        said_at[s].push_back(sim.wall);
      } else if (r < 60) {
        sim.run(static_cast<size_t>(roll(20)));
      } else if (r < 70) {
        sim.tick();
      } else if (r < 78 && x != y) {
        sim.cut(x, y);
      } else if (r < 90 && x != y) {
        sim.link(x, y);
      } else if (r < 95 && x != y) {
        sim.lose_in_flight(x, y);
      } else if (r < 97) {
        sim.kill(x);
        sim.tick();
        sim.start(x);
        begin(x);
      }
    }
    for (auto& x : names)
      for (auto& y : names)
        if (x < y)
          sim.link(x, y);
    for (int i = 0; i < 20; ++i)
      sim.tick();
    for (auto& n : names) {
      auto& log = sim.client_log[n];
      std::vector<std::string> now_log(log.begin() + static_cast<long>(log_from[who[n]]),
                                       log.end());
      BOOST_CHECK_MESSAGE(notices(log).empty(), "seed " << seed << ": notice at " << n);
      for (auto& [s, count] : said) {
        auto got = numbers(log, s);
        BOOST_CHECK_MESSAGE(
          std::adjacent_find(got.begin(), got.end(), [](int p, int q) { return q <= p; })
            == got.end(),
          "seed " << seed << ": " << s << " at " << n << " duplicated or out of order");
        bool live = false;
        for (auto& kv : who)
          live |= kv.second == s;
        if (!live)
          continue;
        // Owed: every line said since this incarnation of n started.
        auto& times = said_at[s];
        auto first_owed = static_cast<int>(
          std::lower_bound(times.begin(), times.end(), started_at[who[n]]) - times.begin() + 1);
        if (s == who[n])
          first_owed = 1;
        if (first_owed > count)
          continue;
        auto mine = numbers(now_log, s);
        BOOST_CHECK_MESSAGE(!mine.empty() && mine.front() <= first_owed && mine.back() == count
                              && static_cast<int>(mine.size()) == mine.back() - mine.front() + 1,
                            "seed "
                              << seed << ": " << n << " got " << (mine.empty() ? 0 : mine.front())
                              << ".." << (mine.empty() ? 0 : mine.back()) << " (" << mine.size()
                              << " lines) of " << s << ", owed " << first_owed << ".." << count);
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
