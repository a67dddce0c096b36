#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor_system_config.hpp>
#include <caf/config_option.hpp>
#include <caf/config_option_set.hpp>
#include <caf/error.hpp>

namespace tao {

/// Exit code of a program whose command line was refused (as BSD's
/// `EX_USAGE` family and most Unix tools: 2 for a usage error).
constexpr int usage_error_exit_code = 2;

/// Arguments rewritten for CAF's option parser by `normalize_arguments`.
struct normalized_arguments {
  /// Every option as `--name=value` (or `--flag`), the form CAF 0.17 reads.
  std::vector<std::string> args;
  /// Flags given an explicit value (`--tls=false`, `--tls false`), which
  /// CAF 0.17 refuses; `parse_command_line` stores them after CAF's parse.
  std::vector<std::pair<const caf::config_option*, bool>> flag_values;
  /// Empty on success; otherwise what was wrong, in words, e.g.
  /// "unexpected argument '9000' (options are --name=value or --name value)".
  std::string error;
};

/// Rewrites the command line `args` (without the program name) so that CAF's
/// option parser accepts what people type, given the options of `opts`:
///
/// - `--name=value` stays; `--name value` becomes `--name=value` when
///   `name` is an option that takes a value (CAF's own, like
///   `--scheduler.policy`, included);
/// - a flag is `--flag`, `--flag=true|false` or `--flag true|false`;
/// - a short name (`-p 9000`, `-p9000`, `-p=9000`, `-h`) becomes its long
///   form;
/// - `--config-file FILE` becomes `--config-file=FILE`.
///
/// Refuses, with `error` set and `args` unspecified: unknown options, an
/// option missing its value, and any positional argument (CAF would ignore
/// it silently). Values are not checked here; CAF's parse checks them.
/// Pure; thread-safe.
normalized_arguments normalize_arguments(const caf::config_option_set& opts,
                                         const std::vector<std::string>& args);

/// Describes an error returned by `caf::actor_system_config::parse` in words
/// ("invalid value 'abc' for --port: expected uint16", "unknown option
/// --nope"), using `opts` for the expected types. Errors of other categories
/// are rendered as CAF renders them. Thread-safe.
std::string describe_parse_error(const caf::config_option_set& opts, const caf::error& err);

/// Parses the command line of a program into `cfg`: `normalize_arguments`,
/// then `cfg.parse` (config file included), then the explicit flag values.
///
/// Returns `std::nullopt` when main should go on; otherwise the exit code
/// main should return: 0 after `--help` (CAF printed the help text to
/// stdout), `usage_error_exit_code` after printing "<program>: error: ..."
/// and a pointer to `--help` to stderr.
///
/// Usage, first thing in main (after the options were added and modules
/// loaded):
///
///   config cfg;
///   cfg.load<caf::io::middleman>();
///   if (auto exit_code = tao::parse_command_line(cfg, argc, argv))
///     return *exit_code;
///
/// Not thread-safe (it writes `cfg`); call it from main.
std::optional<int> parse_command_line(caf::actor_system_config& cfg, int argc, char** argv);

} // namespace tao
