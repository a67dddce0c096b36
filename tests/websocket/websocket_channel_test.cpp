#define BOOST_TEST_MODULE net_websocket_channel
#include <boost/test/unit_test.hpp>

// WebSocket frames through a channel, byte strings in and out: every frame
// kind, fragmentation across reads, the masking rules, oversized and
// malformed frames, close codes, UTF-8, and the Tao mapping (binary message
// = int32 LE type + payload; text = the text type; heartbeat = ping). Frames
// are built and parsed by tests/support/websocket_frames.hpp, independently
// of wslay. No sockets, no clock.

#include <memory>
#include <string>

#include "tao/net/websocket_channel.hpp"
#include "tao/net/websocket_handshake.hpp"
#include "tao/protocol/codec.hpp"
#include "tao/protocol/error.hpp"
#include "tao/protocol/heartbeat.hpp"
#include "tao/protocol/message.hpp"

#include "support/websocket_frames.hpp"

using tao::net::websocket_channel;
using tao::net::websocket_context;
using tao::net::websocket_options;
using tao::net::websocket_role;
using tao::protocol::byte_buffer;
using tao::protocol::errc;
using tao::protocol::frame_batch;
using tao::protocol::render;
using tao::test::client_frame;
using tao::test::close_payload;
using tao::test::parse_frames;
using tao::test::server_frame;
using tao::test::tao_message;
using tao::test::ws_frame;
using tao::test::ws_frame_spec;

namespace {

constexpr uint8_t text_op = 1;
constexpr uint8_t binary_op = 2;
constexpr uint8_t close_op = 8;
constexpr uint8_t ping_op = 9;
constexpr uint8_t pong_op = 10;

std::shared_ptr<websocket_context> context(websocket_role role, websocket_options opts = {}) {
  if (role == websocket_role::client && opts.host_header.empty())
    opts.host_header = "127.0.0.1:9";
  auto ctx = websocket_context::make(role, std::move(opts), tao::protocol::default_codec());
  BOOST_REQUIRE_MESSAGE(ctx, (ctx ? std::string{} : render(ctx.error())));
  return *ctx;
}

std::string encode(int32_t type, const std::string& payload) {
  byte_buffer out;
  BOOST_REQUIRE(!tao::protocol::default_codec()->encode(type, payload, out));
  return {out.data(), out.size()};
}

/// A server channel past the upgrade, and what it produced.
struct server {
  std::shared_ptr<websocket_context> ctx;
  websocket_channel ch;
  frame_batch frames;
  std::string out; // bytes sent since the last `sent()`
  caf::error err;

  explicit server(websocket_options opts = {})
    : ctx(context(websocket_role::server, std::move(opts))), ch(ctx) {
    feed(tao::test::rfc_request());
    BOOST_REQUIRE(ch.established());
    out.clear();
  }

  /// Feeds `bytes` in chunks of `step` bytes (0: all at once).
  caf::error feed(const std::string& bytes, size_t step = 0) {
    if (step == 0)
      step = bytes.size();
    for (size_t i = 0; i < bytes.size(); i += step) {
      byte_buffer wire;
      auto n = std::min(step, bytes.size() - i);
      err = ch.read(bytes.data() + i, n, frames, wire);
      out.append(wire.data(), wire.size());
      if (err)
        break;
    }
    return err;
  }

  caf::error write(const std::string& framed) {
    byte_buffer wire;
    auto e = ch.write(framed.data(), framed.size(), wire);
    out.append(wire.data(), wire.size());
    return e;
  }

  std::vector<tao::test::ws_parsed> sent() {
    auto frames_out = parse_frames(out);
    out.clear();
    return frames_out;
  }

  /// Answers the peer's close (as the broker does once the replies to
  /// earlier messages went out).
  void answer_close() {
    byte_buffer wire;
    ch.close(1000, "", wire);
    out.append(wire.data(), wire.size());
  }

  /// Expects the channel failed with `code`: one close frame with it, the
  /// error naming it, counted.
  void expect_failure(uint16_t code) {
    BOOST_TEST(tao::protocol::is(err, errc::websocket_failure));
    BOOST_TEST(render(err).find(std::to_string(code)) != std::string::npos, render(err));
    BOOST_TEST(ch.finished());
    BOOST_TEST(ch.close_code_sent() == code);
    auto s = sent();
    BOOST_REQUIRE_EQUAL(s.size(), 1u);
    BOOST_TEST(s[0].opcode == close_op);
    BOOST_TEST(!s[0].masked);
    BOOST_TEST(s[0].close_code() == code);
    BOOST_TEST(ctx->counters().protocol_failures.load() == 1u);
  }
};

websocket_options with_text(int32_t type) {
  websocket_options opts;
  opts.text_type = type;
  return opts;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_binary_message_is_one_tao_frame) {
  server s;
  BOOST_REQUIRE(!s.feed(
    client_frame(binary_op, tao_message(1, "hello")) + client_frame(binary_op, tao_message(-5, ""))
    + client_frame(binary_op, tao_message(0x01020304, std::string(70000, 'x')))));
  BOOST_REQUIRE_EQUAL(s.frames.size(), 3u);
  BOOST_TEST(s.frames[0].type == 1);
  BOOST_TEST(s.frames[0].payload == "hello");
  BOOST_TEST(s.frames[1].type == -5);
  BOOST_TEST(s.frames[1].payload.empty());
  BOOST_TEST(s.frames[2].type == 0x01020304);
  BOOST_TEST(s.frames[2].payload.size() == 70000u);
  BOOST_TEST(s.ch.take_activity());
  BOOST_TEST(!s.ch.take_activity());
  BOOST_TEST(s.out.empty());
}

BOOST_AUTO_TEST_CASE(every_byte_boundary_of_a_fragmented_message_with_a_ping_inside) {
  auto bytes = client_frame(binary_op, tao_message(9, "abc").substr(0, 2), false)
               + client_frame(0, tao_message(9, "abc").substr(2, 4), false)
               + client_frame(ping_op, "are you there") + client_frame(0, "c", true)
               + client_frame(binary_op, tao_message(2, "next"));
  for (size_t step = 1; step <= bytes.size(); ++step) {
    BOOST_TEST_CONTEXT("step " << step) {
      server s;
      BOOST_REQUIRE(!s.feed(bytes, step));
      BOOST_REQUIRE_EQUAL(s.frames.size(), 2u);
      BOOST_TEST(s.frames[0].type == 9);
      BOOST_TEST(s.frames[0].payload == "abc");
      BOOST_TEST(s.frames[1].payload == "next");
      auto out = s.sent();
      BOOST_REQUIRE_EQUAL(out.size(), 1u);
      BOOST_TEST(out[0].opcode == pong_op);
      BOOST_TEST(out[0].payload == "are you there");
      BOOST_TEST(!out[0].masked);
    }
  }
}

BOOST_AUTO_TEST_CASE(text_messages_map_to_the_text_type) {
  server s{with_text(1)};
  BOOST_REQUIRE(!s.feed(client_frame(text_op, "h\xc3\xa9llo ", false)
                        + client_frame(0, "\xe2\x82", false) + client_frame(0, "\xac\n", true)));
  BOOST_REQUIRE_EQUAL(s.frames.size(), 1u);
  BOOST_TEST(s.frames[0].type == 1);
  BOOST_TEST(s.frames[0].payload == "h\xc3\xa9llo \xe2\x82\xac\n");
}

BOOST_AUTO_TEST_CASE(text_without_a_text_type_is_1003) {
  server s;
  s.feed(client_frame(text_op, "hi"));
  s.expect_failure(1003);
  BOOST_TEST(s.frames.empty());
}

BOOST_AUTO_TEST_CASE(invalid_utf8_in_text_is_1007) {
  const std::string bad[] = {
    "\xc0\xaf",         // overlong '/'
    "\xed\xa0\x80",     // a UTF-16 surrogate
    "\xf4\x90\x80\x80", // above U+10FFFF
    "\xff",             // never valid
    "ok\xe2\x82",       // cut at the end of the message
  };
  for (const auto& text : bad) {
    server s{with_text(1)};
    s.feed(client_frame(text_op, text));
    BOOST_TEST_CONTEXT(text.size()) {
      s.expect_failure(1007);
    }
  }
}

BOOST_AUTO_TEST_CASE(an_invalid_close_reason_is_1007) {
  server s;
  s.feed(client_frame(close_op, close_payload(1000, "\xc3")));
  s.expect_failure(1007);
}

BOOST_AUTO_TEST_CASE(an_unmasked_client_frame_is_1002) {
  server s;
  ws_frame_spec f;
  f.masked = false;
  f.payload = tao_message(1, "x");
  s.feed(ws_frame(f));
  s.expect_failure(1002);
  BOOST_TEST(s.frames.empty());
}

BOOST_AUTO_TEST_CASE(protocol_violations_are_1002) {
  auto reserved_bits = [] {
    ws_frame_spec f;
    f.rsv = 4;
    f.payload = tao_message(1, "x");
    return ws_frame(f);
  };
  auto long_length_form = [] {
    ws_frame_spec f;
    f.payload = tao_message(1, "x");
    f.length_form = 64;
    return ws_frame(f);
  };
  const std::string cases[] = {
    reserved_bits(),
    client_frame(3, "reserved data opcode"),
    client_frame(0xb, "reserved control opcode"),
    client_frame(0, "continuation without a start"),
    client_frame(binary_op, "ab", false) + client_frame(binary_op, "new message inside"),
    client_frame(ping_op, std::string(126, 'p')),
    client_frame(ping_op, "fragmented ping", false),
    client_frame(close_op, close_payload(1005)),
    client_frame(close_op, close_payload(999)),
    long_length_form(),
  };
  int i = 0;
  for (const auto& bytes : cases) {
    BOOST_TEST_CONTEXT("case " << i++) {
      server s;
      s.feed(bytes);
      s.expect_failure(1002);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_binary_message_shorter_than_its_type_is_1007) {
  server s;
  s.feed(client_frame(binary_op, "abc"));
  s.expect_failure(1007);
}

BOOST_AUTO_TEST_CASE(oversized_messages_are_1009_before_they_are_buffered) {
  websocket_options opts;
  opts.max_message_size = 1000;
  {
    // One frame announcing too much: refused on its header alone.
    server s{opts};
    ws_frame_spec f;
    f.payload = std::string(1005, 'x');
    auto bytes = ws_frame(f);
    s.feed(bytes.substr(0, 9));
    s.expect_failure(1009);
  }
  {
    // Fragments adding up to too much.
    server s{opts};
    s.feed(client_frame(binary_op, tao_message(1, std::string(600, 'a')), false)
           + client_frame(0, std::string(600, 'b'), true));
    s.expect_failure(1009);
    BOOST_TEST(s.frames.empty());
  }
  {
    // Exactly the limit passes: 4 type bytes plus 1000 payload bytes.
    server s{opts};
    BOOST_REQUIRE(!s.feed(client_frame(binary_op, tao_message(1, std::string(1000, 'a')))));
    BOOST_TEST(s.frames.size() == 1u);
  }
}

BOOST_AUTO_TEST_CASE(a_close_from_the_peer_is_echoed_after_the_replies_and_ends_cleanly) {
  server s;
  BOOST_REQUIRE(!s.feed(client_frame(binary_op, tao_message(1, "question"))
                        + client_frame(close_op, close_payload(1001, "bye"))
                        + client_frame(binary_op, tao_message(1, "after the close"))));
  // The message before the close is delivered, the one after it is not;
  // the answer waits until the reply went out.
  BOOST_REQUIRE_EQUAL(s.frames.size(), 1u);
  BOOST_TEST(s.frames[0].payload == "question");
  BOOST_TEST(s.ch.peer_closing());
  BOOST_TEST(!s.ch.finished());
  BOOST_TEST(!s.ch.peer_close_reason());
  BOOST_TEST(s.out.empty());
  BOOST_REQUIRE(!s.write(encode(1, "answer")));
  s.answer_close();
  BOOST_TEST(s.ch.finished());
  BOOST_TEST(!s.ch.peer_closing());
  BOOST_TEST(!s.ch.end_reason());
  BOOST_TEST(s.ch.close_code_received() == 1001);
  auto out = s.sent();
  BOOST_REQUIRE_EQUAL(out.size(), 2u);
  BOOST_TEST(out[0].opcode == binary_op);
  BOOST_TEST(out[0].payload == tao_message(1, "answer"));
  BOOST_TEST(out[1].opcode == close_op);
  BOOST_TEST(out[1].close_code() == 1001); // the peer's code, echoed
  // Nothing goes out after the close.
  BOOST_REQUIRE(!s.write(encode(1, "late")));
  BOOST_TEST(s.out.empty());
  BOOST_TEST(s.ch.take_consumed() == encode(1, "answer").size() + encode(1, "late").size());
}

BOOST_AUTO_TEST_CASE(a_close_without_status_is_clean_and_an_error_code_is_reported) {
  server quiet;
  BOOST_REQUIRE(!quiet.feed(client_frame(close_op, "")));
  BOOST_TEST(quiet.ch.close_code_received() == 1005);
  quiet.answer_close();
  BOOST_TEST(quiet.ch.finished());
  BOOST_TEST(!quiet.ch.end_reason());
  server angry;
  BOOST_REQUIRE(!angry.feed(client_frame(close_op, close_payload(4000, "bad nick"))));
  BOOST_TEST(render(angry.ch.peer_close_reason()).find("4000") != std::string::npos);
  angry.answer_close();
  BOOST_TEST(angry.ch.finished());
  BOOST_TEST(render(angry.ch.end_reason()).find("4000") != std::string::npos);
  BOOST_TEST(render(angry.ch.end_reason()).find("bad nick") != std::string::npos);
  BOOST_TEST(angry.ctx->counters().protocol_failures.load() == 0u);
}

BOOST_AUTO_TEST_CASE(our_close_waits_for_the_peers) {
  server s;
  byte_buffer wire;
  s.ch.close(1001, "server stopping", wire);
  auto out = parse_frames({wire.data(), wire.size()});
  BOOST_REQUIRE_EQUAL(out.size(), 1u);
  BOOST_TEST(out[0].close_code() == 1001);
  BOOST_TEST(out[0].payload.substr(2) == "server stopping");
  BOOST_TEST(!s.ch.finished());
  BOOST_REQUIRE(!s.feed(client_frame(binary_op, tao_message(1, "in flight"))
                        + client_frame(close_op, close_payload(1001))));
  BOOST_TEST(s.ch.finished());
  BOOST_TEST(!s.ch.end_reason());
  BOOST_TEST(s.out.empty()); // no second close
}

BOOST_AUTO_TEST_CASE(writes_become_messages) {
  server s{with_text(1)};
  BOOST_REQUIRE(!s.write(encode(1, "chat line\n") + encode(1, "\xff not utf-8") + encode(42, "bin")
                         + encode(7, std::string(300, 'z'))));
  auto out = s.sent();
  BOOST_REQUIRE_EQUAL(out.size(), 4u);
  BOOST_TEST(out[0].opcode == text_op);
  BOOST_TEST(out[0].payload == "chat line\n");
  BOOST_TEST(out[1].opcode == binary_op);
  BOOST_TEST(out[1].payload == tao_message(1, "\xff not utf-8"));
  BOOST_TEST(out[2].payload == tao_message(42, "bin"));
  BOOST_TEST(out[3].payload == tao_message(7, std::string(300, 'z')));
  for (const auto& f : out) {
    BOOST_TEST(f.fin);
    BOOST_TEST(!f.masked);
  }
}

BOOST_AUTO_TEST_CASE(heartbeats_become_pings_and_pongs_are_activity) {
  server s;
  byte_buffer beat;
  BOOST_REQUIRE(!tao::protocol::encode_message(*tao::protocol::default_codec(),
                                               tao::protocol::heartbeat::now(), beat));
  BOOST_REQUIRE(!s.write({beat.data(), beat.size()}));
  auto out = s.sent();
  BOOST_REQUIRE_EQUAL(out.size(), 1u);
  BOOST_TEST(out[0].opcode == ping_op);
  BOOST_TEST(out[0].payload.size() == 8u);
  BOOST_TEST(!s.ch.take_activity());
  BOOST_REQUIRE(!s.feed(client_frame(pong_op, out[0].payload)));
  BOOST_TEST(s.ch.take_activity());
  BOOST_TEST(s.frames.empty());
  byte_buffer wire;
  s.ch.ping("hook", wire);
  auto pings = parse_frames({wire.data(), wire.size()});
  BOOST_REQUIRE_EQUAL(pings.size(), 1u);
  BOOST_TEST(pings[0].payload == "hook");
}

BOOST_AUTO_TEST_CASE(byte_accounting_trades_framed_for_message_bytes) {
  server s;
  auto framed = encode(3, "abc") + encode(4, "");
  BOOST_REQUIRE(!s.write(framed));
  BOOST_TEST(s.ch.take_consumed() == framed.size());
  BOOST_TEST(s.ch.take_consumed() == 0u);
  // 2-byte header + 4-byte type + payload per message.
  BOOST_TEST(s.out.size() == (2u + 4u + 3u) + (2u + 4u));
  BOOST_TEST(tao::protocol::is(s.write("\x01\x00"), errc::invalid_argument));
}

BOOST_AUTO_TEST_CASE(client_and_server_back_to_back) {
  websocket_options copts;
  copts.subprotocols = {"tao"};
  copts.text_type = 1;
  auto cctx = context(websocket_role::client, copts);
  websocket_options sopts;
  sopts.subprotocols = {"tao"};
  sopts.text_type = 1;
  auto sctx = context(websocket_role::server, sopts);
  websocket_channel client{cctx};
  websocket_channel srv{sctx};
  byte_buffer to_server;
  byte_buffer to_client;
  frame_batch at_server;
  frame_batch at_client;
  // Writes before the upgrade are held and sent once it completes.
  auto early = encode(5, "sent before the upgrade");
  BOOST_REQUIRE(!client.write(early.data(), early.size(), to_server));
  BOOST_TEST(client.held_bytes() == early.size());
  client.start(to_server);
  BOOST_REQUIRE(!srv.read(to_server.data(), to_server.size(), at_server, to_client));
  to_server.clear();
  BOOST_TEST(srv.established());
  BOOST_TEST(srv.subprotocol() == "tao");
  BOOST_REQUIRE(!client.read(to_client.data(), to_client.size(), at_client, to_server));
  to_client.clear();
  BOOST_TEST(client.established());
  BOOST_TEST(client.subprotocol() == "tao");
  BOOST_TEST(client.held_bytes() == 0u);
  auto frames = parse_frames({to_server.data(), to_server.size()});
  BOOST_REQUIRE_EQUAL(frames.size(), 1u);
  BOOST_TEST(frames[0].masked); // clients mask
  auto more = encode(1, "text both ways\n") + encode(6, std::string(100000, 'q'));
  BOOST_REQUIRE(!client.write(more.data(), more.size(), to_server));
  BOOST_REQUIRE(!srv.read(to_server.data(), to_server.size(), at_server, to_client));
  BOOST_REQUIRE_EQUAL(at_server.size(), 3u);
  BOOST_TEST(at_server[0].payload == "sent before the upgrade");
  BOOST_TEST(at_server[1].type == 1);
  BOOST_TEST(at_server[2].payload.size() == 100000u);
  auto reply = encode(1, "reply\n");
  BOOST_REQUIRE(!srv.write(reply.data(), reply.size(), to_client));
  BOOST_REQUIRE(!client.read(to_client.data(), to_client.size(), at_client, to_server));
  BOOST_REQUIRE_EQUAL(at_client.size(), 1u);
  BOOST_TEST(at_client[0].type == 1);
  BOOST_TEST(at_client[0].payload == "reply\n");
  // The client closes; the server echoes; both end cleanly.
  to_server.clear();
  to_client.clear();
  client.close(1000, "", to_server);
  BOOST_REQUIRE(!srv.read(to_server.data(), to_server.size(), at_server, to_client));
  BOOST_TEST(srv.peer_closing());
  srv.close(1000, "", to_client);
  BOOST_TEST(srv.finished());
  BOOST_REQUIRE(!client.read(to_client.data(), to_client.size(), at_client, to_server));
  BOOST_TEST(client.finished());
  BOOST_TEST(!client.end_reason());
  BOOST_TEST(!srv.end_reason());
}

BOOST_AUTO_TEST_CASE(a_masked_server_frame_fails_the_client_with_1002) {
  auto cctx = context(websocket_role::client);
  websocket_channel client{cctx};
  byte_buffer out;
  client.start(out);
  auto request = std::string{out.data(), out.size()};
  auto key_at = request.find("Sec-WebSocket-Key: ") + 19;
  auto key = request.substr(key_at, 24);
  auto response = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: "
                  "Upgrade\r\nSec-WebSocket-Accept: "
                  + tao::net::websocket_accept(key) + "\r\n\r\n"
                  + client_frame(binary_op, tao_message(1, "masked"));
  out.clear();
  frame_batch frames;
  auto err = client.read(response.data(), response.size(), frames, out);
  BOOST_TEST(render(err).find("1002") != std::string::npos, render(err));
  auto sent = parse_frames({out.data(), out.size()});
  BOOST_REQUIRE_EQUAL(sent.size(), 1u);
  BOOST_TEST(sent[0].masked);
  BOOST_TEST(sent[0].close_code() == 1002);
  BOOST_TEST(frames.empty());
}

BOOST_AUTO_TEST_CASE(a_server_frame_right_after_the_101_is_read) {
  auto cctx = context(websocket_role::client);
  websocket_channel client{cctx};
  byte_buffer out;
  client.start(out);
  auto request = std::string{out.data(), out.size()};
  auto key = request.substr(request.find("Sec-WebSocket-Key: ") + 19, 24);
  auto response = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: "
                  "Upgrade\r\nSec-WebSocket-Accept: "
                  + tao::net::websocket_accept(key) + "\r\n\r\n"
                  + server_frame(binary_op, tao_message(3, "welcome"));
  frame_batch frames;
  out.clear();
  BOOST_REQUIRE(!client.read(response.data(), response.size(), frames, out));
  BOOST_REQUIRE_EQUAL(frames.size(), 1u);
  BOOST_TEST(frames[0].payload == "welcome");
}

BOOST_AUTO_TEST_CASE(utf8_edge_cases) {
  using tao::net::is_utf8;
  BOOST_TEST(is_utf8(""));
  BOOST_TEST(is_utf8("plain ascii"));
  BOOST_TEST(is_utf8("\xc2\x80"));              // U+0080, smallest 2-byte
  BOOST_TEST(is_utf8("\xef\xbf\xbf"));          // U+FFFF
  BOOST_TEST(is_utf8("\xf0\x90\x80\x80"));      // U+10000
  BOOST_TEST(is_utf8("\xf4\x8f\xbf\xbf"));      // U+10FFFF, largest
  BOOST_TEST(is_utf8("\xed\x9f\xbf"));          // U+D7FF, below the surrogates
  BOOST_TEST(!is_utf8("\xc1\xbf"));             // overlong
  BOOST_TEST(!is_utf8("\xe0\x9f\xbf"));         // overlong 3-byte
  BOOST_TEST(!is_utf8("\xed\xbf\xbf"));         // surrogate
  BOOST_TEST(!is_utf8("\xf4\x90\x80\x80"));     // above U+10FFFF
  BOOST_TEST(!is_utf8("\x80"));                 // lone continuation
  BOOST_TEST(!is_utf8("\xe2\x82"));             // truncated
  BOOST_TEST(!is_utf8("\xf8\x88\x80\x80\x80")); // 5-byte form
}

BOOST_AUTO_TEST_CASE(close_codes_for_local_reasons) {
  using tao::net::websocket_close_code;
  using tao::protocol::make_error;
  BOOST_TEST(websocket_close_code(caf::error{}) == 1000);
  BOOST_TEST(websocket_close_code(make_error(errc::closed, "stop")) == 1001);
  BOOST_TEST(websocket_close_code(make_error(errc::heartbeat_timeout)) == 1001);
  BOOST_TEST(websocket_close_code(make_error(errc::refused)) == 1008);
  BOOST_TEST(websocket_close_code(make_error(errc::malformed_payload)) == 1007);
  BOOST_TEST(websocket_close_code(make_error(errc::handler_failed)) == 1011);
}
