#include "tao/logging.hpp"

#include <exception>
#include <mutex>
#include <unordered_map>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/dist_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include "tao/detail/log.hpp"
#include "tao/protocol/error.hpp"

namespace tao {

using protocol::errc;

namespace {

spdlog::level::level_enum to_spdlog(log_level x) {
  switch (x) {
  case log_level::trace:
    return spdlog::level::trace;
  case log_level::debug:
    return spdlog::level::debug;
  case log_level::info:
    return spdlog::level::info;
  case log_level::warn:
    return spdlog::level::warn;
  case log_level::error:
    return spdlog::level::err;
  case log_level::off:
    return spdlog::level::off;
  }
  return spdlog::level::info;
}

/// Every tao logger and the sink and level they share. Loggers hold one
/// distributing sink for good; `configure_logging` swaps what it forwards to
/// under the sink's own mutex, which every line takes, so a logger may write
/// on another thread while the destination changes.
struct log_registry {
  std::mutex mtx;
  std::shared_ptr<spdlog::sinks::dist_sink_mt> sink = [] {
    auto dist = std::make_shared<spdlog::sinks::dist_sink_mt>();
    dist->set_sinks({std::make_shared<spdlog::sinks::stderr_sink_mt>()});
    return dist;
  }();
  spdlog::level::level_enum level = spdlog::level::info;
  std::unordered_map<std::string, std::shared_ptr<spdlog::logger>> loggers;

  static log_registry& get() {
    static log_registry instance;
    return instance;
  }
};

} // namespace

caf::error parse_log_level(const std::string& text, log_level& out) {
  static const std::pair<const char*, log_level> names[] = {
    {"trace", log_level::trace}, {"debug", log_level::debug}, {"info", log_level::info},
    {"warn", log_level::warn},   {"error", log_level::error}, {"off", log_level::off},
  };
  for (auto& [name, level] : names) {
    if (text == name) {
      out = level;
      return {};
    }
  }
  return protocol::make_error(errc::invalid_argument,
                              "unknown log level '" + text
                                + "' (trace, debug, info, warn, error, off)");
}

caf::error configure_logging(const log_options& opts) {
  auto& reg = log_registry::get();
  spdlog::sink_ptr sink;
  if (opts.file.empty()) {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  } else {
    try {
      sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(opts.file);
    } catch (const std::exception& ex) {
      return protocol::make_error(errc::invalid_argument,
                                  "cannot log to " + opts.file + ": " + ex.what());
    }
  }
  std::lock_guard<std::mutex> guard{reg.mtx};
  reg.sink->set_sinks({sink});
  reg.level = to_spdlog(opts.level);
  for (auto& kvp : reg.loggers) {
    kvp.second->set_level(reg.level);
    // Lines are rare by design (none per frame): write each at once.
    kvp.second->flush_on(spdlog::level::trace);
  }
  return {};
}

namespace detail {

spdlog::logger& logger(const char* name) {
  auto& reg = log_registry::get();
  std::lock_guard<std::mutex> guard{reg.mtx};
  auto& ptr = reg.loggers[name];
  if (!ptr) {
    ptr = std::make_shared<spdlog::logger>(name, reg.sink);
    ptr->set_level(reg.level);
    ptr->flush_on(spdlog::level::trace);
  }
  return *ptr;
}

} // namespace detail

} // namespace tao
