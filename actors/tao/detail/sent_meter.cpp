#include "tao/detail/sent_meter.hpp"

#include <string>

#include <prometheus/counter.h>
#include <prometheus/family.h>

namespace tao::detail {

sent_meter::sent_meter(metrics_ptr m, protocol::codec_ptr codec)
  : metrics_(std::move(m)), codec_(std::move(codec)),
    headers_(dynamic_cast<const protocol::header_codec*>(codec_.get())) {
}

sent_meter::~sent_meter() = default;

sent_meter::per_type& sent_meter::slot(int32_t type) {
  for (auto& t : types_)
    if (t.type == type)
      return t;
  const auto& f = metrics_->family();
  // Without headers every write counts as one frame of type 0, "other".
  prometheus::Labels labels{{"type", headers_ ? std::to_string(type) : "other"}};
  types_.push_back(per_type{type, &f.frames_out.Add(labels), &f.bytes_out.Add(labels)});
  return types_.back();
}

void sent_meter::operator()(const protocol::byte_buffer& bytes) {
  // Walk the headers first, lock once.
  struct count {
    int32_t type;
    double frames;
    double bytes;
  };
  count first{0, 0, 0};
  std::vector<count> more;
  auto add = [&](int32_t type, size_t n) {
    if (first.frames == 0 || first.type == type) {
      first.type = type;
      first.frames += 1;
      first.bytes += static_cast<double>(n);
      return;
    }
    for (auto& c : more)
      if (c.type == type) {
        c.frames += 1;
        c.bytes += static_cast<double>(n);
        return;
      }
    more.push_back(count{type, 1, static_cast<double>(n)});
  };
  if (headers_ == nullptr) {
    add(0, bytes.size());
  } else {
    auto hs = headers_->header_size();
    size_t pos = 0;
    while (pos + hs <= bytes.size()) {
      auto hdr = headers_->read_header(bytes.data() + pos);
      auto n = hs + static_cast<size_t>(hdr.length);
      add(hdr.type, n);
      pos += n;
    }
  }
  if (first.frames == 0)
    return;
  std::lock_guard<std::mutex> guard{mtx_};
  auto publish = [&](const count& c) {
    auto& t = slot(c.type);
    t.frames->Increment(c.frames);
    t.bytes->Increment(c.bytes);
  };
  publish(first);
  for (auto& c : more)
    publish(c);
}

} // namespace tao::detail
