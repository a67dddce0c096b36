#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include <caf/actor_system.hpp>

namespace tao {

/// Extra I/O threads for servers and clients: Netty's worker group, muduo's
/// `EventLoopThreadPool`. CAF 0.17 runs every broker of an actor system on
/// that system's one multiplexer thread, so each extra I/O thread is an I/O
/// *shard*: an actor system of its own with a middleman and a single
/// scheduler thread, on which only tao's brokers run. Shard 0 is always the
/// user's actor system; a pool for N I/O threads owns shards 1 to N - 1.
///
/// Give it to `server_options::io_pool` (or `client_options::io_pool`) with
/// `io_threads` up to `io_threads()`; several servers and clients may share
/// one pool.
///
/// Lifetime, which CAF 0.17 makes strict: a shard system may only be
/// destroyed once nothing can send to its brokers. Declare the pool *before*
/// the user's `caf::actor_system`, so that it is destroyed after it, and
/// stop every server and client using it before that (as without a pool):
///
/// @code
///   tao::io_pool pool{cfg.server.io_threads};   // first
///   caf::actor_system sys{cfg};                 // then the user's system
///   opts.io_pool = &pool;
/// @endcode
///
/// Construction and destruction are not thread-safe; `shard` is.
class io_pool {
public:
  /// Most I/O threads one pool offers (connection ids keep the shard in
  /// their top 8 bits).
  static constexpr size_t max_io_threads = 256;

  /// Adjusts a shard's configuration before its system starts (e.g.
  /// `middleman.max-consecutive-reads`); the pool has already loaded the
  /// middleman and set one scheduler thread.
  using configure_fn = std::function<void(caf::actor_system_config&)>;

  /// A pool offering `io_threads` I/O threads in all, i.e. `io_threads - 1`
  /// shards, each configured by `configure` if given; 0 and 1 create
  /// nothing, more than `max_io_threads` create `max_io_threads - 1` (a
  /// server or client asking for more is then refused with
  /// `errc::invalid_argument`, as for any `io_threads` above the pool's).
  explicit io_pool(size_t io_threads = 1, const configure_fn& configure = nullptr);

  /// Destroys the shards (each waits for its actors). Every server and
  /// client using the pool must have stopped, and the user's actor system
  /// been destroyed, before.
  ~io_pool();

  io_pool(const io_pool&) = delete;
  io_pool& operator=(const io_pool&) = delete;

  /// I/O threads offered: the user's system plus the shards.
  size_t io_threads() const noexcept {
    return shards_.size() + 1;
  }

  /// The actor system of shard `i`, 1 <= i < io_threads().
  caf::actor_system& shard(size_t i) const;

private:
  struct shard_system;
  std::vector<std::unique_ptr<shard_system>> shards_;
};

} // namespace tao
