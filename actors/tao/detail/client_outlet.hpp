#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>

#include <caf/error.hpp>

#include "tao/connection_ref.hpp"
#include "tao/options.hpp"
#include "tao/protocol/frame.hpp"

namespace tao {

enum class offline_writes;

} // namespace tao

namespace tao::detail {

/// Where a client's writes go: straight to its connection while it has one
/// (reserved in the connection's outbound budget in the writer's thread, as
/// `connection_ref` writes are), otherwise into a bounded offline queue that
/// the next connection gets first, in order.
///
/// Because a write is reserved when `write` returns, a connection that ends
/// counts it: it is delivered or the connection's on_close reports it lost.
/// A write that can go nowhere fails at once with the reason.
///
/// Thread-safe: one mutex, held only to pick the target and to reserve or
/// queue (never across I/O).
class client_outlet {
public:
  /// An outlet without connection, queueing at most `offline_limit` bytes
  /// (or refusing offline writes, per `policy`). Without `reconnects`, only
  /// writes before the first connection queue: once that one is gone,
  /// nothing could carry them.
  client_outlet(offline_writes policy, size_t offline_limit, bool reconnects);

  /// Sends framed `bytes` to the connection or queues them. Fails with
  /// `errc::would_block` above the connection's high-water mark or a full
  /// offline queue, and with `errc::closed` once shut, when offline writes
  /// fail by policy, or when the only connection a non-reconnecting client
  /// will have is gone.
  caf::error write(protocol::byte_buffer&& bytes);

  /// A connection is up: the offline queue goes to it first (whatever its
  /// high-water mark says: those writes were accepted), then every later
  /// write. If it ends while the queue is flushed, what remains stays
  /// queued and the outlet stays offline.
  void attach(const connection_ref& conn);

  /// The connection is gone: later writes queue (or fail, per policy).
  void detach();

  /// No more writes: the offline queue is dropped and later writes fail with
  /// `errc::closed`. Returns the bytes dropped.
  size_t shut();

  /// Writes refused so far.
  uint64_t refused() const;

  /// Bytes in the offline queue.
  size_t offline_bytes() const;

private:
  caf::error refuse(caf::error err);

  mutable std::mutex mtx_;
  connection_ref conn_;
  std::deque<protocol::byte_buffer> offline_;
  size_t offline_bytes_ = 0;
  uint64_t refused_ = 0;
  bool shut_ = false;
  bool attached_once_ = false;
  bool queue_offline_;
  bool reconnects_;
  size_t offline_limit_;
};

} // namespace tao::detail
