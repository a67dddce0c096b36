#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <caf/expected.hpp>

#include "tao/net/websocket_context.hpp"
#include "tao/net/websocket_options.hpp"

namespace tao::net {

/// The `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key` (RFC 6455
/// 4.2.2: base64 of the SHA-1 of the key and the protocol's GUID). Pure
/// function; OpenSSL computes the digest and the base64.
std::string websocket_accept(std::string_view key);

/// A fresh `Sec-WebSocket-Key`: 16 bytes from OpenSSL's RNG, base64.
std::string make_websocket_key();

/// The length of the HTTP head at the start of `input`, its final blank
/// line included, or 0 while the head is incomplete. Scanning starts at
/// `from` (the previous input size, so that a head arriving byte by byte
/// is scanned once).
size_t find_head_end(std::string_view input, size_t from) noexcept;

/// What a server answers to one HTTP request on a WebSocket port.
struct upgrade_answer {
  /// The kinds of answer.
  enum class kind {
    /// 101 Switching Protocols: the connection is a WebSocket now.
    upgrade,
    /// A plain HTTP request answered (a page, 404, 405); close after it.
    plain,
    /// An upgrade refused or a malformed request (4xx); close after it.
    refusal,
  };
  /// What happened.
  kind what = kind::refusal;
  /// The HTTP response to send.
  std::string response;
  /// The selected subprotocol (upgrade only; may be empty).
  std::string subprotocol;
  /// Why a refusal was sent: the status and its cause, for the error.
  std::string reason;
};

/// The server's answer to the request `head` (as delimited by
/// `find_head_end`). Upgrades need GET, HTTP/1.1 or later, `Host`,
/// `Upgrade: websocket`, `Connection: Upgrade`, a 16-byte base64 key,
/// `Sec-WebSocket-Version: 13` (426 names it otherwise) and, with an
/// allow-list, an allowed `Origin` (403). Other GET and HEAD requests get
/// the context's files. The request is parsed by Boost.Beast's HTTP parser.
upgrade_answer answer_request(std::string_view head, const websocket_context& ctx);

/// The server's answer to a head longer than `limit` bytes: 431.
std::string head_too_large(size_t limit);

/// A client's upgrade request for `opts.path`, with `key` and the options'
/// `Host`, `Origin` and subprotocols.
std::string upgrade_request(const websocket_options& opts, std::string_view key);

/// Checks a server's response `head` to the upgrade request sent with
/// `key`: 101, `Upgrade: websocket`, `Connection: Upgrade`, the right
/// `Sec-WebSocket-Accept`, and a subprotocol we offered (if any). Returns
/// the selected subprotocol (possibly empty) or `errc::websocket_failure`
/// naming what was wrong.
caf::expected<std::string> check_upgrade_response(std::string_view head, std::string_view key,
                                                  const websocket_options& opts);

} // namespace tao::net
