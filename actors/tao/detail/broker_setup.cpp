#include "tao/detail/broker_setup.hpp"

#include <caf/actor_system.hpp>

#include "tao/detail/connection_actor.hpp"
#include "tao/detail/sent_meter.hpp"
#include "tao/detail/validate.hpp"

namespace tao::detail {

std::shared_ptr<net::broker_setup>
make_broker_setup(caf::actor_system& sys, std::shared_ptr<const connection_options> options,
                  tao::server server, caf::actor owner, tao::supervisor supervisor) {
  auto setup = std::make_shared<net::broker_setup>();
  setup->codec = options->codec;
  setup->read_chunk_size = options->read_chunk_size;
  setup->min_read_chunk_size = options->min_read_chunk_size;
  setup->high_water_mark = options->high_water_mark;
  setup->low_water_mark =
    options->low_water_mark > 0 ? options->low_water_mark : options->high_water_mark / 4;
  setup->disconnect_slow_consumers = options->overflow == overflow_policy::disconnect;
  setup->inbound_limit = options->inbound_limit;
  setup->drain_timeout = options->drain_timeout;
  setup->simulated = uses_test_multiplexer(sys);
  setup->owner = owner;
  if (options->metrics)
    setup->on_write = [meter = std::make_shared<sent_meter>(options->metrics, options->codec)](
                        const protocol::byte_buffer& bytes) {
      (*meter)(bytes);
    };
  setup->make_sink = [options, server, owner, supervisor](net::broker_io& io,
                                                          const net::connection_info& info) {
    return make_connection_sink(io, info, options, server, owner, supervisor);
  };
  return setup;
}

} // namespace tao::detail
