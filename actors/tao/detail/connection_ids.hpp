#pragma once

#include <cstdint>

namespace tao::detail {

/// A new process-unique connection id (Tao's NetID), starting at 1; 0 is
/// never used. Thread-safe.
uint64_t next_connection_id() noexcept;

} // namespace tao::detail
