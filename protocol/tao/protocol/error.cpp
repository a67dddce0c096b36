#include "tao/protocol/error.hpp"

#include <caf/message.hpp>
#include <caf/sec.hpp>

namespace tao::protocol {

const char* to_string(errc x) noexcept {
  switch (x) {
  case errc::none:
    return "none";
  case errc::oversized_frame:
    return "oversized_frame";
  case errc::malformed_payload:
    return "malformed_payload";
  case errc::unknown_type:
    return "unknown_type";
  case errc::duplicate_registration:
    return "duplicate_registration";
  case errc::unsupported_type:
    return "unsupported_type";
  case errc::invalid_argument:
    return "invalid_argument";
  case errc::would_block:
    return "would_block";
  case errc::closed:
    return "closed";
  case errc::heartbeat_timeout:
    return "heartbeat_timeout";
  case errc::handler_failed:
    return "handler_failed";
  case errc::slow_consumer:
    return "slow_consumer";
  case errc::refused:
    return "refused";
  case errc::truncated_frame:
    return "truncated_frame";
  case errc::network_failure:
    return "network_failure";
  case errc::tls_failure:
    return "tls_failure";
  case errc::idle_timeout:
    return "idle_timeout";
  case errc::connect_timeout:
    return "connect_timeout";
  case errc::websocket_failure:
    return "websocket_failure";
  }
  return "unknown_error_code";
}

caf::error make_error(errc x) {
  return caf::error{static_cast<uint8_t>(x), error_category()};
}

caf::error make_error(errc x, std::string context) {
  return caf::error{static_cast<uint8_t>(x), error_category(),
                    caf::make_message(std::move(context))};
}

bool is(const caf::error& err, errc x) noexcept {
  // CAF 0.17's error::category() dereferences null on a default error.
  return err && err.category() == error_category() && err.code() == static_cast<uint8_t>(x);
}

std::string render(const caf::error& err) {
  if (!err)
    return "none";
  std::string result;
  if (err.category() == error_category()) {
    result = "tao.";
    result += to_string(static_cast<errc>(err.code()));
  } else if (err.category() == caf::atom("system")) {
    result = "system.";
    result += caf::to_string(static_cast<caf::sec>(err.code()));
  } else {
    result = caf::to_string(err);
    return result;
  }
  const auto& ctx = err.context();
  if (ctx.match_elements<std::string>()) {
    result += ": ";
    result += ctx.get_as<std::string>(0);
  } else if (!ctx.empty()) {
    result += ": ";
    result += caf::to_string(ctx);
  }
  return result;
}

} // namespace tao::protocol
