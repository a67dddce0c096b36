#include "tao/io_pool.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>

namespace tao {

// The config must outlive its system (CAF keeps a reference), hence both in
// one object, config first.
struct io_pool::shard_system {
  caf::actor_system_config cfg;
  caf::actor_system sys;

  static caf::actor_system_config& configure(caf::actor_system_config& cfg,
                                             const configure_fn& user) {
    cfg.load<caf::io::middleman>();
    // Mostly brokers run here: one scheduler thread, idle unless the shard's
    // connections use scheduled dispatch (their handler actors run on it).
    cfg.set("scheduler.max-threads", 1);
    if (user)
      user(cfg);
    return cfg;
  }

  explicit shard_system(const configure_fn& user) : sys(configure(cfg, user)) {
  }
};

io_pool::io_pool(size_t io_threads, const configure_fn& configure) {
  for (size_t i = 1; i < std::min(io_threads, max_io_threads); ++i)
    shards_.push_back(std::make_unique<shard_system>(configure));
}

io_pool::~io_pool() = default;

caf::actor_system& io_pool::shard(size_t i) const {
  if (i == 0 || i > shards_.size())
    throw std::out_of_range("io_pool: no shard " + std::to_string(i));
  return shards_[i - 1]->sys;
}

} // namespace tao
