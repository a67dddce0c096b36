#pragma once

#include <memory>

#include <spdlog/spdlog.h>

namespace tao::detail {

/// The logger of a tao component, e.g. "tao.server"; created on first use
/// with the sink and level of `configure_logging`. Thread-safe.
spdlog::logger& logger(const char* name);

} // namespace tao::detail
