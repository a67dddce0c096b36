#pragma once

#include <cstddef>
#include <string>

#include <caf/config_option_adder.hpp>
#include <caf/error.hpp>

#include "tao/client.hpp"
#include "tao/logging.hpp"
#include "tao/options.hpp"

namespace tao {

/// Binds server and client options to CAF's configuration, so that a
/// program built on `caf::actor_system_config` reads them from its command
/// line (`--max-connections=500`, listed with their defaults by `--help`)
/// and from its config file (`caf-application.ini` or `--config-file`), with
/// no parsing code of its own.
///
/// Usage, in the constructor of an `actor_system_config` subclass:
///
///   caf::config_option_adder group{custom_options_, "global"};
///   flags.add_server(group, server_opts);
///
/// then, after `cfg.parse(argc, argv)`, `flags.apply(server_opts)` (and
/// `flags.apply_logging()` if `add_logging` was used). Values the program
/// set before `add_server` stay unless a flag or the config file changes
/// them.
/// The bound objects must outlive the parse (make them members of the
/// config). Durations are CAF timespans ("250ms", "5s"); enumerations are
/// strings. TLS options have their own flags (see the examples'
/// `--tls-cert`, `--tls-key`, `--tls-ca`).
///
/// Not thread-safe; use it on the thread that parses the configuration.
class option_flags {
public:
  /// Binds the options every connection has (codec and handlers excluded).
  void add_connection(caf::config_option_adder& group, connection_options& opts);

  /// Binds a server's options (connection options included).
  void add_server(caf::config_option_adder& group, server_options& opts);

  /// Binds a client's options (connection options included).
  void add_client(caf::config_option_adder& group, client_options& opts);

  /// Binds `--log-level` and `--log-file`.
  void add_logging(caf::config_option_adder& group);

  /// Copies what only exists as text (enumerations, milliseconds) into
  /// `opts`. Fails with `errc::invalid_argument` naming the flag and its
  /// accepted values. Touches nothing global.
  caf::error apply(connection_options& opts) const;

  /// Configures tao's logging from `--log-level` and `--log-file` (nothing
  /// if `add_logging` was not called). Fails for an unknown level or a file
  /// that cannot be opened.
  caf::error apply_logging() const;

  /// `apply` for clients, plus the offline-write policy.
  caf::error apply(client_options& opts) const;

private:
  // Set from the bound options by add_connection and add_client.
  std::string dispatch_;
  std::string overflow_;
  size_t drain_timeout_ms_ = 0;
  std::string offline_;
  std::string log_level_ = "info";
  std::string log_file_;
  bool logging_bound_ = false;
};

} // namespace tao
