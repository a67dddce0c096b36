#pragma once

// Events from callbacks on other threads, awaited with a bound (loopback
// tests wait on events, never on sleeps).

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

namespace tao::test {

/// A thread-safe list of event names.
class event_log {
public:
  /// Records `x` and wakes waiters.
  void add(std::string x) {
    std::lock_guard<std::mutex> guard{mtx_};
    events_.push_back(std::move(x));
    cv_.notify_all();
  }

  /// How often `x` was recorded so far.
  size_t count(const std::string& x) {
    std::lock_guard<std::mutex> guard{mtx_};
    return static_cast<size_t>(std::count(events_.begin(), events_.end(), x));
  }

  /// The latest event starting with `prefix`, or an empty string.
  std::string latest(const std::string& prefix) {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto i = events_.rbegin(); i != events_.rend(); ++i)
      if (i->compare(0, prefix.size(), prefix) == 0)
        return *i;
    return {};
  }

  /// Waits until `x` was recorded `n` times; false after `bound`.
  bool wait_for(const std::string& x, size_t n = 1,
                std::chrono::seconds bound = std::chrono::seconds(10)) {
    std::unique_lock<std::mutex> guard{mtx_};
    return cv_.wait_for(guard, bound, [&] {
      return static_cast<size_t>(std::count(events_.begin(), events_.end(), x)) >= n;
    });
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<std::string> events_;
};

} // namespace tao::test
