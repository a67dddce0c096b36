#pragma once

#include "tao/protocol/error.hpp"

namespace tao {

/// The error codes users handle (`slow_consumer`, `network_failure`,
/// `heartbeat_timeout`, ...), carried in a `caf::error` of category "tao".
/// The same enumeration as `tao::protocol::errc`, named where users look.
using errc = protocol::errc;

/// The name of `x`, e.g. "slow_consumer".
using protocol::to_string;

/// True if `err` is the tao error `x`.
using protocol::is;

/// Makes a `caf::error` with code `x` and an optional context text.
using protocol::make_error;

/// Renders any `caf::error` as text, e.g. "tao.slow_consumer: 5242880
/// bytes queued on connection 7".
using protocol::render;

} // namespace tao
