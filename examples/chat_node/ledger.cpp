#include "ledger.hpp"

#include <algorithm>
#include <utility>

namespace chat_node {

std::string gap_notice(uint64_t lines, const std::string& address, bool exact) {
  return std::string{"*** missed "} + (exact ? "" : "up to ") + std::to_string(lines)
         + (lines == 1 ? " line" : " lines") + " from node " + address + "\n";
}

ledger::ledger(ledger_config cfg) : cfg_(std::move(cfg)) {
  auto& o = origins_[cfg_.incarnation];
  o.address = cfg_.address;
  o.log = retained_lines{cfg_.retention};
}

void ledger::set_address(std::string address) {
  cfg_.address = std::move(address);
  own().address = cfg_.address;
}

void ledger::say(std::string text, int64_t wall, ledger_effects& out) {
  auto& o = own();
  auto seq = o.delivered + 1;
  auto ts = std::max(wall, o.log.size() > 0 ? o.log.find(o.log.last_seq())->ts : wall);
  o.delivered = seq;
  o.log.append(seq, ts, text);
  ++o.counters.delivered;
  ++totals_.said;
  remember(text);
  out.local.push_back(text);
  peer_lines msg{cfg_.incarnation, cfg_.incarnation, seq, {line_entry{ts, std::move(text)}}};
  for (auto& kvp : peers_)
    if (kvp.second.acked_once)
      out.send.push_back({kvp.first, msg});
}

void ledger::peer_up(uint64_t peer, const std::string& address, ledger_time now,
                     ledger_effects& out) {
  if (peer == cfg_.incarnation)
    return;
  auto& p = peers_[peer];
  p = peer_state{};
  p.address = address;
  p.last_ack = now;
  counters_of(peer);
  for (auto& kvp : origins_) {
    auto& o = kvp.second;
    if (kvp.first != peer && kvp.first != cfg_.incarnation && o.address == address
        && !o.superseded) {
      o.superseded = true;
      o.superseded_at = now;
    }
  }
  ack(peer, out);
}

void ledger::peer_down(uint64_t peer) {
  peers_.erase(peer);
  for (auto& kvp : origins_)
    if (kvp.second.pull.peer == peer)
      kvp.second.pull.active = false;
  for (auto& kvp : unknown_pulls_)
    if (kvp.second.peer == peer)
      kvp.second.active = false;
}

void ledger::handle(const peer_lines& msg, ledger_time now, ledger_effects& out) {
  if (peers_.count(msg.sender) == 0 || msg.origin == cfg_.incarnation || msg.lines.empty())
    return;
  auto& counters = counters_of(msg.sender);
  auto last = msg.first_seq + msg.lines.size() - 1;
  auto i = origins_.find(msg.origin);
  if (i == origins_.end()) {
    // Never heard of this origin: only the origin itself tells where to start.
    counters.out_of_order += msg.lines.size();
    totals_.out_of_order += msg.lines.size();
    if (msg.sender == msg.origin)
      pull(msg.origin, nullptr, msg.sender, last, now, out);
    return;
  }
  auto& o = i->second;
  auto before = o.delivered;
  auto seq = msg.first_seq;
  bool hole = false;
  for (auto& line : msg.lines) {
    if (seq <= o.delivered) {
      ++counters.duplicates;
      ++totals_.duplicates;
    } else if (seq == o.delivered + 1) {
      deliver(o, seq, line, out);
    } else {
      ++counters.out_of_order;
      ++totals_.out_of_order;
      hole = true;
    }
    ++seq;
  }
  if (o.delivered != before)
    progress(o, now);
  if (hole)
    pull(msg.origin, &o, msg.sender, last, now, out);
}

void ledger::handle(const peer_ack& msg, ledger_time now, ledger_effects& out) {
  auto p = peers_.find(msg.sender);
  if (p == peers_.end())
    return;
  p->second.acked_once = true;
  p->second.last_ack = now;
  for (auto& pos : msg.positions) {
    if (pos.origin == cfg_.incarnation) {
      p->second.acked_own = pos.seq;
      continue;
    }
    auto i = origins_.find(pos.origin);
    if (i == origins_.end()) {
      if (pos.origin == msg.sender)
        pull(pos.origin, nullptr, msg.sender, pos.seq, now, out);
      continue;
    }
    auto& o = i->second;
    if (pos.seq > o.delivered && (pos.origin == msg.sender || !linked(pos.origin, now)))
      pull(pos.origin, &o, msg.sender, pos.seq, now, out);
  }
}

void ledger::handle(const peer_nack& msg, ledger_time, ledger_effects& out) {
  if (peers_.count(msg.sender) == 0)
    return;
  auto i = origins_.find(msg.origin);
  if (i == origins_.end())
    return;
  auto& o = i->second;
  if (!msg.known) {
    if (msg.origin != cfg_.incarnation)
      return;
    // Lines said since the asking node started. If some of them were
    // trimmed already, their number is not known: announce an upper bound.
    uint64_t after = 0;
    bool exact = true;
    if (o.log.trimmed_seq() > 0 && o.log.trimmed_ts() >= msg.since)
      exact = false;
    else
      after = o.log.first_at_or_after(msg.since) - 1;
    out.send.push_back({msg.sender, peer_start{cfg_.incarnation, msg.origin, cfg_.address, after}});
    serve(msg.sender, msg.origin, o, after + 1, exact, out);
    return;
  }
  if (msg.origin != cfg_.incarnation && msg.after < o.base)
    return; // lines this node was never owed: cannot relay them
  serve(msg.sender, msg.origin, o, msg.after + 1, true, out);
}

void ledger::handle(const peer_gap& msg, ledger_time now, ledger_effects& out) {
  if (peers_.count(msg.sender) == 0 || msg.origin == cfg_.incarnation)
    return;
  auto i = origins_.find(msg.origin);
  if (i == origins_.end())
    return;
  auto& o = i->second;
  if (msg.to <= o.delivered)
    return;
  if (msg.from > o.delivered + 1) {
    // Something between was lost on the way: ask again.
    pull(msg.origin, &o, msg.sender, msg.to, now, out);
    return;
  }
  auto missed = msg.to - o.delivered;
  o.delivered = msg.to;
  o.log.reset(msg.to, 0);
  ++o.counters.gaps;
  o.counters.missed += missed;
  ++totals_.gaps;
  totals_.missed += missed;
  out.local.push_back(gap_notice(missed, o.address, msg.exact));
  out.events.push_back("gap announced: " + std::to_string(missed) + " lines of " + o.address
                       + " no longer retained by " + address_of(msg.sender));
  progress(o, now);
}

void ledger::handle(const peer_start& msg, ledger_time now, ledger_effects&) {
  if (peers_.count(msg.sender) == 0 || msg.origin == cfg_.incarnation)
    return;
  auto pending = unknown_pulls_.find(msg.origin);
  uint64_t target = msg.after;
  if (pending != unknown_pulls_.end()) {
    target = std::max(target, pending->second.target);
    unknown_pulls_.erase(pending);
  }
  auto [i, added] = origins_.try_emplace(msg.origin);
  if (!added)
    return;
  auto& o = i->second;
  o.address = msg.address;
  o.delivered = msg.after;
  o.base = msg.after;
  o.log = retained_lines{cfg_.retention};
  o.log.reset(msg.after, 0);
  // A peer up at the same address with another incarnation replaced it.
  for (auto& kvp : peers_)
    if (kvp.first != msg.origin && kvp.second.address == msg.address) {
      o.superseded = true;
      o.superseded_at = now;
    }
  o.pull = pull_state{target > msg.after, msg.sender, target, now};
}

void ledger::tick(ledger_time now, ledger_effects& out) {
  for (auto& kvp : peers_)
    ack(kvp.first, out);
  for (auto& kvp : origins_) {
    auto& o = kvp.second;
    if (o.superseded && o.log.size() > 0 && now - o.superseded_at >= cfg_.superseded_ttl) {
      o.log.reset(o.delivered, 0);
      o.base = o.delivered;
    }
  }
}

uint64_t ledger::delivered(uint64_t origin) const {
  auto i = origins_.find(origin);
  return i == origins_.end() ? 0 : i->second.delivered;
}

std::map<std::string, peer_counters> ledger::peer_stats() const {
  auto result = peer_counters_;
  auto said = origins_.at(cfg_.incarnation).delivered;
  for (auto& kvp : peers_) {
    auto& c = result[kvp.second.address];
    c.linked = true;
    c.unacked = said - std::min(said, kvp.second.acked_own);
  }
  return result;
}

std::map<std::string, origin_counters> ledger::origin_stats() const {
  std::map<std::string, origin_counters> result;
  for (auto& kvp : origins_) {
    auto& o = kvp.second;
    auto& c = result[o.address];
    c.delivered += o.counters.delivered;
    c.gaps += o.counters.gaps;
    c.missed += o.counters.missed;
    c.retained += o.log.size();
    c.retained_bytes += o.log.bytes();
  }
  return result;
}

ledger_totals ledger::totals() const {
  auto result = totals_;
  for (auto& kvp : origins_) {
    result.retained += kvp.second.log.size();
    result.retained_bytes += kvp.second.log.bytes();
  }
  return result;
}

bool ledger::linked(uint64_t origin, ledger_time now) const {
  // Up and heard from lately (or just up: its first ack is on the way).
  auto i = peers_.find(origin);
  return i != peers_.end() && now - i->second.last_ack <= cfg_.link_stale;
}

void ledger::deliver(origin_state& o, uint64_t seq, const line_entry& line, ledger_effects& out) {
  o.delivered = seq;
  o.log.append(seq, line.ts, line.text);
  ++o.counters.delivered;
  ++totals_.received;
  remember(line.text);
  out.local.push_back(line.text);
}

void ledger::progress(origin_state& o, ledger_time now) {
  o.pull.last_progress = now;
  if (o.delivered >= o.pull.target)
    o.pull.active = false;
}

void ledger::pull(uint64_t origin, origin_state* o, uint64_t from_peer, uint64_t target,
                  ledger_time now, ledger_effects& out) {
  auto& p = o != nullptr ? o->pull : unknown_pulls_[origin];
  auto delivered = o != nullptr ? o->delivered : 0;
  if (o != nullptr && delivered >= target)
    return;
  if (p.active && now - p.last_progress < cfg_.nack_timeout
      && (o == nullptr || delivered < p.target))
    return;
  p = pull_state{true, from_peer, target, now};
  out.send.push_back(
    {from_peer, peer_nack{cfg_.incarnation, origin, o != nullptr, delivered, cfg_.since}});
  ++counters_of(from_peer).nacks;
  ++totals_.nacks;
}

void ledger::serve(uint64_t to_peer, uint64_t origin, origin_state& o, uint64_t from, bool exact,
                   ledger_effects& out) {
  if (from > o.delivered)
    return;
  auto first = o.log.first_seq();
  if (from < first) {
    out.send.push_back({to_peer, peer_gap{cfg_.incarnation, origin, from, first - 1, exact}});
    from = first;
  }
  uint64_t sent = 0;
  while (from <= o.delivered) {
    peer_lines batch{cfg_.incarnation, origin, from, {}};
    for (; from <= o.delivered && batch.lines.size() < cfg_.replay_batch; ++from) {
      auto* line = o.log.find(from);
      if (line == nullptr)
        return; // cannot happen: the log ends at `delivered`
      batch.lines.push_back(line_entry{line->ts, line->text});
    }
    sent += batch.lines.size();
    out.send.push_back({to_peer, std::move(batch)});
  }
  counters_of(to_peer).replayed += sent;
  totals_.replayed += sent;
  if (sent > 0)
    out.events.push_back("replayed " + std::to_string(sent) + (sent == 1 ? " line" : " lines")
                         + " of " + o.address + " to " + address_of(to_peer));
}

void ledger::ack(uint64_t to_peer, ledger_effects& out) {
  peer_ack msg{cfg_.incarnation, {}};
  msg.positions.reserve(origins_.size());
  for (auto& kvp : origins_)
    msg.positions.push_back(position{kvp.first, kvp.second.delivered});
  out.send.push_back({to_peer, std::move(msg)});
}

void ledger::remember(const std::string& text) {
  if (cfg_.history_lines == 0)
    return;
  history_.push_back(text);
  while (history_.size() > cfg_.history_lines)
    history_.pop_front();
}

std::string ledger::address_of(uint64_t peer) const {
  auto i = peers_.find(peer);
  return i == peers_.end() ? std::string{"?"} : i->second.address;
}

peer_counters& ledger::counters_of(uint64_t peer) {
  auto i = peers_.find(peer);
  return peer_counters_[i == peers_.end() ? std::string{} : i->second.address];
}

} // namespace chat_node
