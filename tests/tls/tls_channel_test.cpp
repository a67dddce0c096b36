#define BOOST_TEST_MODULE net_tls_channel
#include <boost/test/unit_test.hpp>

// Two TLS channels wired back to back in memory: no sockets, no threads, no
// clock. Every byte one side emits is fed to the other until both are quiet.

#include <fstream>
#include <memory>
#include <string>

#include "tao/net/tls_channel.hpp"
#include "tao/net/tls_context.hpp"
#include "tao/protocol/error.hpp"

#include "support/test_certs.hpp"

using tao::net::tls_channel;
using tao::net::tls_context;
using tao::net::tls_options;
using tao::net::tls_role;
using tao::protocol::byte_buffer;
using tao::protocol::errc;
using tao::protocol::render;

namespace {

const auto& certs = tao::test::test_certs::get;

std::shared_ptr<tls_context> context(tls_role role, tls_options opts) {
  auto ctx = tls_context::make(role, std::move(opts));
  BOOST_REQUIRE_MESSAGE(ctx, (ctx ? std::string{} : render(ctx.error())));
  return *ctx;
}

std::unique_ptr<tls_channel> channel(const tls_context& ctx, const std::string& name = "") {
  auto ch = tls_channel::make(ctx, name);
  BOOST_REQUIRE_MESSAGE(ch, (ch ? std::string{} : render(ch.error())));
  return std::move(*ch);
}

std::string text(const byte_buffer& buf) {
  return {buf.data(), buf.size()};
}

/// A client and a server channel with what each side decrypted.
struct pair {
  std::unique_ptr<tls_channel> client;
  std::unique_ptr<tls_channel> server;
  byte_buffer to_server; // ciphertext in flight
  byte_buffer to_client;
  byte_buffer client_plain;
  byte_buffer server_plain;
  caf::error client_err;
  caf::error server_err;

  pair(const tls_context& client_ctx, const tls_context& server_ctx,
       const std::string& name = "localhost")
    : client(channel(client_ctx, name)), server(channel(server_ctx)) {
    BOOST_REQUIRE(!client->start(to_server));
  }

  /// Moves ciphertext both ways until nothing is in flight or a side failed.
  void pump() {
    for (int i = 0; i < 100 && (!to_server.empty() || !to_client.empty()); ++i) {
      if (!to_server.empty() && !server_err) {
        byte_buffer in;
        in.swap(to_server);
        server_err = server->read(in.data(), in.size(), server_plain, to_client);
      } else {
        to_server.clear();
      }
      if (!to_client.empty() && !client_err) {
        byte_buffer in;
        in.swap(to_client);
        client_err = client->read(in.data(), in.size(), client_plain, to_server);
      } else {
        to_client.clear();
      }
    }
  }

  bool established() const {
    return client->established() && server->established();
  }
};

bool mentions(const caf::error& err, const std::string& what) {
  return render(err).find(what) != std::string::npos;
}

} // namespace

BOOST_AUTO_TEST_SUITE(net_tls_channel)

BOOST_AUTO_TEST_CASE(handshake_then_data_both_ways) {
  auto s = context(tls_role::server, certs().server());
  auto c = context(tls_role::client, certs().client());
  pair p{*c, *s};
  p.pump();
  BOOST_REQUIRE_MESSAGE(p.established(), render(p.client_err) << " / " << render(p.server_err));
  BOOST_CHECK_EQUAL(p.client->protocol_version(), "TLSv1.3");
  BOOST_CHECK(!p.client->cipher().empty());
  BOOST_CHECK(p.client->peer_subject().find("CN=localhost") != std::string::npos);
  BOOST_CHECK(p.server->peer_subject().empty()); // no client certificate
  BOOST_REQUIRE(!p.client->write("hello", 5, p.to_server));
  BOOST_REQUIRE(!p.server->write("world!", 6, p.to_client));
  p.pump();
  BOOST_CHECK_EQUAL(text(p.server_plain), "hello");
  BOOST_CHECK_EQUAL(text(p.client_plain), "world!");
  BOOST_CHECK_EQUAL(p.client->take_encrypted_plaintext(), 5u);
  BOOST_CHECK_EQUAL(p.client->take_encrypted_plaintext(), 0u);
}

BOOST_AUTO_TEST_CASE(writes_before_the_handshake_are_held_then_sent_in_order) {
  auto s = context(tls_role::server, certs().server());
  auto c = context(tls_role::client, certs().client());
  pair p{*c, *s};
  BOOST_REQUIRE(!p.client->write("one ", 4, p.to_server));
  BOOST_REQUIRE(!p.server->write("greeting", 8, p.to_client));
  BOOST_CHECK_EQUAL(p.client->held_plaintext(), 4u);
  BOOST_CHECK_EQUAL(p.client->take_encrypted_plaintext(), 0u);
  BOOST_REQUIRE(!p.client->write("two", 3, p.to_server));
  p.pump();
  BOOST_REQUIRE(p.established());
  BOOST_CHECK_EQUAL(p.client->held_plaintext(), 0u);
  BOOST_CHECK_EQUAL(p.client->take_encrypted_plaintext(), 7u);
  BOOST_CHECK_EQUAL(text(p.server_plain), "one two");
  BOOST_CHECK_EQUAL(text(p.client_plain), "greeting");
}

BOOST_AUTO_TEST_CASE(one_mebibyte_each_way) {
  auto s = context(tls_role::server, certs().server());
  auto c = context(tls_role::client, certs().client());
  pair p{*c, *s};
  p.pump();
  BOOST_REQUIRE(p.established());
  byte_buffer up(1u << 20);
  byte_buffer down(1u << 20);
  for (size_t i = 0; i < up.size(); ++i) {
    up[i] = static_cast<char>(i * 7 + 3);
    down[i] = static_cast<char>(i * 13 + 1);
  }
  BOOST_REQUIRE(!p.client->write(up.data(), up.size(), p.to_server));
  BOOST_REQUIRE(!p.server->write(down.data(), down.size(), p.to_client));
  BOOST_CHECK_GT(p.to_server.size(), up.size()); // records add their overhead
  p.pump();
  BOOST_CHECK(p.server_plain == up);
  BOOST_CHECK(p.client_plain == down);
}

BOOST_AUTO_TEST_CASE(ip_literal_names_are_checked_against_ip_addresses) {
  auto s = context(tls_role::server, certs().server());
  auto c = context(tls_role::client, certs().client());
  pair p{*c, *s, "127.0.0.1"};
  p.pump();
  BOOST_CHECK(p.established());
}

BOOST_AUTO_TEST_CASE(an_untrusted_ca_fails_the_client) {
  auto s = context(tls_role::server, certs().server());
  auto c = context(tls_role::client, certs().client("other-ca"));
  pair p{*c, *s};
  p.pump();
  BOOST_CHECK(!p.client->established());
  BOOST_CHECK(tao::protocol::is(p.client_err, errc::tls_failure));
  BOOST_CHECK_MESSAGE(mentions(p.client_err, "unable to get local issuer certificate"),
                      render(p.client_err));
  // The client's alert reaches the server, which fails too.
  BOOST_CHECK(tao::protocol::is(p.server_err, errc::tls_failure));
  // A failed channel stays failed.
  byte_buffer out;
  BOOST_CHECK(p.client->write("x", 1, out));
}

BOOST_AUTO_TEST_CASE(an_expired_certificate_fails_the_client) {
  auto s = context(tls_role::server, certs().server("expired"));
  auto c = context(tls_role::client, certs().client());
  pair p{*c, *s};
  p.pump();
  BOOST_CHECK(!p.client->established());
  BOOST_CHECK_MESSAGE(mentions(p.client_err, "certificate has expired"), render(p.client_err));
}

BOOST_AUTO_TEST_CASE(a_certificate_for_another_host_fails_the_client) {
  auto s = context(tls_role::server, certs().server("wronghost"));
  auto c = context(tls_role::client, certs().client());
  pair p{*c, *s};
  p.pump();
  BOOST_CHECK(!p.client->established());
  BOOST_CHECK_MESSAGE(mentions(p.client_err, "hostname mismatch"), render(p.client_err));
}

BOOST_AUTO_TEST_CASE(without_verification_any_certificate_passes) {
  auto s = context(tls_role::server, certs().server("wronghost"));
  auto opts = certs().client("other-ca");
  opts.verify_peer = false;
  auto c = context(tls_role::client, opts);
  pair p{*c, *s};
  p.pump();
  BOOST_CHECK(p.established());
}

BOOST_AUTO_TEST_CASE(mutual_tls_requires_a_client_certificate) {
  auto sopts = certs().server();
  sopts.client_auth = tao::net::tls_client_auth::required;
  sopts.ca_file = certs()("ca.pem");
  auto s = context(tls_role::server, sopts);
  { // Without a certificate: refused by the server, which alerts the client.
    auto c = context(tls_role::client, certs().client());
    pair p{*c, *s};
    p.pump();
    BOOST_CHECK(!p.server->established());
    BOOST_CHECK_MESSAGE(mentions(p.server_err, "certificate"), render(p.server_err));
    BOOST_CHECK(tao::protocol::is(p.client_err, errc::tls_failure));
  }
  { // With one signed by the trusted CA: accepted, and the server sees it.
    auto copts = certs().client();
    copts.certificate_file = certs()("client.pem");
    copts.private_key_file = certs()("client.key");
    auto c = context(tls_role::client, copts);
    pair p{*c, *s};
    p.pump();
    BOOST_REQUIRE(p.established());
    BOOST_CHECK(p.server->peer_subject().find("CN=tao-test-client") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(optional_client_certificates) {
  auto sopts = certs().server();
  sopts.client_auth = tao::net::tls_client_auth::optional;
  sopts.ca_file = certs()("ca.pem");
  auto s = context(tls_role::server, sopts);
  auto c = context(tls_role::client, certs().client());
  pair p{*c, *s};
  p.pump();
  BOOST_CHECK(p.established());
}

BOOST_AUTO_TEST_CASE(garbage_and_plaintext_fail_the_server) {
  auto s = context(tls_role::server, certs().server());
  for (std::string input :
       {std::string{"\x01\0\0\0\x02\0\0\0hi", 10}, std::string{"GET / HTTP/1.1\r\n\r\n"}}) {
    auto ch = channel(*s);
    byte_buffer plain;
    byte_buffer out;
    auto err = ch->read(input.data(), input.size(), plain, out);
    BOOST_CHECK_MESSAGE(tao::protocol::is(err, errc::tls_failure), render(err));
    BOOST_CHECK(plain.empty());
  }
}

BOOST_AUTO_TEST_CASE(close_notify_reaches_the_peer) {
  auto s = context(tls_role::server, certs().server());
  auto c = context(tls_role::client, certs().client());
  pair p{*c, *s};
  p.pump();
  BOOST_REQUIRE(p.established());
  BOOST_REQUIRE(!p.client->write("last", 4, p.to_server));
  p.client->shutdown(p.to_server);
  p.pump();
  BOOST_CHECK_EQUAL(text(p.server_plain), "last");
  BOOST_CHECK(p.server->peer_closed());
  BOOST_CHECK(!p.server_err);
}

BOOST_AUTO_TEST_CASE(tls_1_3_floor) {
  auto sopts = certs().server();
  sopts.min_version = tao::net::tls_version::v1_3;
  auto s = context(tls_role::server, sopts);
  auto c = context(tls_role::client, certs().client());
  pair p{*c, *s};
  p.pump();
  BOOST_REQUIRE(p.established());
  BOOST_CHECK_EQUAL(p.server->protocol_version(), "TLSv1.3");
}

BOOST_AUTO_TEST_CASE(bad_options_are_refused_with_clear_errors) {
  auto no_cert = tls_options{};
  no_cert.enabled = true;
  auto e1 = tls_context::make(tls_role::server, no_cert);
  BOOST_REQUIRE(!e1);
  BOOST_CHECK(tao::protocol::is(e1.error(), errc::invalid_argument));

  auto missing = certs().server();
  missing.certificate_file = certs()("nonexistent.pem");
  auto e2 = tls_context::make(tls_role::server, missing);
  BOOST_REQUIRE(!e2);
  BOOST_CHECK(tao::protocol::is(e2.error(), errc::tls_failure));
  BOOST_CHECK_MESSAGE(mentions(e2.error(), "nonexistent.pem"), render(e2.error()));

  auto mismatch = certs().server();
  mismatch.private_key_file = certs()("client.key");
  auto e3 = tls_context::make(tls_role::server, mismatch);
  BOOST_REQUIRE(!e3);
  BOOST_CHECK_MESSAGE(mentions(e3.error(), "client.key") && mentions(e3.error(), "mismatch"),
                      render(e3.error()));

  auto no_ca = certs().server();
  no_ca.client_auth = tao::net::tls_client_auth::required;
  auto e4 = tls_context::make(tls_role::server, no_ca);
  BOOST_REQUIRE(!e4);
  BOOST_CHECK(tao::protocol::is(e4.error(), errc::invalid_argument));

  auto bad_ciphers = certs().client();
  bad_ciphers.cipher_list = "NO-SUCH-CIPHER";
  BOOST_CHECK(!tls_context::make(tls_role::client, bad_ciphers));
}

BOOST_AUTO_TEST_CASE(reload_swaps_the_files_for_new_sessions_only) {
  // The server's files live in a copy that the test rewrites.
  auto dir = certs().dir() + "/reload";
  BOOST_REQUIRE_EQUAL(std::system(("mkdir -p '" + dir + "' && cp '" + certs()("server.pem") + "' '"
                                   + certs()("server.key") + "' '" + dir + "/'")
                                    .c_str()),
                      0);
  auto sopts = certs().server();
  sopts.certificate_file = dir + "/server.pem";
  sopts.private_key_file = dir + "/server.key";
  auto s = context(tls_role::server, sopts);
  auto trusts_ca = context(tls_role::client, certs().client("ca"));
  auto trusts_other = context(tls_role::client, certs().client("other-ca"));
  pair before{*trusts_ca, *s}; // session made before the reload
  BOOST_REQUIRE_EQUAL(
    std::system(("cp '" + certs()("server-other.pem") + "' '" + dir + "/server.pem' && cp '"
                 + certs()("server-other.key") + "' '" + dir + "/server.key'")
                  .c_str()),
    0);
  BOOST_REQUIRE(!s->reload());
  before.pump();
  BOOST_CHECK(before.established());
  pair after{*trusts_other, *s};
  after.pump();
  BOOST_CHECK(after.established());
  pair stale{*trusts_ca, *s};
  stale.pump();
  BOOST_CHECK(!stale.client->established());
  // A broken file keeps the last good context.
  { std::ofstream{dir + "/server.pem"} << "not a certificate"; }
  BOOST_CHECK(s->reload());
  pair still{*trusts_other, *s};
  still.pump();
  BOOST_CHECK(still.established());
}

BOOST_AUTO_TEST_SUITE_END()
