#include "tao/option_flags.hpp"

#include <chrono>
#include <sstream>

#include <caf/make_config_option.hpp>

#include "tao/protocol/error.hpp"

namespace tao {

using protocol::errc;

namespace {

template <class T>
std::string with_default(const char* text, const T& value) {
  std::ostringstream out;
  out << text << " (default: " << value << ")";
  return out.str();
}

std::string with_default(const char* text, caf::timespan value) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(value).count();
  return with_default(text, std::to_string(ms) + "ms");
}

std::string with_default(const char* text, bool value) {
  return with_default(text, value ? "true" : "false");
}

caf::error bad_value(const char* flag, const std::string& value, const char* accepted) {
  return protocol::make_error(errc::invalid_argument,
                              std::string{"--"} + flag + "=" + value + ": expected " + accepted);
}

} // namespace

void option_flags::add_connection(caf::config_option_adder& g, connection_options& o) {
  // The text flags start from what the program set, so that `apply` keeps
  // it unless the command line or config file says otherwise.
  dispatch_ = o.dispatch == dispatch_mode::inline_io ? "inline" : "scheduled";
  overflow_ = o.overflow == overflow_policy::disconnect ? "disconnect" : "would_block";
  drain_timeout_ms_ = static_cast<size_t>(o.drain_timeout.count());
  g.add(dispatch_, "dispatch",
        with_default("where handlers run: inline (on the I/O thread; inline_io, the enum's "
                     "name, is accepted too) or scheduled",
                     dispatch_))
    .add(o.high_water_mark, "high-water-mark",
         with_default("outbound bytes per connection above which the overflow policy applies",
                      o.high_water_mark))
    .add(o.low_water_mark, "low-water-mark",
         with_default("outbound bytes at which on_writable fires again (0: a quarter of the "
                      "high-water mark)",
                      o.low_water_mark))
    .add(overflow_, "overflow",
         with_default("above the high-water mark: would_block or disconnect", overflow_))
    .add(o.io_threads, "io-threads",
         with_default("I/O threads for the connections (above 1 the program passes a "
                      "tao::io_pool with as many)",
                      o.io_threads))
    .add(o.read_chunk_size, "read-chunk-size",
         with_default("largest read per system call, bytes", o.read_chunk_size))
    .add(o.min_read_chunk_size, "min-read-chunk-size",
         with_default("smallest (first) read per system call, bytes", o.min_read_chunk_size))
    .add(
      o.inbound_limit, "inbound-limit",
      with_default("received bytes in flight to handlers before reading pauses", o.inbound_limit))
    .add(drain_timeout_ms_, "drain-timeout-ms",
         with_default("bound on delivering queued writes at close, ms", drain_timeout_ms_))
    .add(o.heartbeat_period, "heartbeat-period",
         with_default("send Tao heartbeats this often and detect dead peers (0: off)",
                      o.heartbeat_period))
    .add(o.heartbeat_misses, "heartbeat-misses",
         with_default("silent heartbeat periods tolerated", o.heartbeat_misses))
    .add(o.read_idle_timeout, "read-idle-timeout",
         with_default("close (or on_idle) after reading nothing this long (0: off)",
                      o.read_idle_timeout))
    .add(o.write_idle_timeout, "write-idle-timeout",
         with_default("heartbeat (or on_idle) after writing nothing this long (0: off)",
                      o.write_idle_timeout))
    .add(o.first_message_timeout, "first-message-timeout",
         with_default("close if no frame arrived this long after connecting (0: off)",
                      o.first_message_timeout));
}

void option_flags::add_server(caf::config_option_adder& g, server_options& o) {
  g.add(o.host, "host", with_default("address to listen on", o.host))
    .add(o.port, "port,p", with_default("port to listen on (0: pick one)", o.port))
    .add(o.max_connections, "max-connections",
         with_default("connections served at once; more are refused", o.max_connections))
    .add(o.reuse_address, "reuse-address",
         with_default("SO_REUSEADDR on the listening socket", o.reuse_address));
  add_connection(g, o);
}

void option_flags::add_client(caf::config_option_adder& g, client_options& o) {
  offline_ = o.offline == offline_writes::fail ? "fail" : "queue";
  g.add(o.host, "host", with_default("server to connect to", o.host))
    .add(o.port, "port,p", with_default("server port", o.port))
    .add(o.connect_timeout, "connect-timeout",
         with_default("bound on one connection attempt", o.connect_timeout))
    .add(o.reconnect.enabled, "reconnect",
         with_default("reconnect with backoff when the connection is lost", o.reconnect.enabled))
    .add(o.reconnect.initial_delay, "reconnect-initial-delay",
         with_default("first backoff bound", o.reconnect.initial_delay))
    .add(o.reconnect.max_delay, "reconnect-max-delay",
         with_default("largest backoff bound", o.reconnect.max_delay))
    .add(o.reconnect.factor, "reconnect-factor",
         with_default("growth of the bound per failure", o.reconnect.factor))
    .add(o.reconnect.max_attempts, "reconnect-max-attempts",
         with_default("attempts before giving up (0: forever)", o.reconnect.max_attempts))
    .add(o.reconnect.jitter, "reconnect-jitter",
         with_default("full jitter on each delay", o.reconnect.jitter))
    .add(offline_, "offline", with_default("writes while disconnected: queue or fail", offline_));
  add_connection(g, o);
}

void option_flags::add_logging(caf::config_option_adder& g) {
  logging_bound_ = true;
  g.add(log_level_, "log-level", with_default("trace, debug, info, warn, error or off", log_level_))
    .add(log_file_, "log-file", "append log lines to this file (default: stderr)");
}

caf::error option_flags::apply(connection_options& o) const {
  if (dispatch_ == "scheduled")
    o.dispatch = dispatch_mode::scheduled;
  else if (dispatch_ == "inline" || dispatch_ == "inline_io")
    o.dispatch = dispatch_mode::inline_io;
  else
    return bad_value("dispatch", dispatch_, "inline (or inline_io) or scheduled");
  if (overflow_ == "would_block")
    o.overflow = overflow_policy::would_block;
  else if (overflow_ == "disconnect")
    o.overflow = overflow_policy::disconnect;
  else
    return bad_value("overflow", overflow_, "would_block or disconnect");
  o.drain_timeout = std::chrono::milliseconds(drain_timeout_ms_);
  return {};
}

caf::error option_flags::apply_logging() const {
  if (!logging_bound_)
    return {};
  log_options logs;
  if (auto err = parse_log_level(log_level_, logs.level))
    return err;
  logs.file = log_file_;
  return configure_logging(logs);
}

caf::error option_flags::apply(client_options& o) const {
  if (offline_ == "queue")
    o.offline = offline_writes::queue;
  else if (offline_ == "fail")
    o.offline = offline_writes::fail;
  else
    return bad_value("offline", offline_, "queue or fail");
  return apply(static_cast<connection_options&>(o));
}

} // namespace tao
