#include "tao/net/direct_writer.hpp"

#include <utility>

#include "tao/net/socket_ops.hpp"
#include "tao/protocol/append_bytes.hpp"

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
    // Part of a frame is on the wire: its rest stays here, where the
    // broker's next send takes it before its own bytes, so that no other
    // byte can come between (the hand-over message might arrive after a
    // heartbeat the broker sends meanwhile).
    bytes.erase(bytes.begin(), bytes.begin() + sent);
    rest_.swap(bytes);
    bytes.clear();
  }
  // The kernel's buffer is full, or the send failed: the broker queues the
  // rest in CAF's buffer, which waits for writability and reports errors.
  ++in_flight_;
  result.hand_over = true;
  return result;
}

void direct_writer::prepend_rest(protocol::byte_buffer& bytes) {
  if (rest_.empty())
    return;
  protocol::append_bytes(rest_, bytes.data(), bytes.size());
  bytes.swap(rest_);
  protocol::byte_buffer{}.swap(rest_);
}

std::unique_lock<std::mutex> direct_writer::lock_for_send(protocol::byte_buffer& bytes) {
  std::unique_lock<std::mutex> guard{mtx_};
  prepend_rest(bytes);
  return guard;
}

void direct_writer::take_rest(protocol::byte_buffer& bytes) {
  std::lock_guard<std::mutex> guard{mtx_};
  prepend_rest(bytes);
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
