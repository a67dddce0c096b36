#pragma once

#include <string>

#include <caf/error.hpp>

namespace tao {

/// Severity of tao's log lines (spdlog's levels).
enum class log_level { trace, debug, info, warn, error, off };

/// Where and how much tao logs. tao logs through spdlog, one logger per
/// component ("tao.server", "tao.client", "tao.connection", "tao.metrics"),
/// with lines like `[2026-11-24 02:10:00.123] [tao.server] [info] listening
/// on 127.0.0.1:12345`. Quiet on hot paths: nothing per frame, nothing per
/// accepted connection at info; per-connection errors at debug (they are
/// counted in the metrics), refusals at warn at most once per second.
struct log_options {
  /// Lines below this level are dropped. Default: info.
  log_level level = log_level::info;
  /// Append to this file instead of writing to stderr (empty: stderr).
  std::string file;
};

/// Applies `opts` to every tao logger, present and future. Thread-safe.
/// Fails with `errc::invalid_argument` if the file cannot be opened (the
/// previous sink stays).
caf::error configure_logging(const log_options& opts);

/// Parses "trace", "debug", "info", "warn", "error" or "off".
caf::error parse_log_level(const std::string& text, log_level& out);

} // namespace tao
