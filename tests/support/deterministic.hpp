#pragma once

// A CAF actor system on the deterministic test scheduler and the test
// multiplexer: no threads, no sockets, virtual time. Usable from plain
// Boost.Test (no CAF test runner).

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/network/test_multiplexer.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include "tao/logging.hpp"
#include "tao/protocol/byte_order.hpp"
#include "tao/protocol/frame.hpp"

namespace tao::test {

/// Actor system configuration for deterministic tests.
struct deterministic_config : caf::actor_system_config {
  deterministic_config() {
    set("scheduler.policy", caf::atom("testing"));
    set("logger.inline-output", true);
    set("middleman.network-backend", caf::atom("testing"));
    set("middleman.manual-multiplexing", true);
    set("middleman.workers", size_t{0});
    load<caf::io::middleman>();
    // Test output shows failures, not servers starting and stopping.
    tao::log_options quiet;
    quiet.level = tao::log_level::warn;
    tao::configure_logging(quiet);
  }
};

/// Owns a deterministic actor system and drives it.
struct deterministic_fixture {
  deterministic_config cfg;
  caf::actor_system sys{cfg};
  caf::scheduler::test_coordinator& sched =
    dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  caf::io::network::test_multiplexer& mpx =
    dynamic_cast<caf::io::network::test_multiplexer&>(sys.middleman().backend());
  int64_t next_handle = 1000;

  ~deterministic_fixture() {
    // Timers still pending in the virtual clock hold strong references to
    // their receivers, which the test clock never releases on its own.
    if (std::getenv("TAO_DEBUG_FIXTURE"))
      fprintf(stderr, "running=%zu pending=%d\n", sys.registry().running(),
              (int)sched.has_pending_timeout());
    sched.clock().cancel_all();
  }

  /// Runs every actor and I/O event until nothing is left (timers excluded).
  void run() {
    for (size_t i = 0; i < 1'000'000; ++i)
      if (!sched.try_run_once() && !mpx.try_exec_runnable() && !mpx.try_read_data())
        return;
    throw std::runtime_error("deterministic system did not settle");
  }

  /// Advances virtual time by `d`, firing due timers, and runs.
  void advance(caf::timespan d) {
    sched.advance_time(d);
    run();
  }

  /// Provides an acceptor for `port` (call before starting a server there).
  caf::io::accept_handle provide_acceptor(uint16_t port) {
    auto hdl = caf::io::accept_handle::from_int(next_handle++);
    mpx.provide_acceptor(port, hdl);
    return hdl;
  }

  /// Simulates a client connecting through acceptor `acc`.
  caf::io::connection_handle connect(caf::io::accept_handle acc) {
    auto hdl = caf::io::connection_handle::from_int(next_handle++);
    mpx.add_pending_connect(acc, hdl);
    mpx.accept_connection(acc);
    run();
    return hdl;
  }

  /// Simulates the peer sending `bytes`.
  void send(caf::io::connection_handle hdl, std::string_view bytes) {
    mpx.virtual_send(hdl,
                     caf::io::network::test_multiplexer::buffer_type(bytes.begin(), bytes.end()));
    run();
  }

  /// Simulates the peer closing the connection.
  void peer_close(caf::io::connection_handle hdl) {
    if (auto& ptr = mpx.impl_ptr(hdl))
      ptr->io_failure(&mpx, caf::io::network::operation::read);
    run();
  }

  /// Takes (and clears) what the server wrote to `hdl`.
  std::string take_output(caf::io::connection_handle hdl) {
    auto& buf = mpx.output_buffer(hdl);
    std::string result(buf.begin(), buf.end());
    buf.clear();
    return result;
  }
};

/// One TLV frame as bytes.
inline std::string tlv(int32_t type, std::string_view payload) {
  std::string result(protocol::tlv_header_size, '\0');
  protocol::store_le32(result.data(), static_cast<uint32_t>(type));
  protocol::store_le32(result.data() + 4, static_cast<uint32_t>(payload.size()));
  result.append(payload);
  return result;
}

} // namespace tao::test
