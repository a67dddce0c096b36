#pragma once

#include <caf/error.hpp>
#include <caf/fwd.hpp>

#include "tao/options.hpp"

namespace tao::detail {

/// Checks what servers and clients need alike: a middleman in `sys`, a
/// codec, a handler table whose registrations all succeeded, and options that
/// agree with each other. Fails with `errc::invalid_argument` (or the
/// table's registration error), naming the option.
caf::error validate(caf::actor_system& sys, const connection_options& opts);

/// True if `sys` runs on CAF's test multiplexer (the deterministic tests).
bool uses_test_multiplexer(caf::actor_system& sys);

/// Checks `io_threads` against `io_pool`: at least 1; above 1 only with a
/// pool offering that many, and not on CAF's test multiplexer (whose
/// deterministic run covers one I/O thread). Fails with
/// `errc::invalid_argument`.
caf::error validate_io_threads(caf::actor_system& sys, const connection_options& opts);

} // namespace tao::detail
