#pragma once

#include <cstdint>
#include <string>

#include <caf/atom.hpp>
#include <caf/error.hpp>

namespace tao::protocol {

/// Error codes of tao. Carried in a `caf::error` whose category is
/// `error_category` ("tao"); use `make_error` to build one and `to_string` to
/// render it. Codes are stable: they are part of the public API.
enum class errc : uint8_t {
  /// Not an error.
  none = 0,
  /// A frame header announced a payload larger than the codec's limit.
  /// Fatal for the connection: the stream cannot be resynchronised.
  oversized_frame = 1,
  /// The payload of a registered type could not be decoded. Fatal for the
  /// connection.
  malformed_payload = 2,
  /// A frame carried a type with no registered decoder. Not fatal: the frame
  /// is skipped and counted (Tao's behaviour).
  unknown_type = 3,
  /// A type number was registered twice in the same registry.
  duplicate_registration = 4,
  /// A codec cannot carry the requested message type (e.g. the length-prefixed
  /// codec carries a single type).
  unsupported_type = 5,
  /// An argument or option was out of range.
  invalid_argument = 6,
  /// The outbound queue of a connection is above its high-water mark.
  would_block = 7,
  /// The connection (or client, or server) is closed.
  closed = 8,
  /// The peer stayed silent for longer than the configured timeout.
  heartbeat_timeout = 9,
  /// A handler or decoder threw an exception.
  handler_failed = 10,
  /// The peer does not read fast enough and was disconnected.
  slow_consumer = 11,
  /// The connection was refused (max connections, on_connect returned false).
  refused = 12,
  /// The peer closed the connection in the middle of a frame.
  truncated_frame = 13,
  /// A network-level failure (connect, accept, socket error).
  network_failure = 14,
  /// A TLS handshake or record failed.
  tls_failure = 15,
  /// Nothing was read for the read-idle timeout, or no first message arrived
  /// within the first-message timeout.
  idle_timeout = 16,
  /// A connection attempt did not complete within the connect timeout.
  connect_timeout = 17,
  /// A WebSocket upgrade or message broke RFC 6455 or a limit (bad request,
  /// unmasked frame, invalid UTF-8, oversized message, ...), or the peer
  /// closed with an error status. The context names the close code.
  websocket_failure = 18,
};

/// The CAF error category of every tao error.
inline caf::atom_value error_category() noexcept {
  return caf::atom("tao");
}

/// Returns the name of `x`, e.g. "oversized_frame".
const char* to_string(errc x) noexcept;

/// Makes a `caf::error` of tao's category with code `x`.
caf::error make_error(errc x);

/// Makes a `caf::error` of tao's category with code `x` and a human-readable
/// context (e.g. "length 8388609 exceeds 8388608").
caf::error make_error(errc x, std::string context);

/// True if `err` is the tao error `x`.
bool is(const caf::error& err, errc x) noexcept;

/// Renders any `caf::error` as text; tao errors read as
/// "tao.oversized_frame: length 8388609 exceeds 8388608".
std::string render(const caf::error& err);

} // namespace tao::protocol
