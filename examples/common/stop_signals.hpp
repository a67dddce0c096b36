#pragma once

// SIGINT and SIGTERM as an event main waits for: blocked in every thread
// (construct it before the actor system starts its threads), then awaited
// with `wait`, so that main can stop servers gracefully.

#include <csignal>

#include <pthread.h>

namespace tao::examples {

/// Blocks SIGINT and SIGTERM for the calling thread and every thread it
/// starts afterwards. Not thread-safe; one per program, in main.
class stop_signals {
public:
  stop_signals() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  }

  /// Waits until one of the signals arrives; returns it.
  int wait() {
    int sig = 0;
    sigwait(&set_, &sig);
    return sig;
  }

private:
  sigset_t set_;
};

} // namespace tao::examples
