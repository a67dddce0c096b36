#include "tao/net/websocket_context.hpp"

#include <algorithm>
#include <cstring>

#include "tao/protocol/error.hpp"

namespace tao::net {

using protocol::errc;

namespace {

/// An HTTP token (RFC 7230 3.2.6), as a subprotocol name must be.
bool is_token(const std::string& x) {
  static constexpr const char* extra = "!#$%&'*+-.^_`|~";
  return !x.empty() && std::all_of(x.begin(), x.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return (u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z')
           || (c != '\0' && std::strchr(extra, c) != nullptr);
  });
}

} // namespace

websocket_context::websocket_context(websocket_role role, websocket_options opts,
                                     protocol::codec_ptr codec)
  : role_(role), options_(std::move(opts)), codec_(std::move(codec)) {
  max_message_size_ =
    options_.max_message_size > 0 ? options_.max_message_size : codec_->max_payload();
}

caf::expected<std::shared_ptr<websocket_context>>
websocket_context::make(websocket_role role, websocket_options opts, protocol::codec_ptr codec) {
  auto invalid = [](std::string what) {
    return protocol::make_error(errc::invalid_argument, "websocket: " + std::move(what));
  };
  if (!codec)
    return invalid("no codec");
  for (const auto& p : opts.subprotocols)
    if (!is_token(p))
      return invalid("subprotocol '" + p + "' is not an HTTP token");
  if (opts.max_header_size < 256)
    return invalid("max_header_size must be at least 256 bytes");
  if (opts.handshake_timeout <= caf::timespan{0})
    return invalid("handshake_timeout must be positive");
  if (role == websocket_role::client && opts.host_header.empty())
    return invalid("a client needs a Host header");
  if (!opts.path.empty() && opts.path[0] != '/')
    return invalid("path must start with '/'");
  std::shared_ptr<const static_site> site;
  if (role == websocket_role::server && !opts.web_root.empty()) {
    auto loaded = static_site::load(opts.web_root);
    if (!loaded)
      return loaded.error();
    site = std::move(*loaded);
  }
  std::shared_ptr<websocket_context> ctx{
    new websocket_context(role, std::move(opts), std::move(codec))};
  ctx->site_ = std::move(site);
  return ctx;
}

} // namespace tao::net
