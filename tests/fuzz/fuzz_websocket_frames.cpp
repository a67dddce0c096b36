// libFuzzer target: WebSocket frames after a completed upgrade, to a server
// channel (byte 0, bit 0 clear) or a client channel (bit 0 set); byte 1
// seeds the chunk sizes. The rest is the frame stream. Invariants: a
// failure is a websocket_failure with a close code we sent and finishes the
// channel; frames come out only while no failure happened; what the channel
// sends parses as whole frames (control frames at most 125 bytes, masked
// exactly in the client role); a received message never exceeds the limit.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "tao/net/websocket_channel.hpp"
#include "tao/net/websocket_context.hpp"
#include "tao/net/websocket_handshake.hpp"
#include "tao/protocol/codec.hpp"
#include "tao/protocol/error.hpp"

#include "fuzz_support.hpp"
#include "support/websocket_frames.hpp"

namespace {

using tao::net::websocket_channel;
using tao::net::websocket_context;
using tao::net::websocket_options;
using tao::net::websocket_role;
using tao::protocol::byte_buffer;
using tao::protocol::frame_batch;

constexpr size_t limit = 4096;

std::shared_ptr<websocket_context> make(websocket_role role) {
  websocket_options opts;
  opts.max_message_size = limit;
  opts.text_type = 1;
  opts.host_header = "fuzz:1";
  auto ctx = websocket_context::make(role, opts, tao::protocol::default_codec());
  TAO_FUZZ_CHECK(ctx.engaged(), "the options are valid");
  return *ctx;
}

/// A channel past its upgrade.
std::unique_ptr<websocket_channel> open(const std::shared_ptr<websocket_context>& ctx) {
  auto ch = std::make_unique<websocket_channel>(ctx);
  byte_buffer out;
  frame_batch frames;
  std::string head;
  if (ctx->role() == websocket_role::server) {
    head = tao::test::rfc_request();
  } else {
    ch->start(out);
    std::string request{out.data(), out.size()};
    auto key = request.substr(request.find("Sec-WebSocket-Key: ") + 19, 24);
    head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Accept: "
           + tao::net::websocket_accept(key) + "\r\n\r\n";
  }
  out.clear();
  TAO_FUZZ_CHECK(!ch->read(head.data(), head.size(), frames, out), "the upgrade succeeds");
  TAO_FUZZ_CHECK(ch->established(), "the channel is open");
  return ch;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* raw, size_t size) {
  if (size < 2)
    return 0;
  static auto server_ctx = make(websocket_role::server);
  static auto client_ctx = make(websocket_role::client);
  bool client = (raw[0] & 1) != 0;
  auto ch = open(client ? client_ctx : server_ctx);
  tao::fuzz::chunker chunks{raw[1]};
  auto* data = reinterpret_cast<const char*>(raw + 2);
  size -= 2;
  std::string sent;
  frame_batch frames;
  size_t pos = 0;
  while (pos < size && !ch->finished()) {
    auto n = chunks.next(size - pos);
    byte_buffer out;
    auto err = ch->read(data + pos, n, frames, out);
    sent.append(out.data(), out.size());
    if (err) {
      TAO_FUZZ_CHECK(is(err, tao::protocol::errc::websocket_failure), "failures are websocket");
      TAO_FUZZ_CHECK(ch->finished(), "a failure finishes the channel");
      auto code = ch->close_code_sent();
      TAO_FUZZ_CHECK(code == 1002 || code == 1003 || code == 1007 || code == 1009,
                     "a failure sends the RFC's code");
    }
    pos += n;
  }
  for (size_t i = 0; i < frames.size(); ++i)
    TAO_FUZZ_CHECK(frames[i].payload.size() <= limit, "messages respect the limit");
  // A write after whatever happened must not break the output either.
  byte_buffer framed;
  TAO_FUZZ_CHECK(!tao::protocol::default_codec()->encode(1, "after", framed), "encodes");
  byte_buffer out;
  (void)ch->write(framed.data(), framed.size(), out);
  sent.append(out.data(), out.size());
  size_t rest = 0;
  auto parsed = tao::test::parse_frames(sent, &rest);
  TAO_FUZZ_CHECK(rest == sent.size(), "the channel sends whole frames");
  for (const auto& f : parsed) {
    TAO_FUZZ_CHECK(f.masked == client, "masked exactly in the client role");
    if (f.opcode >= 8)
      TAO_FUZZ_CHECK(f.payload.size() <= 125 && f.fin, "control frames are small and whole");
  }
  return 0;
}
