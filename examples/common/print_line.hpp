#pragma once

#include <iostream>
#include <sstream>
#include <string>
#include <utility>

namespace tao::examples {

/// Writes the concatenation of `parts` and a newline to stdout in one call.
/// With C++ streams synchronized with stdio (the default), one string goes
/// out in one locked `fwrite`, so lines printed from the I/O thread and from
/// the main thread never interleave mid-line (a `<<` chain would: each `<<`
/// is a separate write). Thread-safe.
template <class... Ts>
void print_line(Ts&&... parts) {
  std::ostringstream line;
  (line << ... << std::forward<Ts>(parts));
  line << '\n';
  std::cout << line.str() << std::flush;
}

} // namespace tao::examples
