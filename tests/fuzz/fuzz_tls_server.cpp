// libFuzzer target: a server-side tls_channel fed bytes as if read from the
// network. It must fail cleanly: a tls_failure or nothing, never a crash,
// never plaintext that no authenticated peer sent.
//
// Input: byte 0 picks the mode, byte 1 seeds the chunk sizes.
// - mode 0: the rest goes to a fresh server channel as it is;
// - mode 1: a real ClientHello (from a client channel) with the rest
//   XOR-ed over its start and appended, then the exchange goes on between
//   the client and the server for a few rounds;
// - mode 2: a completed handshake, then the rest as application records.
// Invariants: plaintext only ever comes out of an established channel and
// never from forged records (mode 2 sends none genuine); a failure is
// sticky; cipher_out stays small.
//
// The certificates are made once per process by
// tests/support/make_test_certs.sh (see test_certs.hpp).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "tao/net/tls_channel.hpp"
#include "tao/net/tls_context.hpp"
#include "tao/protocol/error.hpp"

#include "fuzz_support.hpp"
#include "support/test_certs.hpp"

namespace {

using tao::net::tls_channel;
using tao::net::tls_context;
using tao::net::tls_role;
using tao::protocol::byte_buffer;

struct contexts {
  std::shared_ptr<tls_context> server;
  std::shared_ptr<tls_context> client;
};

const contexts& the_contexts() {
  static const contexts instance = [] {
    const auto& certs = tao::test::test_certs::get();
    auto server = tls_context::make(tls_role::server, certs.server());
    auto client = tls_context::make(tls_role::client, certs.client());
    TAO_FUZZ_CHECK(server && client, "the test certificates load");
    return contexts{*server, *client};
  }();
  return instance;
}

std::unique_ptr<tls_channel> channel(const tls_context& ctx, const std::string& name) {
  auto ch = tls_channel::make(ctx, name);
  TAO_FUZZ_CHECK(ch.engaged(), "a session can be made");
  return std::move(*ch);
}

/// Feeds `data` to `server` in chunks; returns false once it failed.
bool feed(tls_channel& server, const char* data, size_t size, tao::fuzz::chunker& chunks,
          byte_buffer& plain, byte_buffer& to_client) {
  size_t pos = 0;
  while (pos < size) {
    auto n = chunks.next(size - pos);
    auto before = to_client.size();
    auto err = server.read(data + pos, n, plain, to_client);
    TAO_FUZZ_CHECK(to_client.size() - before <= 64 * 1024, "one read answers with little");
    if (err) {
      TAO_FUZZ_CHECK(is(err, tao::protocol::errc::tls_failure), "failures are tls_failure");
      byte_buffer p;
      byte_buffer c;
      TAO_FUZZ_CHECK(server.read(data, size, p, c) && p.empty(), "a failure is sticky");
      TAO_FUZZ_CHECK(server.write("x", 1, c), "a failed channel refuses writes");
      return false;
    }
    pos += n;
  }
  return true;
}

/// Runs client and server against each other until both are quiet (at most
/// `rounds` exchanges). Returns false if either side failed.
bool exchange(tls_channel& client, tls_channel& server, byte_buffer& to_server, int rounds) {
  byte_buffer plain;
  for (int i = 0; i < rounds && !to_server.empty(); ++i) {
    byte_buffer to_client;
    if (server.read(to_server.data(), to_server.size(), plain, to_client))
      return false;
    to_server.clear();
    if (!to_client.empty() && client.read(to_client.data(), to_client.size(), plain, to_server))
      return false;
  }
  TAO_FUZZ_CHECK(plain.empty(), "no application data was sent");
  return true;
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)the_contexts();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* raw, size_t size) {
  if (size < 2)
    return 0;
  const auto& ctx = the_contexts();
  auto mode = raw[0] % 3;
  tao::fuzz::chunker chunks{raw[1]};
  auto* data = reinterpret_cast<const char*>(raw + 2);
  size -= 2;
  auto server = channel(*ctx.server, "");
  byte_buffer plain;
  byte_buffer to_client;
  switch (mode) {
  case 0:
    feed(*server, data, size, chunks, plain, to_client);
    TAO_FUZZ_CHECK(!server->established(), "random bytes complete no handshake");
    break;
  case 1: {
    auto client = channel(*ctx.client, "localhost");
    byte_buffer hello;
    TAO_FUZZ_CHECK(!client->start(hello), "a client starts");
    for (size_t i = 0; i < size; ++i) {
      if (i < hello.size())
        hello[i] = static_cast<char>(hello[i] ^ data[i]);
      else
        hello.push_back(data[i]);
    }
    if (feed(*server, hello.data(), hello.size(), chunks, plain, to_client) && !to_client.empty()) {
      byte_buffer to_server;
      if (!client->read(to_client.data(), to_client.size(), plain, to_server))
        exchange(*client, *server, to_server, 4);
    }
    TAO_FUZZ_CHECK(plain.empty(), "no application data was sent");
    break;
  }
  default: {
    auto client = channel(*ctx.client, "localhost");
    byte_buffer to_server;
    TAO_FUZZ_CHECK(!client->start(to_server), "a client starts");
    TAO_FUZZ_CHECK(exchange(*client, *server, to_server, 8), "the honest handshake succeeds");
    TAO_FUZZ_CHECK(server->established(), "the honest handshake completes");
    feed(*server, data, size, chunks, plain, to_client);
    TAO_FUZZ_CHECK(plain.empty(), "forged records never decrypt");
  }
  }
  return 0;
}
