#include "tao/detail/metric_families_merge.hpp"

#include <algorithm>

#include <prometheus/metric_family.h>

namespace tao::detail {

namespace {

void add_into(prometheus::ClientMetric& into, const prometheus::ClientMetric& more,
              prometheus::MetricType type) {
  switch (type) {
  case prometheus::MetricType::Counter:
    into.counter.value += more.counter.value;
    break;
  case prometheus::MetricType::Gauge:
    into.gauge.value += more.gauge.value;
    break;
  case prometheus::MetricType::Untyped:
    into.untyped.value += more.untyped.value;
    break;
  case prometheus::MetricType::Histogram: {
    auto& h = into.histogram;
    h.sample_count += more.histogram.sample_count;
    h.sample_sum += more.histogram.sample_sum;
    // Same family, same bucket bounds; add bucket by bucket.
    auto n = std::min(h.bucket.size(), more.histogram.bucket.size());
    for (size_t i = 0; i < n; ++i)
      h.bucket[i].cumulative_count += more.histogram.bucket[i].cumulative_count;
    break;
  }
  case prometheus::MetricType::Summary:
    break;
  }
}

void merge_family(prometheus::MetricFamily& into, const prometheus::MetricFamily& more) {
  for (const auto& m : more.metric) {
    auto same = std::find_if(into.metric.begin(), into.metric.end(),
                             [&](const prometheus::ClientMetric& x) { return x.label == m.label; });
    if (same == into.metric.end())
      into.metric.push_back(m);
    else
      add_into(*same, m, into.type);
  }
}

} // namespace

void merge_metric_families(std::vector<prometheus::MetricFamily>& into,
                           const std::vector<prometheus::MetricFamily>& more) {
  for (const auto& family : more) {
    auto same = std::find_if(into.begin(), into.end(), [&](const prometheus::MetricFamily& x) {
      return x.name == family.name && x.type == family.type;
    });
    if (same == into.end())
      into.push_back(family);
    else
      merge_family(*same, family);
  }
}

} // namespace tao::detail
