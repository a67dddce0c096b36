#include "tao/metrics.hpp"

#include <exception>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "tao/detail/log.hpp"
#include "tao/detail/metric_families_merge.hpp"
#include "tao/detail/tick_clock.hpp"
#include "tao/protocol/error.hpp"

namespace tao {

using protocol::errc;

namespace {

template <class Builder>
auto& add(Builder&& builder, prometheus::Registry& reg, const char* name, const char* help) {
  return builder.Name(name).Help(help).Register(reg);
}

} // namespace

/// What the exposer collects: the metrics with their shards added up. The
/// exposer holds it weakly; it lives as long as the metrics.
class metrics::merged_view : public prometheus::Collectable {
public:
  explicit merged_view(const metrics& m) : metrics_(m) {
  }

  std::vector<prometheus::MetricFamily> Collect() const override {
    return metrics_.collect();
  }

private:
  const metrics& metrics_;
};

const std::vector<double>& metrics::handler_buckets() {
  static const std::vector<double> buckets{1e-6, 5e-6, 1e-5, 5e-5, 1e-4, 5e-4, 1e-3,
                                           5e-3, 1e-2, 5e-2, 0.1,  0.5,  1};
  return buckets;
}

metrics::metrics() : registry_(std::make_shared<prometheus::Registry>()) {
  auto& r = *registry_;
  using prometheus::BuildCounter;
  using prometheus::BuildGauge;
  using prometheus::BuildHistogram;
  families_.reset(new families{
    add(BuildGauge(), r, "tao_connections", "Connections open now."),
    add(BuildCounter(), r, "tao_connections_accepted_total", "Connections accepted."),
    add(BuildCounter(), r, "tao_connections_refused_total",
        "Connections refused, by reason (max_connections, on_connect)."),
    add(BuildCounter(), r, "tao_connections_closed_total",
        "Connections closed, by reason (none for a clean close, else the tao error code, e.g. "
        "tls_failure, heartbeat_timeout, slow_consumer, oversized_frame)."),
    add(BuildCounter(), r, "tao_frames_received_total",
        "Frames received, by message type (registered types only)."),
    add(BuildCounter(), r, "tao_received_bytes_total",
        "Payload bytes received, by message type (registered types only)."),
    add(BuildCounter(), r, "tao_frames_sent_total", "Frames queued for sending, by message type."),
    add(BuildCounter(), r, "tao_sent_bytes_total",
        "Framed bytes queued for sending, by message type."),
    add(BuildCounter(), r, "tao_unknown_frames_total",
        "Frames of unregistered types, skipped (the connection is kept)."),
    add(BuildCounter(), r, "tao_would_block_total",
        "Writes refused because the connection was above its high-water mark."),
    add(BuildHistogram(), r, "tao_handler_duration_seconds",
        "Time spent in message handlers, per frame."),
    add(BuildGauge(), r, "tao_outbound_queued_bytes",
        "Bytes queued for sending and not yet accepted by the kernel, all connections."),
    add(BuildCounter(), r, "tao_heartbeats_sent_total", "Tao heartbeats (type 0) sent."),
    add(BuildCounter(), r, "tao_heartbeats_received_total", "Tao heartbeats (type 0) received."),
    add(BuildCounter(), r, "tao_reconnect_attempts_total",
        "Client connection attempts after the first."),
    add(BuildCounter(), r, "tao_reconnects_total",
        "Client connections established again after a loss."),
    add(BuildCounter(), r, "tao_reconnect_give_ups_total", "Clients that stopped trying."),
    add(BuildGauge(), r, "tao_timers", "Connection timers pending (run_at/after/every, sched)."),
  });
  // Series without labels exist from the start, so they read 0 rather than
  // being absent before their first event.
  auto& f = *families_;
  for (auto* family : {&f.accepted, &f.unknown_frames, &f.would_block, &f.heartbeats_sent,
                       &f.heartbeats_received, &f.reconnect_attempts, &f.reconnects, &f.give_ups})
    family->Add({});
  for (auto* family : {&f.connections, &f.queued_bytes, &f.timers})
    family->Add({});
  f.handler_seconds.Add({}, handler_buckets());
  // Handler times are taken in ticks of the tick clock: calibrate it here,
  // in the thread making the metrics, not on an I/O thread's first frame.
  detail::tick_clock::seconds_per_tick();
}

metrics::~metrics() = default;

caf::error metrics::serve(const std::string& address) {
  if (exposer_)
    return protocol::make_error(errc::invalid_argument, "metrics are served already");
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(address, 1);
  } catch (const std::exception& ex) {
    return protocol::make_error(errc::network_failure,
                                "cannot serve metrics on " + address + ": " + ex.what());
  }
  merged_ = std::make_shared<merged_view>(*this);
  exposer_->RegisterCollectable(merged_);
  detail::logger("tao.metrics")
    .info("serving metrics on http://{}/metrics (port {})", address, port());
  return {};
}

uint16_t metrics::port() const {
  if (!exposer_)
    return 0;
  auto ports = exposer_->GetListeningPorts();
  return ports.empty() ? 0 : static_cast<uint16_t>(ports.front());
}

std::string metrics::text() const {
  return prometheus::TextSerializer{}.Serialize(collect());
}

std::vector<prometheus::MetricFamily> metrics::collect() const {
  auto all = registry_->Collect();
  std::vector<metrics_ptr> shards;
  {
    std::lock_guard<std::mutex> guard{shards_mtx_};
    shards = shards_;
  }
  for (const auto& shard : shards)
    if (shard)
      detail::merge_metric_families(all, shard->collect());
  return all;
}

metrics_ptr metrics::for_shard(const metrics_ptr& m, size_t shard) {
  if (!m || shard == 0)
    return m;
  std::lock_guard<std::mutex> guard{m->shards_mtx_};
  if (m->shards_.size() < shard)
    m->shards_.resize(shard);
  auto& share = m->shards_[shard - 1];
  if (!share)
    share = std::make_shared<metrics>();
  return share;
}

} // namespace tao
