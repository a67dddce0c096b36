#pragma once

// A network of ledgers for deterministic tests: messages queue per link in
// FIFO order and are delivered by `run`; links are cut (queued messages lost,
// both sides told) and healed; time advances only by `tick`. No actors.

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "ledger.hpp"

namespace chat_node::test {

/// A simulated network of nodes, each a ledger with one client log.
class ledger_sim {
public:
  /// Settings every node gets (incarnation, address and since are set per
  /// node).
  ledger_config defaults;

  /// Everything the clients of each node (by name) were given, in order.
  std::map<std::string, std::vector<std::string>> client_log;

  ledger_time now{};
  int64_t wall = 1'000'000;

  /// Starts node `name` with a fresh incarnation (a restart if it existed:
  /// its old incarnation is gone, its client log kept).
  uint64_t start(const std::string& name) {
    if (auto i = names_.find(name); i != names_.end())
      kill(name);
    auto inc = next_incarnation_++;
    auto cfg = defaults;
    cfg.incarnation = inc;
    cfg.address = name;
    cfg.since = wall;
    nodes_[inc] = std::make_unique<ledger>(cfg);
    names_[name] = inc;
    return inc;
  }

  /// The node dies: its links drop (peers told), queued messages are lost.
  void kill(const std::string& name) {
    auto inc = names_.at(name);
    for (auto& other : linked_with(inc))
      cut_incarnations(inc, other);
    nodes_.erase(inc);
    names_.erase(name);
  }

  /// Links two nodes (both see the peer come up and ack it).
  void link(const std::string& a, const std::string& b) {
    auto x = names_.at(a), y = names_.at(b);
    if (links_.count({x, y}) != 0)
      return;
    links_.insert({x, y});
    links_.insert({y, x});
    ledger_effects fx1, fx2;
    nodes_[x]->peer_up(y, b, now, fx1);
    apply(x, fx1);
    nodes_[y]->peer_up(x, a, now, fx2);
    apply(y, fx2);
  }

  /// Cuts the link: messages in flight are lost, both sides see it go down.
  void cut(const std::string& a, const std::string& b) {
    cut_incarnations(names_.at(a), names_.at(b));
  }

  /// Loses the messages queued from `a` to `b` without telling anyone (a
  /// BASP connection replaced by an alternative route).
  void lose_in_flight(const std::string& a, const std::string& b) {
    auto x = names_.at(a), y = names_.at(b);
    std::deque<envelope> kept;
    for (auto& e : wire_)
      if (!(e.from == x && e.to == y))
        kept.push_back(std::move(e));
    wire_ = std::move(kept);
  }

  /// A client of `name` says `text`.
  void say(const std::string& name, const std::string& text) {
    auto inc = names_.at(name);
    ledger_effects fx;
    nodes_[inc]->say(text, wall, fx);
    apply(inc, fx);
  }

  /// Delivers queued messages (at most `limit`) in FIFO order.
  size_t run(size_t limit = SIZE_MAX) {
    size_t n = 0;
    while (!wire_.empty() && n < limit) {
      auto e = std::move(wire_.front());
      wire_.pop_front();
      ++n;
      auto i = nodes_.find(e.to);
      if (i == nodes_.end() || links_.count({e.from, e.to}) == 0)
        continue;
      ledger_effects fx;
      std::visit([&](auto& msg) { i->second->handle(msg, now, fx); }, e.msg);
      apply(e.to, fx);
    }
    return n;
  }

  /// Advances time by `d` and lets every node tick, then runs.
  void tick(std::chrono::milliseconds d = std::chrono::milliseconds(200)) {
    now += d;
    wall += d.count();
    for (auto& kvp : nodes_) {
      ledger_effects fx;
      kvp.second->tick(now, fx);
      apply(kvp.first, fx);
    }
    run();
  }

  ledger& node(const std::string& name) {
    return *nodes_.at(names_.at(name));
  }

  uint64_t incarnation(const std::string& name) const {
    return names_.at(name);
  }

  bool alive(const std::string& name) const {
    return names_.count(name) != 0;
  }

  /// Messages queued now.
  size_t in_flight() const {
    return wire_.size();
  }

  /// Messages of each kind sent so far (index of the variant).
  std::map<size_t, size_t> sent_by_kind;

private:
  struct envelope {
    uint64_t from;
    uint64_t to;
    decltype(outgoing::msg) msg;
  };

  std::vector<uint64_t> linked_with(uint64_t inc) const {
    std::vector<uint64_t> result;
    for (auto& l : links_)
      if (l.first == inc)
        result.push_back(l.second);
    return result;
  }

  void cut_incarnations(uint64_t x, uint64_t y) {
    if (links_.erase({x, y}) + links_.erase({y, x}) == 0)
      return;
    std::deque<envelope> kept;
    for (auto& e : wire_)
      if (!((e.from == x && e.to == y) || (e.from == y && e.to == x)))
        kept.push_back(std::move(e));
    wire_ = std::move(kept);
    if (auto i = nodes_.find(x); i != nodes_.end())
      i->second->peer_down(y);
    if (auto i = nodes_.find(y); i != nodes_.end())
      i->second->peer_down(x);
  }

  void apply(uint64_t from, ledger_effects& fx) {
    auto& name = nodes_.at(from)->config().address;
    auto& log = client_log[name];
    log.insert(log.end(), fx.local.begin(), fx.local.end());
    for (auto& out : fx.send) {
      ++sent_by_kind[out.msg.index()];
      if (links_.count({from, out.peer}) != 0)
        wire_.push_back(envelope{from, out.peer, std::move(out.msg)});
    }
  }

  uint64_t next_incarnation_ = 1;
  std::map<uint64_t, std::unique_ptr<ledger>> nodes_;
  std::map<std::string, uint64_t> names_;
  std::set<std::pair<uint64_t, uint64_t>> links_;
  std::deque<envelope> wire_;
};

} // namespace chat_node::test
