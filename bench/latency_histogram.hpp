#pragma once

// A log-linear latency histogram in the spirit of HdrHistogram: values below
// 128 ns are exact, larger ones fall into 64 buckets per power of two (at most
// 1.6% relative error). Constant memory, O(1) recording, so the load
// generator never sorts millions of samples.

#include <array>
#include <cstddef>
#include <cstdint>

namespace tao::bench {

/// Round-trip latencies in nanoseconds, up to 2^40 ns (about 18 minutes).
class latency_histogram {
public:
  /// Records one latency of `ns` nanoseconds (clamped to the range).
  void record(uint64_t ns) noexcept {
    ++counts_[index(ns)];
    ++total_;
  }

  /// Number of recorded values.
  uint64_t count() const noexcept {
    return total_;
  }

  /// Adds the values recorded in `other`.
  void merge(const latency_histogram& other) noexcept {
    for (size_t i = 0; i < counts_.size(); ++i)
      counts_[i] += other.counts_[i];
    total_ += other.total_;
  }

  /// Forgets everything recorded so far.
  void clear() noexcept {
    counts_.fill(0);
    total_ = 0;
  }

  /// The value at quantile `q` (0..1) in microseconds: the middle of the
  /// bucket holding it; 0 when empty.
  double quantile_us(double q) const noexcept {
    if (total_ == 0)
      return 0;
    auto rank = static_cast<uint64_t>(q * static_cast<double>(total_));
    if (rank >= total_)
      rank = total_ - 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen > rank)
        return static_cast<double>(lower(i) + (upper(i) - lower(i)) / 2) / 1000.0;
    }
    return static_cast<double>(lower(counts_.size() - 1)) / 1000.0;
  }

private:
  static constexpr unsigned sub_bits = 6; // 64 buckets per power of two
  static constexpr uint64_t sub = uint64_t{1} << sub_bits;
  static constexpr unsigned max_bits = 40;
  static constexpr size_t buckets = 2 * sub + (max_bits - sub_bits - 1) * sub;

  static size_t index(uint64_t v) noexcept {
    if (v >= (uint64_t{1} << max_bits))
      v = (uint64_t{1} << max_bits) - 1;
    if (v < 2 * sub)
      return static_cast<size_t>(v);
    auto shift = static_cast<unsigned>(63 - __builtin_clzll(v)) - sub_bits;
    return static_cast<size_t>(sub * shift + (v >> shift));
  }

  static uint64_t lower(size_t i) noexcept {
    if (i < 2 * sub)
      return i;
    auto shift = static_cast<unsigned>(i / sub - 1);
    return (i % sub + sub) << shift;
  }

  static uint64_t upper(size_t i) noexcept {
    if (i < 2 * sub)
      return i + 1;
    return lower(i) + (uint64_t{1} << (i / sub - 1));
  }

  std::array<uint64_t, buckets> counts_{};
  uint64_t total_ = 0;
};

} // namespace tao::bench
