#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include <caf/expected.hpp>

#include "tao/net/static_site.hpp"
#include "tao/net/websocket_options.hpp"
#include "tao/protocol/codec.hpp"

namespace tao::net {

/// Which end of the upgrade a WebSocket channel is.
enum class websocket_role {
  /// Answers upgrade requests (and plain HTTP requests for the page).
  server,
  /// Sends the upgrade request and masks its frames.
  client,
};

/// What the WebSocket connections of one server or client saw, counted
/// across all of them. Updated on the I/O thread, read from any thread.
struct websocket_counters {
  /// Upgrades completed.
  std::atomic<uint64_t> upgrades{0};
  /// Plain HTTP requests answered (pages served, 404, 405).
  std::atomic<uint64_t> http_requests{0};
  /// Upgrades refused or failed: malformed or oversized HTTP, a wrong
  /// version, key or origin, a bad server response, a handshake timeout.
  std::atomic<uint64_t> handshake_failures{0};
  /// Connections we closed for bad frames or messages (close codes 1002,
  /// 1003, 1007, 1009).
  std::atomic<uint64_t> protocol_failures{0};
};

/// Settings shared by every WebSocket connection of a server or client:
/// role, options, codec, the page's files and the counters. Immutable after
/// `make` except for the counters (atomic); share it freely.
class websocket_context {
public:
  /// Validates `opts` (subprotocol names must be HTTP tokens, sizes
  /// positive) and, for servers, loads `opts.web_root`. Fails with
  /// `errc::invalid_argument`.
  static caf::expected<std::shared_ptr<websocket_context>>
  make(websocket_role role, websocket_options opts, protocol::codec_ptr codec);

  /// Server or client.
  websocket_role role() const noexcept {
    return role_;
  }

  /// The options as given.
  const websocket_options& options() const noexcept {
    return options_;
  }

  /// The framing of the bytes handlers write.
  const protocol::codec& codec() const noexcept {
    return *codec_;
  }

  /// Largest payload of a received message (resolved from the options and
  /// the codec).
  size_t max_message_size() const noexcept {
    return max_message_size_;
  }

  /// The files served to plain HTTP requests; null without a web root.
  const static_site* site() const noexcept {
    return site_.get();
  }

  /// Replaces the served files (tests, or a program that builds its page in
  /// memory). Not thread-safe: call before any connection uses the context.
  void set_site(std::shared_ptr<const static_site> site) noexcept {
    site_ = std::move(site);
  }

  /// The counters, shared by all connections.
  websocket_counters& counters() const noexcept {
    return counters_;
  }

private:
  websocket_context(websocket_role role, websocket_options opts, protocol::codec_ptr codec);

  websocket_role role_;
  websocket_options options_;
  protocol::codec_ptr codec_;
  size_t max_message_size_;
  std::shared_ptr<const static_site> site_;
  mutable websocket_counters counters_;
};

} // namespace tao::net
