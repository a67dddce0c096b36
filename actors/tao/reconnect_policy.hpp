#pragma once

#include <chrono>
#include <cstdint>
#include <random>

#include <caf/meta/type_name.hpp>
#include <caf/timespan.hpp>

namespace tao {

/// How a client is restarted after its connection was lost or could not be
/// made (Tao's `ReconnectOption`, with the defects fixed: delays, backoff,
/// jitter, an attempt limit, never after a deliberate close, never by exiting
/// the process). A value; the supervisor applies it.
struct reconnect_policy {
  /// Reconnect at all after the connection was lost or could not be made.
  bool enabled = false;
  /// Upper bound of the first delay.
  caf::timespan initial_delay = std::chrono::milliseconds(100);
  /// Growth of the bound per failed attempt.
  double factor = 2.0;
  /// Largest bound.
  caf::timespan max_delay = std::chrono::seconds(30);
  /// Attempts after a loss before giving up; 0 retries forever.
  unsigned max_attempts = 0;
  /// Full jitter (AWS style): each delay is uniform in [0, bound]. Without it
  /// the delay is the bound itself. Jitter keeps many clients of one server
  /// from reconnecting in lockstep after it restarts.
  bool jitter = true;

  /// The bound of attempt `n` (0-based): min(max_delay, initial * factor^n).
  caf::timespan bound(unsigned n) const noexcept;

  /// The delay before attempt `n` (0-based), drawn from `rng` with jitter.
  caf::timespan delay(unsigned n, std::minstd_rand& rng) const;

  /// True if attempt `n` (0-based) may still be made.
  bool allows(unsigned n) const noexcept {
    return enabled && (max_attempts == 0 || n < max_attempts);
  }
};

/// CAF inspection for `reconnect_policy`.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reconnect_policy& x) {
  return f(caf::meta::type_name("tao.reconnect_policy"), x.enabled, x.initial_delay, x.factor,
           x.max_delay, x.max_attempts, x.jitter);
}

} // namespace tao
