#include "retention.hpp"

#include <algorithm>
#include <utility>

namespace chat_node {

void retained_lines::append(uint64_t seq, int64_t ts, std::string text) {
  if (seq <= last_seq_)
    return;
  if (seq != last_seq_ + 1) {
    // A first line after a start point: everything before counts as trimmed.
    lines_.clear();
    bytes_ = 0;
  }
  last_seq_ = seq;
  bytes_ += text.size() + line_overhead;
  lines_.push_back(retained_line{ts, std::move(text)});
  trim();
}

void retained_lines::reset(uint64_t seq, int64_t ts) {
  lines_.clear();
  bytes_ = 0;
  last_seq_ = std::max(last_seq_, seq);
  trimmed_ts_ = std::max(trimmed_ts_, ts);
}

const retained_line* retained_lines::find(uint64_t seq) const noexcept {
  if (seq < first_seq() || seq > last_seq_)
    return nullptr;
  return &lines_[seq - first_seq()];
}

uint64_t retained_lines::first_at_or_after(int64_t ts) const noexcept {
  auto i = std::lower_bound(lines_.begin(), lines_.end(), ts,
                            [](const retained_line& x, int64_t t) { return x.ts < t; });
  return first_seq() + static_cast<uint64_t>(i - lines_.begin());
}

void retained_lines::trim() {
  while (lines_.size() > 1 && (lines_.size() > limits_.max_lines || bytes_ > limits_.max_bytes)) {
    bytes_ -= lines_.front().text.size() + line_overhead;
    trimmed_ts_ = lines_.front().ts;
    lines_.pop_front();
  }
}

} // namespace chat_node
