#include "tao/connection_state.hpp"

namespace tao {

const char* to_string(connection_state x) noexcept {
  switch (x) {
  case connection_state::opening:
    return "opening";
  case connection_state::open:
    return "open";
  case connection_state::input_closed:
    return "input_closed";
  case connection_state::closing:
    return "closing";
  case connection_state::draining:
    return "draining";
  case connection_state::closed:
    return "closed";
  }
  return "unknown";
}

} // namespace tao
