#pragma once

#include <atomic>
#include <cstddef>

namespace tao::net {

/// Inbound backpressure between a connection broker and the actor running
/// its handlers: bytes handed over but not yet handled. The broker `add`s each
/// batch it sends and stops reading when the window is full; the handler
/// actor `consume`s each batch it finished and, when that reopens a full
/// window, tells the broker to read again. Memory between socket and handlers
/// is thus bounded by the limit plus one read.
///
/// Thread-safe: lock-free atomics.
class inbound_window {
public:
  /// A window of `limit` bytes.
  explicit inbound_window(size_t limit) noexcept : limit_(limit) {
  }

  /// Adds `n` in-flight bytes. Returns true if the window is now full and the
  /// broker must stop reading (the window remembers it was stopped).
  bool add(size_t n) noexcept {
    if (in_flight_.fetch_add(n) + n < limit_)
      return false;
    stopped_.store(true);
    // The handler actor may have drained the window between our add and the
    // store above without seeing the stop; whoever flips the flag back wins.
    if (in_flight_.load() <= limit_ / 2 && stopped_.exchange(false))
      return false;
    return true;
  }

  /// Removes `n` handled bytes. Returns true exactly once after a stop, when
  /// the window fell to half the limit: the caller must resume the reader.
  bool consume(size_t n) noexcept {
    auto now = in_flight_.fetch_sub(n) - n;
    if (now > limit_ / 2 || !stopped_.load() || !stopped_.exchange(false))
      return false;
    // The stop just cleared may be newer than `now`: the broker can have
    // resumed on its own in `add`, filled the window and stopped again in
    // between. Resume only if the window is still half empty; otherwise put
    // the stop back for a later `consume` (bytes are in flight, so one
    // comes). Only the handler actor consumes, so nothing else drains the
    // window meanwhile.
    if (in_flight_.load() <= limit_ / 2)
      return true;
    stopped_.store(true);
    return false;
  }

  /// Bytes handed over and not yet handled.
  size_t in_flight() const noexcept {
    return in_flight_.load(std::memory_order_relaxed);
  }

  /// True while the reader is stopped.
  bool stopped() const noexcept {
    return stopped_.load();
  }

private:
  std::atomic<size_t> in_flight_{0};
  std::atomic<bool> stopped_{false};
  size_t limit_;
};

} // namespace tao::net
