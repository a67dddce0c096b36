#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <caf/timespan.hpp>

namespace tao::net {

/// WebSocket (RFC 6455) settings of a server or client. Plain values: copy
/// them freely. A server's `web_root` is read when the server starts, never
/// per connection.
///
/// On the wire, each Tao frame (type, payload) is one WebSocket message:
/// a binary message holds the type as int32 little-endian followed by the
/// payload; a text message holds a payload of type `text_type`.
struct websocket_options {
  /// Clients: the request target of the upgrade request. Servers upgrade a
  /// request for any target.
  std::string path = "/";

  /// Clients: the `Host` header; empty means `host:port` of the connection.
  std::string host_header;

  /// Clients: the `Origin` header to send; empty sends none (browsers always
  /// send one, other clients usually do not).
  std::string origin;

  /// Subprotocols (`Sec-WebSocket-Protocol`). Servers select the first one
  /// the client offers that is listed here, or none if there is no match.
  /// Clients offer these, in this order, and fail the handshake if the server
  /// selects one they did not offer.
  std::vector<std::string> subprotocols;

  /// Servers: the `Origin` values accepted (compared case-insensitively, e.g.
  /// "http://127.0.0.1:8080"). Empty accepts any. A request without `Origin`
  /// (not sent by a browser) is accepted either way; a browser request from
  /// another origin gets 403 Forbidden.
  std::vector<std::string> allowed_origins;

  /// The Tao type a text message becomes, and outbound frames of this type
  /// are sent as text messages (as binary ones when their payload is not
  /// valid UTF-8). Unset: a text message closes the connection with 1003
  /// (unsupported data).
  std::optional<int32_t> text_type;

  /// Largest message payload in bytes (the Tao payload, without the 4-byte
  /// type of a binary message); a larger message closes the connection with
  /// 1009 before it is buffered. 0 means the codec's `max_payload` (8 MiB by
  /// default).
  size_t max_message_size = 0;

  /// Largest HTTP head (request or status line plus headers) accepted during
  /// the upgrade; a server answers a larger one with 431.
  size_t max_header_size = 8 * 1024;

  /// A connection whose upgrade did not complete within this time is closed
  /// with `errc::websocket_failure` (against peers that never finish their
  /// request).
  caf::timespan handshake_timeout = std::chrono::seconds(10);

  /// Servers: a directory whose files are served to plain HTTP `GET`/`HEAD`
  /// requests on the WebSocket port (`/` serves `index.html`). Read once at
  /// start (at most 256 files, 16 MiB in all). Empty: plain requests get 404.
  std::string web_root;
};

} // namespace tao::net
