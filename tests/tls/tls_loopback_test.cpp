#define BOOST_TEST_MODULE integration_tls
#include <boost/test/unit_test.hpp>

// TLS over real sockets on 127.0.0.1 with ephemeral ports: tao against tao,
// `openssl s_client` against a tao server, a tao client against
// `openssl s_server`, and every failure a TLS port faces. Certificates are
// made at test time (support/test_certs.hpp). Waits are on events with
// bounds, never on sleeps.

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <functional>
#include <string>

#include <caf/scoped_actor.hpp>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include "tao/all.hpp"
#include "tao/protocol/byte_order.hpp"

#include "support/child_process.hpp"
#include "support/io_threads.hpp"
#include "support/listening.hpp"
#include "support/loopback.hpp"
#include "support/test_certs.hpp"
#include "support/tlv_socket.hpp"

using namespace std::chrono_literals;
using echo_message = tao::protocol::text_message<1>;
using tao::protocol::errc;
using tao::protocol::render;

namespace {

const auto& certs = tao::test::test_certs::get;

std::string code(const caf::error& err) {
  return err ? tao::protocol::to_string(static_cast<errc>(err.code())) : "none";
}

/// The TLV bytes of one type-1 frame.
std::string tlv(const std::string& payload) {
  std::string hdr(8, '\0');
  tao::protocol::store_le32(hdr.data(), 1);
  tao::protocol::store_le32(hdr.data() + 4, static_cast<uint32_t>(payload.size()));
  return hdr + payload;
}

/// A port nobody listens on right now (for `openssl s_server`, which cannot
/// report an ephemeral port).
uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

/// How a blocking OpenSSL client ends its input on a half-open connection.
enum class tls_half_close { tcp_only, close_notify };

/// A TLS client on a blocking socket (OpenSSL over the descriptor): sends
/// `n` type-1 frames, ends its input, then reads replies until the server's
/// end. Returns the number of echoes that matched, in order.
int tls_half_open_exchange(uint16_t port, const std::string& ca_file, int n, tls_half_close how) {
  // OpenSSL writes with send(2) on the descriptor: a failure must be an
  // error code, not SIGPIPE.
  ::signal(SIGPIPE, SIG_IGN);
  tao::test::tlv_socket sock{port};
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  BOOST_REQUIRE(ctx != nullptr);
  BOOST_REQUIRE_EQUAL(SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr), 1);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, sock.fd());
  SSL_set_tlsext_host_name(ssl, "localhost");
  int matched = 0;
  if (SSL_connect(ssl) == 1) {
    std::string out;
    for (int i = 0; i < n; ++i)
      out += tlv("half " + std::to_string(i) + std::string(10'000, 'h'));
    BOOST_REQUIRE_EQUAL(SSL_write(ssl, out.data(), static_cast<int>(out.size())),
                        static_cast<int>(out.size()));
    if (how == tls_half_close::close_notify)
      SSL_shutdown(ssl);
    ::shutdown(sock.fd(), SHUT_WR);
    std::string in;
    char buf[16384];
    int got = 0;
    while ((got = SSL_read(ssl, buf, sizeof(buf))) > 0)
      in.append(buf, static_cast<size_t>(got));
    size_t pos = 0;
    while (pos + 8 <= in.size() && matched < n) {
      auto len = tao::protocol::load_le32(in.data() + pos + 4);
      auto payload = in.substr(pos + 8, len);
      if (payload.rfind("half " + std::to_string(matched) + "h", 0) != 0)
        break;
      ++matched;
      pos += 8 + len;
    }
  } else {
    BOOST_ERROR("TLS handshake of the half-open client failed");
  }
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  return matched;
}

struct fixture : tao::test::loopback_fixture {
  tao::server_options server_options(tao::tls_options tls,
                                     tao::dispatch_mode mode = tao::dispatch_mode::scheduled) {
    tao::server_options opts;
    opts.dispatch = mode;
    opts.tls = std::move(tls);
    opts.handlers.on<echo_message>([](tao::connection& c, const echo_message& m) { c.write(m); });
    opts.on_error = [this](tao::connection&, const caf::error& err) {
      log.add("server error text " + render(err));
      log.add("server error " + code(err));
    };
    return opts;
  }

  tao::server start_server(tao::server_options opts) {
    auto srv = tao::server::start(*sys, tao::test::with_test_io_threads(std::move(opts)));
    BOOST_REQUIRE_MESSAGE(srv, (srv ? std::string{} : render(srv.error())));
    return *srv;
  }

  tao::client_options client_options(uint16_t port, tao::tls_options tls) {
    tao::client_options opts;
    opts.host = "localhost";
    opts.port = port;
    opts.tls = std::move(tls);
    opts.handlers.on<echo_message>([this](tao::connection&, const echo_message& m) {
      if (m.text.size() > 64)
        log.add("echo of " + std::to_string(m.text.size()) + " bytes, hash "
                + std::to_string(std::hash<std::string>{}(m.text)));
      else
        log.add("echo " + m.text);
    });
    opts.on_error = [this](tao::connection&, const caf::error& err) {
      log.add("client error " + code(err));
    };
    opts.on_close = [this](tao::connection&, const caf::error& err) {
      log.add("client close " + code(err));
    };
    opts.on_give_up = [this](const caf::error& err) {
      log.add("give up text " + render(err));
      log.add("give up " + code(err));
    };
    return opts;
  }

  tao::client start_client(tao::client_options opts) {
    auto cli = tao::client::start(*sys, tao::test::with_test_io_threads(std::move(opts)));
    BOOST_REQUIRE_MESSAGE(cli, (cli ? std::string{} : render(cli.error())));
    return *cli;
  }

  tao::server_stats stats(const tao::server& srv) {
    caf::scoped_actor self{*sys};
    tao::server_stats result;
    self->request(srv.actor(), 10s, tao::stats_atom::value)
      .receive([&](const tao::server_stats& x) { result = x; },
               [](caf::error& err) { BOOST_FAIL("stats: " << render(err)); });
    return result;
  }

  /// Waits (at most 10 s) until the server counted `n` TLS failures; the
  /// count follows the connection's end, which follows on_error.
  bool await_tls_failures(const tao::server& srv, uint64_t n) {
    caf::scoped_actor self{*sys};
    for (int i = 0; i < 1000; ++i) {
      if (stats(srv).tls_failures >= n)
        return stats(srv).tls_failures == n;
      self->receive(caf::after(10ms) >> [] {});
    }
    return false;
  }

  /// Sends "ping" through a fresh client and waits for its echo.
  void expect_echo(uint16_t port, tao::tls_options tls, const std::string& text) {
    auto cli = start_client(client_options(port, std::move(tls)));
    BOOST_REQUIRE(!cli.write(echo_message{text}));
    BOOST_CHECK_MESSAGE(log.wait_for("echo " + text), "no echo of " << text);
    cli.close();
    await_exit(cli.actor());
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(integration_tls, fixture)

BOOST_AUTO_TEST_CASE(tao_client_to_tao_server_both_dispatch_modes_and_plain_alongside) {
  for (auto mode : {tao::dispatch_mode::scheduled, tao::dispatch_mode::inline_io}) {
    auto tls_srv = start_server(server_options(certs().server(), mode));
    auto plain_srv = start_server(server_options(tao::tls_options{}, mode));
    auto tag = mode == tao::dispatch_mode::scheduled ? "s" : "i";
    expect_echo(tls_srv.port(), certs().client(), std::string{"tls-"} + tag);
    expect_echo(plain_srv.port(), tao::tls_options{}, std::string{"plain-"} + tag);
    BOOST_CHECK_EQUAL(stats(tls_srv).tls_failures, 0u);
    stop(tls_srv);
    stop(plain_srv);
  }
}

BOOST_AUTO_TEST_CASE(one_mebibyte_each_way) {
  auto srv = start_server(server_options(certs().server()));
  auto cli = start_client(client_options(srv.port(), certs().client()));
  std::string payload(1u << 20, '\0');
  for (size_t i = 0; i < payload.size(); ++i)
    payload[i] = static_cast<char>('a' + i % 26);
  BOOST_REQUIRE(!cli.write(echo_message{payload}));
  BOOST_CHECK(log.wait_for("echo of 1048576 bytes, hash "
                           + std::to_string(std::hash<std::string>{}(payload))));
  cli.close();
  await_exit(cli.actor());
  stop(srv);
}

BOOST_AUTO_TEST_CASE(openssl_s_client_to_tao_server) {
  auto srv = start_server(server_options(certs().server()));
  tao::test::child_process s_client{
    {"openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(srv.port()), "-servername",
     "localhost", "-CAfile", certs()("ca.pem"), "-verify_return_error", "-quiet"}};
  BOOST_REQUIRE(s_client.running());
  auto frame = tlv("hello over TLS");
  BOOST_REQUIRE(s_client.write(frame));
  BOOST_CHECK(s_client.read(frame.size()) == frame);
  BOOST_CHECK_EQUAL(stats(srv).tls_failures, 0u);
  stop(srv);
}

BOOST_AUTO_TEST_CASE(tao_client_to_openssl_s_server) {
  auto port = free_port();
  tao::test::child_process s_server{
    {"openssl", "s_server", "-accept", "127.0.0.1:" + std::to_string(port), "-cert",
     certs()("server.pem"), "-key", certs()("server.key"), "-quiet"}};
  BOOST_REQUIRE(s_server.running());
  // Connect once s_server listens (it takes a while to start on a loaded
  // machine); retries are only a fallback.
  BOOST_REQUIRE(tao::test::await_listening(port));
  auto opts = client_options(port, certs().client());
  opts.reconnect.enabled = true;
  opts.reconnect.initial_delay = 20ms;
  opts.reconnect.max_delay = 100ms;
  opts.reconnect.max_attempts = 100;
  auto cli = start_client(std::move(opts));
  auto frame = tlv("from tao");
  BOOST_REQUIRE(!cli.write(echo_message{"from tao"}));
  BOOST_CHECK(s_server.read(frame.size()) == frame);
  BOOST_REQUIRE(s_server.write(tlv("from s_server")));
  BOOST_CHECK(log.wait_for("echo from s_server"));
  cli.close();
  await_exit(cli.actor());
}

BOOST_AUTO_TEST_CASE(plaintext_and_garbage_on_a_tls_port_close_only_that_connection) {
  auto srv = start_server(server_options(certs().server()));
  // A TLS client stays connected throughout.
  auto steady = start_client(client_options(srv.port(), certs().client()));
  BOOST_REQUIRE(!steady.write(echo_message{"before"}));
  BOOST_REQUIRE(log.wait_for("echo before"));
  const std::string inputs[] = {tlv("plaintext frame"), std::string(64, '\x5a'),
                                "GET / HTTP/1.1\r\nHost: x\r\n\r\n"};
  size_t n = 0;
  for (const auto& input : inputs) {
    tao::test::tlv_socket peer{srv.port()};
    BOOST_REQUIRE(peer.fd() >= 0);
    BOOST_REQUIRE(peer.send_raw(input));
    // Whatever comes back (an alert at most) is no frame, then the end.
    auto reply = peer.read();
    BOOST_CHECK(!reply || reply->type != 1);
    BOOST_CHECK(log.wait_for("server error tls_failure", ++n));
  }
  BOOST_CHECK(await_tls_failures(srv, n));
  BOOST_REQUIRE(!steady.write(echo_message{"after"}));
  BOOST_CHECK(log.wait_for("echo after"));
  steady.close();
  await_exit(steady.actor());
  stop(srv);
}

BOOST_AUTO_TEST_CASE(untrusted_expired_and_misnamed_certificates_fail_the_client) {
  struct failing_case {
    std::string server_cert;
    std::string client_ca;
    std::string reason;
  };
  const failing_case cases[] = {
    {"server", "other-ca", "unable to get local issuer certificate"},
    {"expired", "ca", "certificate has expired"},
    {"wronghost", "ca", "hostname mismatch"},
  };
  size_t n = 0;
  for (const auto& c : cases) {
    auto srv = start_server(server_options(certs().server(c.server_cert)));
    auto cli = start_client(client_options(srv.port(), certs().client(c.client_ca)));
    BOOST_REQUIRE(log.wait_for("give up tls_failure", ++n));
    auto reason = log.latest("give up text");
    BOOST_CHECK_MESSAGE(reason.find(c.reason) != std::string::npos, reason);
    // The client's alert fails the server side too, and is counted there.
    BOOST_CHECK(log.wait_for("server error tls_failure", n));
    BOOST_CHECK(await_tls_failures(srv, 1));
    stop(srv);
  }
}

BOOST_AUTO_TEST_CASE(silent_and_vanishing_peers_fail_the_handshake) {
  auto opts = server_options(certs().server());
  opts.tls.handshake_timeout = 200ms;
  auto srv = start_server(std::move(opts));
  { // Connects and says nothing: closed at the handshake timeout.
    tao::test::tlv_socket peer{srv.port()};
    BOOST_REQUIRE(peer.fd() >= 0);
    BOOST_CHECK(!peer.read());
    BOOST_CHECK(peer.end() != tao::test::read_end::timeout);
    BOOST_REQUIRE(log.wait_for("server error tls_failure"));
    auto text = log.latest("server error text");
    BOOST_CHECK_MESSAGE(text.find("not completed within 200 ms") != std::string::npos, text);
  }
  { // Connects and leaves mid-handshake (half a ClientHello).
    tao::test::tlv_socket peer{srv.port()};
    BOOST_REQUIRE(peer.send_raw(std::string{"\x16\x03\x01\x02\x00\x01\x00", 7}));
  }
  BOOST_REQUIRE(log.wait_for("server error tls_failure", 2));
  BOOST_CHECK(await_tls_failures(srv, 2));
  expect_echo(srv.port(), certs().client(), "still serving");
  stop(srv);
}

BOOST_AUTO_TEST_CASE(mutual_tls) {
  auto opts = server_options(certs().server());
  opts.tls.client_auth = tao::tls_client_auth::required;
  opts.tls.ca_file = certs()("ca.pem");
  auto srv = start_server(std::move(opts));
  auto anonymous = start_client(client_options(srv.port(), certs().client()));
  BOOST_REQUIRE_MESSAGE(log.wait_for("give up tls_failure"), log.latest("give up text"));
  BOOST_CHECK_EQUAL(log.count("client close tls_failure"), 1u);
  BOOST_CHECK(log.wait_for("server error tls_failure"));
  auto with_cert = certs().client();
  with_cert.certificate_file = certs()("client.pem");
  with_cert.private_key_file = certs()("client.key");
  expect_echo(srv.port(), with_cert, "authenticated");
  BOOST_CHECK(await_tls_failures(srv, 1));
  stop(srv);
}

// What the handshake established reaches handlers on both sides: protocol,
// cipher, and the peer certificate's subject and names (a mutually
// authenticated client is identified in the server's handler).
BOOST_AUTO_TEST_CASE(tls_session_facts_reach_handlers) {
  size_t round = 0;
  for (auto mode : {tao::dispatch_mode::scheduled, tao::dispatch_mode::inline_io}) {
    ++round;
    auto opts = server_options(certs().server(), mode);
    opts.tls.client_auth = tao::tls_client_auth::required;
    opts.tls.ca_file = certs()("ca.pem");
    opts.handlers = tao::handlers{};
    opts.handlers.on<echo_message>([](tao::connection& c, const echo_message&) {
      BOOST_REQUIRE(c.tls());
      const auto& s = *c.tls();
      BOOST_CHECK(!c.write(echo_message{s.protocol + "|" + s.peer_subject}));
      BOOST_CHECK(!s.cipher.empty());
    });
    auto srv = start_server(std::move(opts));
    auto tls = certs().client();
    tls.certificate_file = certs()("client.pem");
    tls.private_key_file = certs()("client.key");
    auto copts = client_options(srv.port(), tls);
    copts.dispatch = mode;
    copts.on_connect = [this](tao::connection& c) {
      // Before the handshake: nothing yet.
      log.add(c.tls() ? "tls early" : "tls later");
      return true;
    };
    copts.handlers = tao::handlers{};
    copts.handlers.on<echo_message>([this](tao::connection& c, const echo_message& m) {
      BOOST_REQUIRE(c.tls());
      std::string names;
      for (auto& n : c.tls()->peer_names)
        names += n + ",";
      log.add("server names " + names);
      log.add("echo " + m.text);
    });
    auto cli = start_client(std::move(copts));
    BOOST_REQUIRE(!cli.write(echo_message{"who am I"}));
    BOOST_CHECK(log.wait_for("echo TLSv1.3|CN=tao-test-client", round));
    BOOST_CHECK_EQUAL(log.count("server names localhost,127.0.0.1,::1,"), round);
    BOOST_CHECK_EQUAL(log.count("tls later"), round);
    cli.close();
    await_exit(cli.actor());
    stop(srv);
  }
}

BOOST_AUTO_TEST_CASE(reload_keeps_established_connections) {
  auto dir = certs().dir() + "/loopback-reload";
  auto copy = [&](const std::string& from) {
    auto cmd = "mkdir -p '" + dir + "' && cp '" + certs()(from + ".pem") + "' '" + dir
               + "/server.pem' && cp '" + certs()(from + ".key") + "' '" + dir + "/server.key'";
    BOOST_REQUIRE_EQUAL(std::system(cmd.c_str()), 0);
  };
  copy("server");
  auto opts = server_options(certs().server());
  opts.tls.certificate_file = dir + "/server.pem";
  opts.tls.private_key_file = dir + "/server.key";
  auto srv = start_server(std::move(opts));
  auto old = start_client(client_options(srv.port(), certs().client("ca")));
  BOOST_REQUIRE(!old.write(echo_message{"old 1"}));
  BOOST_REQUIRE(log.wait_for("echo old 1"));
  copy("server-other");
  caf::scoped_actor self{*sys};
  self->request(srv.actor(), 10s, tao::reload_tls_atom::value)
    .receive([] {}, [](caf::error& err) { BOOST_FAIL("reload: " << render(err)); });
  expect_echo(srv.port(), certs().client("other-ca"), "new");
  BOOST_REQUIRE(!old.write(echo_message{"old 2"}));
  BOOST_CHECK(log.wait_for("echo old 2"));
  old.close();
  await_exit(old.actor());
  stop(srv);
}

BOOST_AUTO_TEST_CASE(invalid_tls_options_fail_start) {
  tao::tls_options no_key;
  no_key.enabled = true;
  auto srv = tao::server::start(*sys, tao::test::with_test_io_threads(server_options(no_key)));
  BOOST_REQUIRE(!srv);
  BOOST_CHECK(tao::protocol::is(srv.error(), errc::invalid_argument));
  auto bad_ca = certs().client();
  bad_ca.ca_file = certs()("missing-ca.pem");
  auto cli = tao::client::start(*sys, tao::test::with_test_io_threads(client_options(1, bad_ca)));
  BOOST_REQUIRE(!cli);
  BOOST_CHECK(tao::protocol::is(cli.error(), errc::tls_failure));
}

// A half-open TLS peer (its write side shut down, with or without a
// close_notify first) still receives a reply to every frame it sent, then
// the server's close, in both dispatch modes.
BOOST_AUTO_TEST_CASE(half_open_tls_peer_gets_every_reply) {
  for (auto mode : {tao::dispatch_mode::scheduled, tao::dispatch_mode::inline_io}) {
    auto srv = start_server(server_options(certs().server(), mode));
    for (auto how : {tls_half_close::tcp_only, tls_half_close::close_notify}) {
      BOOST_TEST_CONTEXT((mode == tao::dispatch_mode::scheduled ? "scheduled" : "inline")
                         << (how == tls_half_close::tcp_only ? ", FIN only" : ", close_notify")) {
        BOOST_CHECK_EQUAL(tls_half_open_exchange(srv.port(), certs()("ca.pem"), 20, how), 20);
      }
    }
    BOOST_CHECK_EQUAL(stats(srv).tls_failures, 0u);
    stop(srv);
  }
}

BOOST_AUTO_TEST_SUITE_END()
