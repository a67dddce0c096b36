#pragma once

#include <chrono>
#include <type_traits>

#include <caf/actor_system.hpp>
#include <caf/timespan.hpp>

#include "tao/client.hpp"
#include "tao/server.hpp"

namespace tao {

/// Starts catching SIGINT and SIGTERM for `wait_for_stop_signal`: from this
/// call on, either signal is recorded instead of killing the process, and
/// after the first one arrives the next is not caught (a second Ctrl-C ends
/// a program whose graceful stop hangs). Installs process-wide handlers
/// (`sigaction`, `SA_RESTART`), so call it in main, before announcing that
/// the program is ready: a signal that arrives earlier still kills it.
/// Idempotent; thread-safe.
void catch_stop_signals();

/// Blocks until SIGINT or SIGTERM arrived (since `catch_stop_signals`, which
/// it calls); returns the signal number. Thread-safe; one waiter per signal.
int wait_for_stop_signal();

/// Stops `srv` gracefully (no more accepts; queued writes delivered within
/// the drain timeout) and waits up to `timeout` for it. True if it stopped
/// in time. Does nothing for an invalid handle. Thread-safe.
bool stop_gracefully(caf::actor_system& sys, const server& srv,
                     caf::timespan timeout = std::chrono::seconds(10));

/// Closes `cli` deliberately (no reconnect; queued writes delivered within
/// the drain timeout) and waits up to `timeout` until it is gone. True if it
/// is gone in time. Does nothing for an invalid handle or a client that
/// already gave up. Thread-safe.
bool stop_gracefully(caf::actor_system& sys, const client& cli,
                     caf::timespan timeout = std::chrono::seconds(10));

/// Runs a program until SIGINT or SIGTERM, then stops it gracefully: waits
/// for the signal (`wait_for_stop_signal`), then stops each of `parts` in
/// the order given, each bounded by 10 s. A part is a `tao::server`, a
/// `tao::client` (`stop_gracefully`), or anything callable with no
/// arguments (the program's own shutdown step). Returns the signal number.
///
/// Usage, the whole end of a server's main:
///
///   tao::catch_stop_signals();                 // first thing in main
///   ...
///   auto srv = tao::server::start(sys, opts);
///   std::cout << "listening on " << srv->port() << std::endl;
///   tao::run_until_signal(sys, *srv);
///   return 0;
///
/// CAF 0.17 waits for every broker when the actor system is destroyed, so a
/// server or client still running then would hang the program: pass them
/// all. Call it from main only.
template <class... Parts>
int run_until_signal(caf::actor_system& sys, const Parts&... parts) {
  int sig = wait_for_stop_signal();
  auto stop = [&sys](const auto& part) {
    if constexpr (std::is_invocable_v<const decltype(part)&>)
      part();
    else
      stop_gracefully(sys, part);
  };
  (stop(parts), ...);
  return sig;
}

} // namespace tao
