#define BOOST_TEST_MODULE net_websocket_handshake
#include <boost/test/unit_test.hpp>

// The HTTP/1.1 upgrade of RFC 6455 section 4, server and client side, and
// the plain HTTP requests a WebSocket port answers (the browser page). Pure
// functions and one channel per case: no sockets, no clock.

#include <map>
#include <memory>
#include <string>

#include "tao/net/static_site.hpp"
#include "tao/net/websocket_channel.hpp"
#include "tao/net/websocket_handshake.hpp"
#include "tao/protocol/error.hpp"

#include "support/websocket_frames.hpp"

using tao::net::upgrade_answer;
using tao::net::websocket_context;
using tao::net::websocket_options;
using tao::net::websocket_role;
using tao::protocol::byte_buffer;
using tao::protocol::errc;
using tao::protocol::frame_batch;
using tao::protocol::render;
using tao::test::rfc_request;

namespace {

std::shared_ptr<websocket_context> context(websocket_role role, websocket_options opts = {}) {
  if (role == websocket_role::client && opts.host_header.empty())
    opts.host_header = "127.0.0.1:9";
  auto ctx = websocket_context::make(role, std::move(opts), tao::protocol::default_codec());
  BOOST_REQUIRE_MESSAGE(ctx, (ctx ? std::string{} : render(ctx.error())));
  return *ctx;
}

upgrade_answer answer(const std::string& request, websocket_options opts = {}) {
  return tao::net::answer_request(request, *context(websocket_role::server, std::move(opts)));
}

bool starts_with(const std::string& x, const std::string& prefix) {
  return x.compare(0, prefix.size(), prefix) == 0;
}

bool has(const std::string& x, const std::string& part) {
  return x.find(part) != std::string::npos;
}

std::string text(const byte_buffer& buf) {
  return {buf.data(), buf.size()};
}

} // namespace

BOOST_AUTO_TEST_CASE(accept_value_of_the_rfc_example) {
  BOOST_TEST(tao::net::websocket_accept("dGhlIHNhbXBsZSBub25jZQ==")
             == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

BOOST_AUTO_TEST_CASE(keys_are_fresh_base64_of_16_bytes) {
  auto a = tao::net::make_websocket_key();
  auto b = tao::net::make_websocket_key();
  BOOST_TEST(a.size() == 24u);
  BOOST_TEST(a.substr(22) == "==");
  BOOST_TEST(a != b);
}

BOOST_AUTO_TEST_CASE(the_rfc_request_upgrades) {
  auto a = answer(rfc_request("Origin: http://example.com\r\n"
                              "Sec-WebSocket-Protocol: chat, superchat\r\n"));
  BOOST_TEST(static_cast<int>(a.what) == static_cast<int>(upgrade_answer::kind::upgrade));
  BOOST_TEST(starts_with(a.response, "HTTP/1.1 101 Switching Protocols\r\n"));
  BOOST_TEST(has(a.response, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
  BOOST_TEST(has(a.response, "Upgrade: websocket\r\n"));
  BOOST_TEST(has(a.response, "Connection: Upgrade\r\n"));
  // No subprotocol configured: none selected, whatever the client offers.
  BOOST_TEST(!has(a.response, "Sec-WebSocket-Protocol"));
}

BOOST_AUTO_TEST_CASE(header_names_and_tokens_are_case_insensitive) {
  auto a = answer("GET / HTTP/1.1\r\nhost: x\r\nUPGRADE: WebSocket\r\n"
                  "connection: keep-alive, upgrade\r\nsec-websocket-key: "
                  "dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n");
  BOOST_TEST(static_cast<int>(a.what) == static_cast<int>(upgrade_answer::kind::upgrade));
}

BOOST_AUTO_TEST_CASE(the_server_selects_its_first_offered_subprotocol) {
  websocket_options opts;
  opts.subprotocols = {"superchat", "chat"};
  auto a = answer(rfc_request("Sec-WebSocket-Protocol: chat, superchat\r\n"), opts);
  BOOST_TEST(a.subprotocol == "superchat");
  BOOST_TEST(has(a.response, "Sec-WebSocket-Protocol: superchat\r\n"));
  auto none = answer(rfc_request("Sec-WebSocket-Protocol: mqtt\r\n"), opts);
  BOOST_TEST(static_cast<int>(none.what) == static_cast<int>(upgrade_answer::kind::upgrade));
  BOOST_TEST(none.subprotocol.empty());
}

BOOST_AUTO_TEST_CASE(bad_upgrades_get_the_status_that_says_why) {
  struct bad {
    std::string request;
    std::string status;
  };
  const std::string key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
  const std::string up = "Upgrade: websocket\r\nConnection: Upgrade\r\n";
  bad cases[] = {
    {"GET / HTTP/1.1\r\nHost: x\r\n" + up + "Sec-WebSocket-Version: 13\r\n\r\n", "400"},
    {"GET / HTTP/1.1\r\nHost: x\r\n" + up
       + "Sec-WebSocket-Key: c2hvcnQ=\r\n"
         "Sec-WebSocket-Version: 13\r\n\r\n",
     "400"},
    {"GET / HTTP/1.1\r\nHost: x\r\n" + up + key + "Sec-WebSocket-Version: 8\r\n\r\n", "426"},
    {"GET / HTTP/1.1\r\nHost: x\r\n" + up + key + "\r\n", "426"},
    {"POST / HTTP/1.1\r\nHost: x\r\n" + up + key + "Sec-WebSocket-Version: 13\r\n\r\n", "405"},
    {"GET / HTTP/1.0\r\nHost: x\r\n" + up + key + "Sec-WebSocket-Version: 13\r\n\r\n", "400"},
    {"GET / HTTP/1.1\r\n" + up + key + "Sec-WebSocket-Version: 13\r\n\r\n", "400"},
    {"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive\r\n" + key
       + "Sec-WebSocket-Version: 13\r\n\r\n",
     "400"},
    {"GARBAGE\r\n\r\n", "400"},
    {"GET / HTTP/1.1\r\nHost x\r\n\r\n", "400"},
  };
  for (const auto& c : cases) {
    auto a = answer(c.request);
    BOOST_TEST_CONTEXT(c.request) {
      BOOST_TEST(static_cast<int>(a.what) == static_cast<int>(upgrade_answer::kind::refusal));
      BOOST_TEST(starts_with(a.response, "HTTP/1.1 " + c.status + " "));
      BOOST_TEST(has(a.response, "Connection: close\r\n"));
      BOOST_TEST(starts_with(a.reason, c.status));
    }
  }
  BOOST_TEST(has(answer(cases[2].request).response, "Sec-WebSocket-Version: 13\r\n"));
}

BOOST_AUTO_TEST_CASE(the_origin_allow_list) {
  websocket_options opts;
  opts.allowed_origins = {"http://127.0.0.1:8080"};
  auto ok = answer(rfc_request("Origin: HTTP://127.0.0.1:8080\r\n"), opts);
  BOOST_TEST(static_cast<int>(ok.what) == static_cast<int>(upgrade_answer::kind::upgrade));
  auto evil = answer(rfc_request("Origin: http://evil.example\r\n"), opts);
  BOOST_TEST(starts_with(evil.response, "HTTP/1.1 403 Forbidden\r\n"));
  BOOST_TEST(has(evil.reason, "evil.example"));
  // Not a browser: no Origin, accepted.
  auto tool = answer(rfc_request(), opts);
  BOOST_TEST(static_cast<int>(tool.what) == static_cast<int>(upgrade_answer::kind::upgrade));
}

BOOST_AUTO_TEST_CASE(plain_requests_get_the_page_or_404) {
  auto ctx = context(websocket_role::server);
  std::map<std::string, tao::net::static_site::file> files;
  files["/index.html"] = {"text/html; charset=utf-8", "<h1>chat</h1>"};
  files["/app.js"] = {"text/javascript; charset=utf-8", "1;"};
  ctx->set_site(std::make_shared<tao::net::static_site>(std::move(files)));
  auto get = [&](const std::string& method, const std::string& target) {
    return tao::net::answer_request(method + " " + target + " HTTP/1.1\r\nHost: x\r\n\r\n", *ctx);
  };
  auto page = get("GET", "/");
  BOOST_TEST(static_cast<int>(page.what) == static_cast<int>(upgrade_answer::kind::plain));
  BOOST_TEST(starts_with(page.response, "HTTP/1.1 200 OK\r\n"));
  BOOST_TEST(has(page.response, "Content-Type: text/html; charset=utf-8\r\n"));
  BOOST_TEST(has(page.response, "Content-Length: 13\r\n"));
  BOOST_TEST(has(page.response, "\r\n\r\n<h1>chat</h1>"));
  BOOST_TEST(has(get("GET", "/app.js?v=2").response, "text/javascript"));
  auto head = get("HEAD", "/index.html");
  BOOST_TEST(has(head.response, "Content-Length: 13\r\n"));
  BOOST_TEST(!has(head.response, "<h1>"));
  BOOST_TEST(starts_with(get("GET", "/../etc/passwd").response, "HTTP/1.1 404 "));
  BOOST_TEST(starts_with(get("GET", "/missing").response, "HTTP/1.1 404 "));
  BOOST_TEST(starts_with(get("DELETE", "/").response, "HTTP/1.1 405 "));
}

BOOST_AUTO_TEST_CASE(a_channel_upgrades_from_a_head_split_byte_by_byte) {
  tao::net::websocket_channel ch{context(websocket_role::server)};
  auto request = rfc_request();
  byte_buffer wire;
  frame_batch frames;
  for (size_t i = 0; i + 1 < request.size(); ++i) {
    BOOST_REQUIRE(!ch.read(&request[i], 1, frames, wire));
    BOOST_REQUIRE(wire.empty());
  }
  BOOST_REQUIRE(!ch.read(&request.back(), 1, frames, wire));
  BOOST_TEST(ch.established());
  BOOST_TEST(has(text(wire), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
}

BOOST_AUTO_TEST_CASE(frames_right_behind_the_request_are_read) {
  auto ctx = context(websocket_role::server);
  tao::net::websocket_channel ch{ctx};
  auto bytes = rfc_request() + tao::test::client_frame(2, tao::test::tao_message(7, "early"))
               + tao::test::client_frame(9, "p");
  byte_buffer wire;
  frame_batch frames;
  BOOST_REQUIRE(!ch.read(bytes.data(), bytes.size(), frames, wire));
  BOOST_REQUIRE_EQUAL(frames.size(), 1u);
  BOOST_TEST(frames[0].type == 7);
  BOOST_TEST(frames[0].payload == "early");
  auto out = text(wire);
  size_t head = out.find("\r\n\r\n") + 4;
  auto sent = tao::test::parse_frames(out.substr(head));
  BOOST_REQUIRE_EQUAL(sent.size(), 1u);
  BOOST_TEST(sent[0].opcode == 0xa); // the pong
  BOOST_TEST(ctx->counters().upgrades.load() == 1u);
}

BOOST_AUTO_TEST_CASE(an_oversized_head_gets_431_and_is_counted) {
  websocket_options opts;
  opts.max_header_size = 512;
  auto ctx = context(websocket_role::server, opts);
  tao::net::websocket_channel ch{ctx};
  auto request = "GET / HTTP/1.1\r\nX-Filler: " + std::string(600, 'a') + "\r\n";
  byte_buffer wire;
  frame_batch frames;
  auto err = ch.read(request.data(), request.size(), frames, wire);
  BOOST_TEST(tao::protocol::is(err, errc::websocket_failure));
  BOOST_TEST(starts_with(text(wire), "HTTP/1.1 431 "));
  BOOST_TEST(ch.finished());
  BOOST_TEST(ctx->counters().handshake_failures.load() == 1u);
  // Sticky: later bytes change nothing.
  wire.clear();
  BOOST_TEST(tao::protocol::is(ch.read("x", 1, frames, wire), errc::websocket_failure));
  BOOST_TEST(wire.empty());
}

BOOST_AUTO_TEST_CASE(a_refused_upgrade_fails_the_channel_with_the_reason) {
  auto ctx = context(websocket_role::server);
  tao::net::websocket_channel ch{ctx};
  auto request = rfc_request();
  request.replace(request.find("13"), 2, "12");
  byte_buffer wire;
  frame_batch frames;
  auto err = ch.read(request.data(), request.size(), frames, wire);
  BOOST_TEST(has(render(err), "426 Upgrade Required"));
  BOOST_TEST(ch.finished());
  BOOST_TEST(!ch.established());
  BOOST_TEST(ctx->counters().handshake_failures.load() == 1u);
}

BOOST_AUTO_TEST_CASE(a_page_request_finishes_the_channel_cleanly) {
  auto ctx = context(websocket_role::server);
  tao::net::websocket_channel ch{ctx};
  std::string request = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  byte_buffer wire;
  frame_batch frames;
  BOOST_TEST(!ch.read(request.data(), request.size(), frames, wire));
  BOOST_TEST(ch.finished());
  BOOST_TEST(!ch.end_reason());
  BOOST_TEST(starts_with(text(wire), "HTTP/1.1 404 "));
  BOOST_TEST(ctx->counters().http_requests.load() == 1u);
}

BOOST_AUTO_TEST_CASE(the_handshake_timeout_fails_an_unfinished_upgrade) {
  auto ctx = context(websocket_role::server);
  tao::net::websocket_channel ch{ctx};
  byte_buffer wire;
  frame_batch frames;
  BOOST_TEST(!ch.read("GET / HT", 8, frames, wire));
  auto err = ch.expire_handshake();
  BOOST_TEST(has(render(err), "did not complete within 10000 ms"));
  BOOST_TEST(ctx->counters().handshake_failures.load() == 1u);
  BOOST_TEST(!ch.expire_handshake()); // already finished: nothing more to expire
}

BOOST_AUTO_TEST_CASE(the_client_request_and_its_checks) {
  websocket_options opts;
  opts.host_header = "example.com:80";
  opts.path = "/ws";
  opts.origin = "http://example.com";
  opts.subprotocols = {"tao", "chat"};
  auto request = tao::net::upgrade_request(opts, "dGhlIHNhbXBsZSBub25jZQ==");
  BOOST_TEST(starts_with(request, "GET /ws HTTP/1.1\r\nHost: example.com:80\r\n"));
  BOOST_TEST(has(request, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"));
  BOOST_TEST(has(request, "Origin: http://example.com\r\n"));
  BOOST_TEST(has(request, "Sec-WebSocket-Protocol: tao, chat\r\n"));
  auto key = "dGhlIHNhbXBsZSBub25jZQ==";
  std::string good =
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n";
  auto ok = tao::net::check_upgrade_response(good + "\r\n", key, opts);
  BOOST_REQUIRE(ok);
  BOOST_TEST(ok->empty());
  auto chat =
    tao::net::check_upgrade_response(good + "Sec-WebSocket-Protocol: chat\r\n\r\n", key, opts);
  BOOST_REQUIRE(chat);
  BOOST_TEST(*chat == "chat");
  auto expect_failure = [&](const std::string& response, const std::string& why) {
    auto r = tao::net::check_upgrade_response(response, key, opts);
    BOOST_TEST_CONTEXT(response) {
      BOOST_REQUIRE(!r);
      BOOST_TEST(tao::protocol::is(r.error(), errc::websocket_failure));
      BOOST_TEST(has(render(r.error()), why));
    }
  };
  expect_failure("HTTP/1.1 403 Forbidden\r\nContent-Length: 3\r\n\r\n", "answered 403");
  expect_failure("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: "
                 "Upgrade\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n",
                 "wrong Sec-WebSocket-Accept");
  expect_failure(good + "Sec-WebSocket-Protocol: mqtt\r\n\r\n", "was not offered");
  expect_failure(good + "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n", "extension");
  expect_failure("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
                 "no Upgrade");
  expect_failure("SSH-2.0-OpenSSH\r\n\r\n", "malformed");
}

BOOST_AUTO_TEST_CASE(options_are_validated) {
  websocket_options bad;
  bad.subprotocols = {"has space"};
  BOOST_TEST(!websocket_context::make(websocket_role::server, bad, tao::protocol::default_codec()));
  websocket_options no_host;
  BOOST_TEST(
    !websocket_context::make(websocket_role::client, no_host, tao::protocol::default_codec()));
  websocket_options missing_root;
  missing_root.web_root = "/nonexistent/tao/web";
  auto r =
    websocket_context::make(websocket_role::server, missing_root, tao::protocol::default_codec());
  BOOST_REQUIRE(!r);
  BOOST_TEST(has(render(r.error()), "not a directory"));
}
