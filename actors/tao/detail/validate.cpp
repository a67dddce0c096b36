#include "tao/detail/validate.hpp"

#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/config_value.hpp>

#include "tao/io_pool.hpp"
#include "tao/protocol/error.hpp"

namespace tao::detail {

using protocol::errc;

namespace {

caf::error invalid(std::string what) {
  return protocol::make_error(errc::invalid_argument, std::move(what));
}

} // namespace

caf::error validate(caf::actor_system& sys, const connection_options& o) {
  if (!sys.has_middleman())
    return invalid("the actor system has no middleman: call cfg.load<caf::io::middleman>() "
                   "before creating it");
  if (!o.codec)
    return invalid("no codec");
  if (o.handlers.error())
    return o.handlers.error();
  if (o.read_chunk_size == 0)
    return invalid("read_chunk_size must be positive");
  if (o.min_read_chunk_size == 0 || o.min_read_chunk_size > o.read_chunk_size)
    return invalid("min_read_chunk_size must be positive and at most read_chunk_size ("
                   + std::to_string(o.read_chunk_size) + ")");
  if (o.high_water_mark == 0)
    return invalid("high_water_mark must be positive");
  if (o.low_water_mark > o.high_water_mark)
    return invalid("low_water_mark (" + std::to_string(o.low_water_mark)
                   + ") must not exceed high_water_mark (" + std::to_string(o.high_water_mark)
                   + ")");
  if (o.inbound_limit == 0)
    return invalid("inbound_limit must be positive");
  if (o.heartbeat_period.count() > 0 && o.heartbeat_misses == 0)
    return invalid("heartbeat_misses must be positive when heartbeat_period is set");
  if (o.heartbeat_period.count() < 0 || o.read_idle_timeout.count() < 0
      || o.write_idle_timeout.count() < 0 || o.first_message_timeout.count() < 0
      || o.drain_timeout.count() < 0)
    return invalid("timeouts must not be negative");
  return {};
}

bool uses_test_multiplexer(caf::actor_system& sys) {
  return caf::get_or(sys.config(), "middleman.network-backend", caf::atom("default"))
         == caf::atom("testing");
}

caf::error validate_io_threads(caf::actor_system& sys, const connection_options& o) {
  if (o.io_threads == 0)
    return invalid("io_threads must be positive");
  if (o.io_threads == 1)
    return {};
  if (!o.io_pool)
    return invalid("io_threads " + std::to_string(o.io_threads)
                   + " needs an io_pool: declare a tao::io_pool before the actor system and "
                     "set io_pool to it");
  if (o.supervisor)
    return invalid("a shared supervisor cannot watch connections on several I/O threads (it "
                   "reads their clocks on its own thread): leave supervisor empty with "
                   "io_threads above 1, each I/O thread then gets its own");
  if (o.io_pool->io_threads() < o.io_threads)
    return invalid("io_threads " + std::to_string(o.io_threads) + " exceeds the io_pool's "
                   + std::to_string(o.io_pool->io_threads()));
  if (uses_test_multiplexer(sys))
    return invalid("io_threads above 1 needs real sockets, not CAF's test multiplexer");
  return {};
}

} // namespace tao::detail
