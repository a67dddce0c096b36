#pragma once

#include <cstdint>
#include <string>

namespace tao::net {

/// An IP address and port as text and number, e.g. {"127.0.0.1", 12345}.
struct endpoint {
  /// Numeric address (IPv4 dotted or IPv6 without brackets); empty if unknown.
  std::string host;
  /// Port; 0 if unknown.
  uint16_t port = 0;
};

/// Renders `x` as "host:port", with brackets around IPv6 addresses.
std::string to_string(const endpoint& x);

} // namespace tao::net
