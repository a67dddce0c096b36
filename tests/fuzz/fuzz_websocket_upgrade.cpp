// libFuzzer target: the HTTP head a WebSocket port reads, server and client
// side. A server channel is fed the input as a request (byte 0 seeds the
// chunk sizes), a client channel as the response to its request. Both must
// end cleanly: upgraded, answered, refused or still waiting, never a crash.
// Invariants: a server answer is an HTTP/1.1 status line; a refusal or a
// failure finishes the channel; no frame comes out of a channel that did
// not upgrade; nothing grows past the head limit.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>

#include "tao/net/static_site.hpp"
#include "tao/net/websocket_channel.hpp"
#include "tao/net/websocket_context.hpp"
#include "tao/protocol/codec.hpp"
#include "tao/protocol/error.hpp"

#include "fuzz_support.hpp"

namespace {

using tao::net::websocket_channel;
using tao::net::websocket_context;
using tao::net::websocket_options;
using tao::net::websocket_role;
using tao::protocol::byte_buffer;
using tao::protocol::frame_batch;

std::shared_ptr<websocket_context> make(websocket_role role) {
  websocket_options opts;
  opts.max_header_size = 1024;
  opts.subprotocols = {"tao", "chat"};
  opts.allowed_origins = {"http://ok.example"};
  opts.text_type = 1;
  opts.host_header = "fuzz:1";
  auto ctx = websocket_context::make(role, opts, tao::protocol::default_codec());
  TAO_FUZZ_CHECK(ctx.engaged(), "the options are valid");
  if (role == websocket_role::server) {
    std::map<std::string, tao::net::static_site::file> files;
    files["/index.html"] = {"text/html", "<p>page</p>"};
    (*ctx)->set_site(std::make_shared<tao::net::static_site>(std::move(files)));
  }
  return *ctx;
}

void feed(websocket_channel& ch, const char* data, size_t size, tao::fuzz::chunker& chunks,
          byte_buffer& out, frame_batch& frames) {
  size_t pos = 0;
  while (pos < size) {
    auto n = chunks.next(size - pos);
    auto err = ch.read(data + pos, n, frames, out);
    if (err) {
      TAO_FUZZ_CHECK(is(err, tao::protocol::errc::websocket_failure), "failures are websocket");
      TAO_FUZZ_CHECK(ch.finished(), "a failure finishes the channel");
      return;
    }
    if (ch.finished())
      return;
    pos += n;
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* raw, size_t size) {
  if (size < 1)
    return 0;
  static auto server_ctx = make(websocket_role::server);
  static auto client_ctx = make(websocket_role::client);
  auto* data = reinterpret_cast<const char*>(raw + 1);
  size -= 1;
  {
    tao::fuzz::chunker chunks{raw[0]};
    websocket_channel ch{server_ctx};
    byte_buffer out;
    frame_batch frames;
    feed(ch, data, size, chunks, out, frames);
    if (!out.empty())
      TAO_FUZZ_CHECK(out.size() >= 12 && std::memcmp(out.data(), "HTTP/1.1 ", 9) == 0,
                     "a server answers with a status line");
    if (!ch.established())
      TAO_FUZZ_CHECK(frames.empty(), "no frames before the upgrade");
  }
  {
    tao::fuzz::chunker chunks{raw[0]};
    websocket_channel ch{client_ctx};
    byte_buffer out;
    ch.start(out);
    TAO_FUZZ_CHECK(!out.empty(), "a client sends its request");
    out.clear();
    frame_batch frames;
    feed(ch, data, size, chunks, out, frames);
    if (!ch.established())
      TAO_FUZZ_CHECK(frames.empty() && out.empty(), "a client that did not upgrade sends nothing");
  }
  return 0;
}
