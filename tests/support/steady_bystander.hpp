#pragma once

// A client that echoes on its own thread throughout a test, checking every
// reply: the "other connections keep their traffic" half of the reliability
// cases. Boost.Test macros stay on the main thread.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "support/tlv_socket.hpp"

namespace tao::test {

/// Sends a type-1 frame, reads its echo and compares it, then pauses for
/// `pace` (traffic shaping, not a wait for an outcome), until `stop`.
class steady_bystander {
public:
  explicit steady_bystander(uint16_t port,
                            std::chrono::milliseconds pace = std::chrono::milliseconds{5})
    : sock_(port), pace_(pace), thread_([this] { run(); }) {
  }

  steady_bystander(const steady_bystander&) = delete;
  steady_bystander& operator=(const steady_bystander&) = delete;

  ~steady_bystander() {
    stop();
  }

  /// Stops the thread; returns the number of failed round trips.
  int stop() {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable())
      thread_.join();
    return failures_;
  }

  /// Round trips completed so far.
  int completed() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return completed_;
  }

  /// Waits (at most 10 s) until `n` more round trips completed; false on a
  /// failed round trip or at the bound.
  bool await_more(int n) const {
    std::unique_lock<std::mutex> lock{mtx_};
    auto want = completed_ + n;
    cv_.wait_for(lock, std::chrono::seconds{10},
                 [&] { return completed_ >= want || failures_ > 0 || done_; });
    return completed_ >= want;
  }

private:
  void run() {
    for (int i = 0;; ++i) {
      auto payload = "steady " + std::to_string(i);
      auto f = sock_.send(1, payload) ? sock_.read() : std::nullopt;
      std::unique_lock<std::mutex> lock{mtx_};
      if (f && f->payload == payload)
        ++completed_;
      else
        ++failures_;
      cv_.notify_all();
      if (cv_.wait_for(lock, pace_, [this] { return done_; }))
        return;
    }
  }

  tlv_socket sock_;
  std::chrono::milliseconds pace_;
  mutable std::mutex mtx_;
  mutable std::condition_variable cv_;
  bool done_ = false;
  int completed_ = 0;
  int failures_ = 0;
  std::thread thread_;
};

} // namespace tao::test
