#pragma once

#include <vector>

namespace prometheus {
struct MetricFamily;
} // namespace prometheus

namespace tao::detail {

/// Adds the samples of `more` into `into`, as a scrape of one registry would
/// show them had every metric been counted in one place: for families of the
/// same name, series with equal labels add up (counters, gauges, untyped
/// values; a histogram's count, sum and buckets), series only in `more` are
/// appended, and families only in `more` are appended at the end. Summaries
/// cannot be added up; a summary series of `more` whose labels `into`
/// already has is left out.
///
/// Used to merge the registries of a `tao::metrics` and its I/O shards at
/// scrape time. Pure function: thread-safe on distinct arguments.
void merge_metric_families(std::vector<prometheus::MetricFamily>& into,
                           const std::vector<prometheus::MetricFamily>& more);

} // namespace tao::detail
