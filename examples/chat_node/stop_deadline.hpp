#pragma once

// A deadline on the end of the process once a stop began. CAF 0.17's actor
// system waits in its destructor for every actor and detached thread,
// including the middleman's, which may be blocked in connect() towards an
// unreachable node until the kernel gives up (minutes). Past the deadline the
// process exits without waiting: connects in flight are abandoned.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace chat_node {

/// Exits the process with `std::_Exit(0)` if it is still running `grace`
/// after `arm`. Construct it before the actor system so that it outlives
/// the system's destructor. Thread-safe.
class stop_deadline {
public:
  /// `report` is called (from the deadline's thread) just before exiting,
  /// with the milliseconds since `arm`.
  explicit stop_deadline(std::function<void(long long)> report) : report_(std::move(report)) {
  }

  ~stop_deadline() {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable())
      thread_.join();
  }

  stop_deadline(const stop_deadline&) = delete;
  stop_deadline& operator=(const stop_deadline&) = delete;

  /// Starts the countdown (once).
  void arm(std::chrono::milliseconds grace) {
    if (thread_.joinable())
      return;
    auto start = std::chrono::steady_clock::now();
    thread_ = std::thread{[this, grace, start] {
      std::unique_lock<std::mutex> guard{mtx_};
      if (cv_.wait_until(guard, start + grace, [this] { return done_; }))
        return;
      report_(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now()
                                                                    - start)
                .count());
      std::_Exit(0);
    }};
  }

private:
  std::function<void(long long)> report_;
  std::mutex mtx_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

} // namespace chat_node
