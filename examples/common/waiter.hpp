#pragma once

// State shared between CAF callbacks and main in the examples' self-tests:
// callbacks update it under a lock, main waits for a condition with a bound.

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace tao::examples {

/// A value of type `T` guarded by a mutex, with a condition variable to
/// wait for changes. Thread-safe: `update` and `wait_for` may be called from
/// any thread; `T` is only touched under the lock.
template <class T>
class waiter {
public:
  /// Runs `f(T&)` under the lock and wakes every waiter.
  template <class F>
  void update(F f) {
    std::lock_guard<std::mutex> guard{mtx_};
    f(state_);
    cv_.notify_all();
  }

  /// Waits until `pred(const T&)` holds or `timeout` passed; returns whether
  /// it held.
  template <class Rep, class Period, class Pred>
  bool wait_for(std::chrono::duration<Rep, Period> timeout, Pred pred) {
    std::unique_lock<std::mutex> guard{mtx_};
    return cv_.wait_for(guard, timeout, [&] { return pred(state_); });
  }

  /// A copy of the state.
  T get() {
    std::lock_guard<std::mutex> guard{mtx_};
    return state_;
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  T state_{};
};

} // namespace tao::examples
