#include "room_metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

namespace chat_node {

namespace {

using counter_family = prometheus::Family<prometheus::Counter>;
using gauge_family = prometheus::Family<prometheus::Gauge>;

counter_family& counter(prometheus::Registry& r, const char* name, const char* help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(r);
}

gauge_family& gauge(prometheus::Registry& r, const char* name, const char* help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(r);
}

} // namespace

struct room_metrics::families {
  counter_family& said;
  gauge_family& members;
  counter_family& delivered;
  gauge_family& retained;
  gauge_family& retained_bytes;
  counter_family& gaps;
  counter_family& missed;
  counter_family& replayed;
  counter_family& duplicates;
  counter_family& out_of_order;
  counter_family& nacks;
  gauge_family& unacked;
  gauge_family& linked;
};

room_metrics::room_metrics(tao::metrics_ptr m) : metrics_(std::move(m)) {
  auto& r = *metrics_->registry();
  families_.reset(new families{
    counter(r, "chat_lines_said_total", "Lines said by this node's clients."),
    gauge(r, "chat_members", "Clients in the room on this node."),
    counter(r, "chat_lines_delivered_total",
            "Lines delivered to this node's clients, by origin node."),
    gauge(r, "chat_lines_retained", "Lines retained for replay, by origin node."),
    gauge(r, "chat_retained_bytes",
          "Bytes accounted for retained lines (text plus per-line overhead), by origin node."),
    counter(r, "chat_gaps_announced_total",
            "Gaps announced to clients (lines no longer retained anywhere reachable), by origin "
            "node."),
    counter(r, "chat_lines_missed_total", "Lines covered by announced gaps, by origin node."),
    counter(r, "chat_lines_replayed_total", "Lines sent to a peer in replays, by peer node."),
    counter(r, "chat_duplicates_dropped_total",
            "Lines from a peer dropped as already delivered, by peer node."),
    counter(r, "chat_lines_out_of_order_total",
            "Lines from a peer dropped because an earlier one was missing (asked again), by peer "
            "node."),
    counter(r, "chat_replay_requests_total", "Replays asked of a peer, by peer node."),
    gauge(r, "chat_peer_unacked_lines",
          "Lines said on this node not yet acknowledged by a linked peer, by peer node."),
    gauge(r, "chat_peer_linked", "1 while the link with a peer is up, by peer node."),
  });
}

room_metrics::~room_metrics() = default;

void room_metrics::publish(const ledger& book, size_t members) {
  auto& f = *families_;
  auto bump = [this](counter_family& family, const std::string& key, const prometheus::Labels& l,
                     uint64_t value) {
    auto& last = published_[key];
    auto& series = family.Add(l);
    if (value > last) {
      series.Increment(static_cast<double>(value - last));
      last = value;
    }
  };
  auto totals = book.totals();
  bump(f.said, "said", {}, totals.said);
  f.members.Add({}).Set(static_cast<double>(members));
  for (auto& [address, c] : book.origin_stats()) {
    prometheus::Labels l{{"origin", address}};
    bump(f.delivered, "delivered/" + address, l, c.delivered);
    bump(f.gaps, "gaps/" + address, l, c.gaps);
    bump(f.missed, "missed/" + address, l, c.missed);
    f.retained.Add(l).Set(static_cast<double>(c.retained));
    f.retained_bytes.Add(l).Set(static_cast<double>(c.retained_bytes));
  }
  for (auto& [address, c] : book.peer_stats()) {
    if (address.empty())
      continue;
    prometheus::Labels l{{"peer", address}};
    bump(f.replayed, "replayed/" + address, l, c.replayed);
    bump(f.duplicates, "duplicates/" + address, l, c.duplicates);
    bump(f.out_of_order, "ooo/" + address, l, c.out_of_order);
    bump(f.nacks, "nacks/" + address, l, c.nacks);
    f.unacked.Add(l).Set(static_cast<double>(c.unacked));
    f.linked.Add(l).Set(c.linked ? 1.0 : 0.0);
  }
}

} // namespace chat_node
