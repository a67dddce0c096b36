#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "tao/metrics.hpp"
#include "tao/protocol/codec.hpp"

namespace prometheus {
class Counter;
} // namespace prometheus

namespace tao::detail {

/// Counts outgoing frames by message type where every write meets: in the
/// connection broker just before the bytes are sent, or in the connection
/// actor's direct writer (scheduled dispatch). Handler writes,
/// `connection_ref` writes from other actors, broadcasts and heartbeats
/// are thus counted once each. It walks the frame headers of each write
/// (codecs with a fixed header; others are counted as type "other") and
/// publishes once per write.
///
/// Thread-safe: brokers call it from the I/O thread, direct writers from
/// scheduler threads; a mutex guards the per-type counter cache.
class sent_meter {
public:
  /// A meter for frames of `codec` publishing to `m` (non-null).
  sent_meter(metrics_ptr m, protocol::codec_ptr codec);

  ~sent_meter();

  /// Counts the frames in `bytes`, which hold whole frames.
  void operator()(const protocol::byte_buffer& bytes);

private:
  struct per_type {
    int32_t type;
    prometheus::Counter* frames;
    prometheus::Counter* bytes;
  };

  per_type& slot(int32_t type);

  metrics_ptr metrics_;
  protocol::codec_ptr codec_;
  const protocol::header_codec* headers_;
  std::mutex mtx_;
  std::vector<per_type> types_;
};

} // namespace tao::detail
