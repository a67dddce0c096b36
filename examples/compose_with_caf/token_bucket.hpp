#pragma once

// A token bucket: `rate` tokens per second, at most `burst` saved up.

#include <algorithm>
#include <chrono>

#include "tao/connection.hpp"

namespace compose {

/// Rate limiter for one room. Time is passed in (the owning actor's clock),
/// so the bucket is a plain value, testable without any clock. Not
/// thread-safe: owned by one actor.
class token_bucket {
public:
  /// A full bucket refilled at `rate` tokens per second, holding at most
  /// `burst` tokens. `rate` > 0 and `burst` >= 1 are the caller's duty.
  token_bucket(double rate, double burst, tao::time_point now)
    : rate_(rate), burst_(burst), tokens_(burst), last_(now) {
  }

  /// Takes one token if there is one at `now`; returns whether it did.
  /// `now` must not go backwards.
  bool try_take(tao::time_point now) {
    refill(now);
    if (tokens_ < 1.0)
      return false;
    tokens_ -= 1.0;
    return true;
  }

  /// Tokens available at the last `try_take`.
  double tokens() const noexcept {
    return tokens_;
  }

private:
  void refill(tao::time_point now) {
    std::chrono::duration<double> elapsed = now - last_;
    last_ = now;
    tokens_ = std::min(burst_, tokens_ + elapsed.count() * rate_);
  }

  double rate_;
  double burst_;
  double tokens_;
  tao::time_point last_;
};

} // namespace compose
