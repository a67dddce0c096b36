#include "tao/net/websocket_handshake.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "tao/protocol/error.hpp"

namespace tao::net {

namespace http = boost::beast::http;

using protocol::errc;

namespace {

/// RFC 6455 1.3.
constexpr std::string_view guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

std::string base64(const unsigned char* data, size_t n) {
  std::string out(4 * ((n + 2) / 3), '\0');
  auto len =
    EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
  out.resize(static_cast<size_t>(len));
  return out;
}

/// True if `key` is the base64 of exactly 16 bytes (RFC 6455 4.2.1 item 5).
bool valid_key(std::string_view key) {
  if (key.size() != 24 || key.substr(22) != "==")
    return false;
  std::array<unsigned char, 18> out{};
  return EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(key.data()), 24) == 18;
}

/// True if the comma-separated header `value` lists `token` (case-insensitive).
bool lists(boost::beast::string_view value, std::string_view token) {
  for (auto item : http::token_list{value})
    if (boost::beast::iequals(item, boost::beast::string_view{token.data(), token.size()}))
      return true;
  return false;
}

/// True if any header `name` lists `token`.
template <class Fields>
bool any_lists(const Fields& fields, http::field name, std::string_view token) {
  auto range = fields.equal_range(name);
  for (auto i = range.first; i != range.second; ++i)
    if (lists(i->value(), token))
      return true;
  return false;
}

std::string sv(boost::beast::string_view x) {
  return std::string{x.data(), x.size()};
}

bool iequal(std::string_view x, std::string_view y) {
  return x.size() == y.size() && std::equal(x.begin(), x.end(), y.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a))
                  == std::tolower(static_cast<unsigned char>(b));
         });
}

std::string response(int status, std::string_view phrase, std::string_view content_type,
                     std::string_view body, std::string_view extra_headers, bool with_body) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string{phrase} + "\r\n";
  out += "Content-Type: ";
  out += content_type;
  out += "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  out += "Cache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n";
  out += extra_headers;
  out += "\r\n";
  if (with_body)
    out += body;
  return out;
}

upgrade_answer refuse(int status, std::string_view phrase, std::string why,
                      std::string_view extra_headers = {}) {
  upgrade_answer a;
  a.what = upgrade_answer::kind::refusal;
  a.response =
    response(status, phrase, "text/plain; charset=utf-8", why + "\n", extra_headers, true);
  a.reason = std::to_string(status) + " " + std::string{phrase} + ": " + why;
  return a;
}

upgrade_answer plain(std::string text) {
  upgrade_answer a;
  a.what = upgrade_answer::kind::plain;
  a.response = std::move(text);
  return a;
}

} // namespace

std::string websocket_accept(std::string_view key) {
  std::string input{key};
  input += guid;
  std::array<unsigned char, SHA_DIGEST_LENGTH> digest{};
  unsigned int len = 0;
  EVP_Digest(input.data(), input.size(), digest.data(), &len, EVP_sha1(), nullptr);
  return base64(digest.data(), len);
}

std::string make_websocket_key() {
  std::array<unsigned char, 16> raw{};
  if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1)
    raw.fill(0x5a); // still a valid key; the nonce is not a security measure
  return base64(raw.data(), raw.size());
}

size_t find_head_end(std::string_view input, size_t from) noexcept {
  from = from >= 3 ? from - 3 : 0;
  auto pos = input.find("\r\n\r\n", from);
  return pos == std::string_view::npos ? 0 : pos + 4;
}

std::string head_too_large(size_t limit) {
  return refuse(431, "Request Header Fields Too Large",
                "the request head exceeds " + std::to_string(limit) + " bytes")
    .response;
}

upgrade_answer answer_request(std::string_view head, const websocket_context& ctx) {
  const auto& opts = ctx.options();
  http::request_parser<http::empty_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(std::max(head.size(), opts.max_header_size)));
  boost::system::error_code ec;
  parser.put(boost::asio::buffer(head.data(), head.size()), ec);
  if (ec || !parser.is_header_done())
    return refuse(400, "Bad Request",
                  "malformed HTTP request" + (ec ? " (" + ec.message() + ")" : std::string{}));
  const auto& req = parser.get();
  bool upgrade = any_lists(req, http::field::upgrade, "websocket");
  if (!upgrade) {
    if (req.method() != http::verb::get && req.method() != http::verb::head)
      return refuse(405, "Method Not Allowed", "only GET and HEAD are served here",
                    "Allow: GET, HEAD\r\n");
    bool with_body = req.method() == http::verb::get;
    const auto* site = ctx.site();
    auto target = req.target();
    const auto* file = site ? site->find({target.data(), target.size()}) : nullptr;
    if (file == nullptr)
      return plain(response(404, "Not Found", "text/plain; charset=utf-8",
                            "not found; WebSocket clients send Upgrade: websocket\n", {},
                            with_body));
    return plain(response(200, "OK", file->content_type, file->body, {}, with_body));
  }
  if (req.method() != http::verb::get)
    return refuse(405, "Method Not Allowed", "a WebSocket upgrade must be a GET", "Allow: GET\r\n");
  if (req.version() < 11)
    return refuse(400, "Bad Request", "a WebSocket upgrade needs HTTP/1.1");
  if (req.find(http::field::host) == req.end())
    return refuse(400, "Bad Request", "no Host header");
  if (!any_lists(req, http::field::connection, "upgrade"))
    return refuse(400, "Bad Request", "Connection does not list Upgrade");
  auto version = req[http::field::sec_websocket_version];
  if (version != "13")
    return refuse(426, "Upgrade Required",
                  "unsupported Sec-WebSocket-Version '" + sv(version) + "' (13 is)",
                  "Sec-WebSocket-Version: 13\r\n");
  auto key = req[http::field::sec_websocket_key];
  if (!valid_key({key.data(), key.size()}))
    return refuse(400, "Bad Request", "Sec-WebSocket-Key is not 16 bytes in base64");
  if (!opts.allowed_origins.empty()) {
    auto i = req.find(http::field::origin);
    if (i != req.end()) {
      auto origin = i->value();
      auto ok = std::any_of(opts.allowed_origins.begin(), opts.allowed_origins.end(),
                            [&](const std::string& x) {
                              return iequal(x, {origin.data(), origin.size()});
                            });
      if (!ok)
        return refuse(403, "Forbidden", "origin '" + sv(origin) + "' is not allowed");
    }
  }
  upgrade_answer a;
  a.what = upgrade_answer::kind::upgrade;
  for (const auto& offered : opts.subprotocols) {
    if (any_lists(req, http::field::sec_websocket_protocol, offered)) {
      a.subprotocol = offered;
      break;
    }
  }
  a.response = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Accept: "
               + websocket_accept({key.data(), key.size()}) + "\r\n";
  if (!a.subprotocol.empty())
    a.response += "Sec-WebSocket-Protocol: " + a.subprotocol + "\r\n";
  a.response += "\r\n";
  return a;
}

std::string upgrade_request(const websocket_options& opts, std::string_view key) {
  std::string out = "GET " + (opts.path.empty() ? std::string{"/"} : opts.path) + " HTTP/1.1\r\n";
  out += "Host: " + opts.host_header + "\r\n";
  out += "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n";
  out += "Sec-WebSocket-Key: ";
  out += key;
  out += "\r\n";
  if (!opts.origin.empty())
    out += "Origin: " + opts.origin + "\r\n";
  if (!opts.subprotocols.empty()) {
    out += "Sec-WebSocket-Protocol: ";
    for (size_t i = 0; i < opts.subprotocols.size(); ++i)
      out += (i > 0 ? ", " : "") + opts.subprotocols[i];
    out += "\r\n";
  }
  out += "\r\n";
  return out;
}

caf::expected<std::string> check_upgrade_response(std::string_view head, std::string_view key,
                                                  const websocket_options& opts) {
  auto fail = [](std::string why) {
    return protocol::make_error(errc::websocket_failure, "upgrade refused: " + std::move(why));
  };
  http::response_parser<http::empty_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(std::max(head.size(), opts.max_header_size)));
  parser.skip(true); // the head only; a refusal's body is never read
  boost::system::error_code ec;
  parser.put(boost::asio::buffer(head.data(), head.size()), ec);
  if ((ec && ec != http::error::need_more) || !parser.is_header_done())
    return fail("malformed HTTP response" + (ec ? " (" + ec.message() + ")" : std::string{}));
  const auto& res = parser.get();
  if (res.result() != http::status::switching_protocols)
    return fail("the server answered " + std::to_string(res.result_int()) + " " + sv(res.reason()));
  if (!any_lists(res, http::field::upgrade, "websocket"))
    return fail("no Upgrade: websocket in the 101 response");
  if (!any_lists(res, http::field::connection, "upgrade"))
    return fail("no Connection: Upgrade in the 101 response");
  auto accept = res[http::field::sec_websocket_accept];
  if (sv(accept) != websocket_accept(key))
    return fail("wrong Sec-WebSocket-Accept '" + sv(accept) + "'");
  if (res.find(http::field::sec_websocket_extensions) != res.end())
    return fail("the server selected an extension, none was offered");
  auto i = res.find(http::field::sec_websocket_protocol);
  if (i == res.end())
    return std::string{};
  auto selected = sv(i->value());
  if (std::find(opts.subprotocols.begin(), opts.subprotocols.end(), selected)
      == opts.subprotocols.end())
    return fail("the server selected subprotocol '" + selected + "', which was not offered");
  return selected;
}

} // namespace tao::net
