#pragma once

// Command lines of the benchmark tools that are not CAF programs, with CLI11
// (Debian's libcli11-dev): --name value, --name=value, -h, stray arguments
// refused, the same exit codes as tao's CAF programs (tao/command_line.hpp).

#include <optional>

#include <CLI/CLI.hpp>

namespace tao::bench {

/// Parses `argv` into `app`. Returns nothing when main should go on, else the
/// exit code: 0 after --help (printed to stdout), 2 after printing the error
/// and a pointer to --help to stderr.
inline std::optional<int> parse_cli(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return std::nullopt;
}

} // namespace tao::bench
