#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/expected.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/network/test_multiplexer.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/sec.hpp>

#include "tao/client.hpp"
#include "tao/server.hpp"
#include "tao/test/config.hpp"

namespace tao::test {

/// An actor system on CAF's test coordinator and test multiplexer, driven by
/// the test: nothing runs until `run` or `advance` is called, time is
/// virtual, no thread and no socket is involved. Use it as a Boost.Test
/// fixture (`BOOST_FIXTURE_TEST_SUITE(name, tao::test::fixture)`) or as a
/// member. Servers and clients started on `sys` run as in production,
/// handlers, timers, heartbeats and reconnect backoff included; peers are
/// simulated (`scripted_peer`). Not thread-safe: one test thread drives it.
class fixture {
public:
  /// The configuration (see `tao::test::config`).
  config cfg;
  /// The actor system under test.
  caf::actor_system sys{cfg};
  /// CAF's deterministic scheduler of `sys`.
  caf::scheduler::test_coordinator& sched =
    dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  /// CAF's simulated network of `sys`.
  caf::io::network::test_multiplexer& mpx =
    dynamic_cast<caf::io::network::test_multiplexer&>(sys.middleman().backend());

  /// Stops the servers and closes the clients started with `start_server`
  /// and `start_client` (virtual time runs on to let them drain), then
  /// cancels the timers still pending in the virtual clock (they hold their
  /// receivers), so that the system can shut down. Actors the test spawned
  /// itself must be gone by then (CAF's actor system waits for every actor).
  ~fixture() {
    try {
      for (auto& srv : servers_)
        srv.stop();
      for (auto& cli : clients_)
        cli.close();
      servers_.clear();
      clients_.clear();
      run();
      for (int i = 0; i < 60; ++i)
        advance(std::chrono::seconds(1));
    } catch (...) {
      // A system that does not settle still gets its timers cancelled.
    }
    sched.clock().cancel_all();
  }

  // -- driving ----------------------------------------------------------------

  /// Runs every actor and every I/O event until nothing is left to do. Timers
  /// do not fire (time stands still). Throws `std::runtime_error` if the
  /// system does not settle within a million steps (a livelock).
  void run() {
    for (size_t i = 0; i < 1'000'000; ++i)
      if (!sched.try_run_once() && !mpx.try_exec_runnable() && !mpx.try_read_data())
        return;
    throw std::runtime_error("tao::test::fixture: the actor system did not settle");
  }

  /// Advances virtual time by `d`, firing every timer due on the way (timers,
  /// heartbeats, idle checks, reconnect delays), and runs.
  void advance(caf::timespan d) {
    sched.advance_time(d);
    run();
  }

  /// Advances virtual time in steps of `step` until `d` has passed, running
  /// after each step: timers that re-arm themselves (a heartbeat every
  /// `step`) fire once per step, as they would in real time.
  void advance_by_steps(caf::timespan d, caf::timespan step) {
    for (caf::timespan t{0}; t < d; t += step)
      advance(step);
  }

  // -- the simulated network --------------------------------------------------

  /// Makes `port` listenable (a server must find an acceptor there) and
  /// returns the acceptor's handle.
  caf::io::accept_handle provide_acceptor(uint16_t port) {
    auto hdl = caf::io::accept_handle::from_int(next_handle_++);
    mpx.provide_acceptor(port, hdl);
    return hdl;
  }

  /// Simulates a peer connecting through acceptor `acc`; runs.
  caf::io::connection_handle connect(caf::io::accept_handle acc) {
    auto hdl = caf::io::connection_handle::from_int(next_handle_++);
    mpx.add_pending_connect(acc, hdl);
    mpx.accept_connection(acc);
    run();
    return hdl;
  }

  /// Makes `host:port` reachable for one connection attempt of a client and
  /// returns the connection's handle (the simulated peer's side).
  caf::io::connection_handle provide_peer(const std::string& host, uint16_t port) {
    auto hdl = caf::io::connection_handle::from_int(next_handle_++);
    mpx.provide_scribe(host, port, hdl);
    return hdl;
  }

  /// Simulates the peer of `hdl` sending `bytes`; runs.
  void send(caf::io::connection_handle hdl, std::string_view bytes) {
    mpx.virtual_send(hdl,
                     caf::io::network::test_multiplexer::buffer_type(bytes.begin(), bytes.end()));
    run();
  }

  /// Simulates the peer of `hdl` closing (its FIN reaches tao); runs.
  void peer_close(caf::io::connection_handle hdl) {
    if (auto& ptr = mpx.impl_ptr(hdl))
      ptr->io_failure(&mpx, caf::io::network::operation::read);
    run();
  }

  /// Takes (and clears) what tao wrote to `hdl` so far.
  std::string take_output(caf::io::connection_handle hdl) {
    auto& buf = mpx.output_buffer(hdl);
    std::string result(buf.begin(), buf.end());
    buf.clear();
    return result;
  }

  /// True once tao closed its side of `hdl`.
  bool closed_by_tao(caf::io::connection_handle hdl) {
    return mpx.stopped_reading(hdl);
  }

  // -- servers and clients ----------------------------------------------------

  /// Starts a server on `opts.port` (8080 if 0), providing its acceptor;
  /// runs. Returns the server or why it did not start. The fixture stops it
  /// at the end if the test did not.
  caf::expected<server> start_server(server_options opts) {
    if (opts.port == 0)
      opts.port = 8080;
    acceptor_ = provide_acceptor(opts.port);
    auto res = server::start(sys, std::move(opts));
    if (res)
      servers_.push_back(*res);
    run();
    return res;
  }

  /// The acceptor of the last `start_server`; `connect(acceptor())` is a new
  /// peer of that server.
  caf::io::accept_handle acceptor() const noexcept {
    return acceptor_;
  }

  /// Starts a client; runs. It connects at once if `provide_peer` made its
  /// `host:port` reachable, and otherwise fails its attempt as a refused
  /// connection would (then reconnects by its policy, in virtual time). The
  /// fixture closes it at the end if the test did not.
  caf::expected<client> start_client(client_options opts) {
    auto res = client::start(sys, std::move(opts));
    if (res)
      clients_.push_back(*res);
    run();
    return res;
  }

  // -- asking actors ----------------------------------------------------------

  /// Sends `xs...` to `dest` as a request (typed or not), runs, and returns
  /// the answer: a value for `R`, or for `R = void` an empty `expected`
  /// (an answer without a value, e.g. `stop_atom`'s). Fails with the
  /// request's error, or with `sec::request_receiver_down` if no answer
  /// came while the system ran.
  template <class R, class Handle, class... Ts>
  caf::expected<R> ask(const Handle& dest, Ts... xs) {
    auto result = std::make_shared<std::optional<caf::expected<R>>>();
    sys.spawn(
      [result](caf::event_based_actor* self, Handle to, std::tuple<Ts...> args) {
        std::apply(
          [&](auto&... ys) {
            auto on_error = [result](caf::error& err) {
              *result = std::move(err);
            };
            if constexpr (std::is_void_v<R>)
              self->request(to, caf::infinite, std::move(ys)...)
                .then([result] { *result = caf::expected<void>{}; }, on_error);
            else
              self->request(to, caf::infinite, std::move(ys)...)
                .then([result](R& x) { *result = std::move(x); }, on_error);
          },
          args);
      },
      dest, std::make_tuple(std::move(xs)...));
    run();
    if (!*result)
      return caf::make_error(caf::sec::request_receiver_down);
    return std::move(**result);
  }

private:
  int64_t next_handle_ = 1000;
  caf::io::accept_handle acceptor_;
  std::vector<server> servers_;
  std::vector<client> clients_;
};

} // namespace tao::test
