#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <caf/expected.hpp>

namespace tao::net {

/// A listening TCP socket owned by the caller (not by a CAF doorman).
struct listening_socket {
  /// The descriptor (non-blocking, close-on-exec).
  int fd = -1;
  /// The port it listens on (the ephemeral one if 0 was asked).
  uint16_t port = 0;
};

/// Binds `host:port` (a literal or a name; the first address that binds)
/// and listens with the system's largest backlog. Fails with
/// `errc::network_failure` naming the address and the system's reason.
caf::expected<listening_socket> listen_tcp(const std::string& host, uint16_t port,
                                           bool reuse_address);

/// Accepts connections on a thread of its own and hands every socket to a
/// callback, for servers whose connections live on several event loops
/// (`tao::io_pool`). Every socket is non-blocking and close-on-exec; the
/// callback owns it (closes it if it cannot use it).
///
/// Accept failures (no descriptors left, no memory) are counted and retried
/// after a short pause instead of spinning; connections aborted before
/// they were accepted are skipped.
///
/// Thread-safety: construct, `start` and `stop` from one thread at a time (never from the
/// callback); `accept_failures` from any thread.
class socket_dealer {
public:
  /// Called on the dealer's thread: the socket and the index of its
  /// listener in the vector given to the constructor.
  using deal_fn = std::function<void(int fd, size_t listener)>;

  /// Takes ownership of `listeners`; accepts nothing before `start`. Throws
  /// `std::system_error` if the wake-up descriptor cannot be created.
  socket_dealer(std::vector<int> listeners, deal_fn deal);

  /// Starts accepting on the dealer's thread. Call once.
  void start();

  /// Stops (see `stop`).
  ~socket_dealer();

  socket_dealer(const socket_dealer&) = delete;
  socket_dealer& operator=(const socket_dealer&) = delete;

  /// Stops accepting: wakes the thread, joins it, closes the listeners.
  /// After it returns the callback is never called again. Idempotent.
  void stop();

  /// Accept calls that failed for lack of resources so far.
  uint64_t accept_failures() const noexcept {
    return accept_failures_.load(std::memory_order_relaxed);
  }

private:
  void run();
  /// Accepts what `listener` has queued; false if it must pause (resources).
  bool drain(size_t listener);

  std::vector<int> listeners_;
  deal_fn deal_;
  int wake_fd_ = -1;
  std::atomic<uint64_t> accept_failures_{0};
  std::thread thread_;
};

} // namespace tao::net
