#include "tao/net/direct_writer.hpp"

#include <utility>

#include "tao/net/socket_ops.hpp"

namespace tao::net {

direct_writer::direct_writer(int64_t fd, std::shared_ptr<outbound_budget> budget,
                             write_observer on_write) noexcept
  : fd_(fd), budget_(std::move(budget)), on_write_(std::move(on_write)) {
}

direct_writer::outcome direct_writer::write(protocol::byte_buffer& bytes,
                                            caf::actor_clock::time_point now) {
  outcome result;
  if (bytes.empty())
    return result;
  std::lock_guard<std::mutex> guard{mtx_};
  if (!open_ || broker_pending_ || in_flight_ > 0) {
    ++in_flight_;
    result.hand_over = true;
    return result;
  }
  // Counted here, once: the broker does not count hand-overs again.
  if (on_write_)
    on_write_(bytes);
  result.counted = true;
  auto sent = socket_ops::send_some(fd_, bytes.data(), bytes.size());
  if (sent > 0) {
    auto n = static_cast<size_t>(sent);
    sent_ += n;
    last_output_ = now;
    // Released under the lock: a broker that closes the writer and then
    // waits for the budget to drain sees these bytes gone.
    result.writable = budget_->release(n);
    if (n == bytes.size()) {
      bytes.clear();
      return result;
    }
    bytes.erase(bytes.begin(), bytes.begin() + sent);
  }
  // The kernel's buffer is full, or the send failed: the broker queues the
  // rest in CAF's buffer, which waits for writability and reports errors.
  ++in_flight_;
  result.hand_over = true;
  return result;
}

void direct_writer::handed_over() {
  std::lock_guard<std::mutex> guard{mtx_};
  if (in_flight_ > 0)
    --in_flight_;
}

void direct_writer::close() {
  std::lock_guard<std::mutex> guard{mtx_};
  open_ = false;
}

uint64_t direct_writer::bytes_sent() {
  std::lock_guard<std::mutex> guard{mtx_};
  return sent_;
}

caf::actor_clock::time_point direct_writer::last_output() {
  std::lock_guard<std::mutex> guard{mtx_};
  return last_output_;
}

} // namespace tao::net
