#define BOOST_TEST_MODULE integration_websocket
#include <boost/test/unit_test.hpp>

// The WebSocket transport over real sockets on 127.0.0.1 with ephemeral
// ports: tao to tao (both dispatch modes, and wss:// over tao's TLS),
// Debian's python3-websockets against a tao server and a tao client against
// it, the page over plain HTTP, heartbeats as pings, and hostile peers
// (counted, answered with their close code, never stalling the others).
// Waits are on events with bounds, never on sleeps.

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <caf/scoped_actor.hpp>
#include <sys/socket.h>
#include <unistd.h>

#include "tao/all.hpp"

#include "support/child_process.hpp"
#include "support/io_threads.hpp"
#include "support/loopback.hpp"
#include "support/test_certs.hpp"
#include "support/tlv_socket.hpp"
#include "support/websocket_frames.hpp"

using namespace std::chrono_literals;
using text_line = tao::protocol::text_message<1>;
using blob = tao::protocol::text_message<2>;
using tao::protocol::errc;
using tao::protocol::render;

namespace {

const std::string python = "/usr/bin/python3";
const std::string peer_script = TAO_SOURCE_DIR "/tests/websocket/ws_peer.py";

std::string code(const caf::error& err) {
  return err ? tao::protocol::to_string(static_cast<errc>(err.code())) : "none";
}

/// Reads from a raw socket until `done(bytes)` or the socket's 10 s timeout.
std::string read_until(tao::test::tlv_socket& sock,
                       const std::function<bool(const std::string&)>& done) {
  std::string in;
  char buf[8192];
  while (!done(in)) {
    auto n = ::recv(sock.fd(), buf, sizeof(buf), 0);
    if (n <= 0)
      break;
    in.append(buf, static_cast<size_t>(n));
  }
  return in;
}

/// Completes an upgrade on a raw socket; returns the bytes after the 101.
std::string raw_upgrade(tao::test::tlv_socket& sock) {
  BOOST_REQUIRE(sock.send_raw(tao::test::rfc_request()));
  auto in = read_until(sock, [](const std::string& x) { return x.find("\r\n\r\n") != x.npos; });
  BOOST_REQUIRE(in.rfind("HTTP/1.1 101 ", 0) == 0);
  return in.substr(in.find("\r\n\r\n") + 4);
}

/// Reads raw frames until `n` arrived (or the timeout).
std::vector<tao::test::ws_parsed> read_frames(tao::test::tlv_socket& sock, std::string& pending,
                                              size_t n) {
  std::vector<tao::test::ws_parsed> out;
  char buf[8192];
  for (;;) {
    size_t rest = 0;
    auto got = tao::test::parse_frames(pending, &rest);
    pending.erase(0, rest);
    out.insert(out.end(), got.begin(), got.end());
    if (out.size() >= n)
      return out;
    auto r = ::recv(sock.fd(), buf, sizeof(buf), 0);
    if (r <= 0)
      return out;
    pending.append(buf, static_cast<size_t>(r));
  }
}

/// Runs ws_peer.py with `args` and returns its stdout once it exited (or
/// after 60 s).
std::string run_peer(const std::vector<std::string>& args) {
  std::vector<std::string> argv{python, peer_script};
  argv.insert(argv.end(), args.begin(), args.end());
  tao::test::child_process peer{argv, true};
  BOOST_REQUIRE(peer.running());
  return peer.read(1 << 20, 60s);
}

struct fixture : tao::test::loopback_fixture {
  tao::server_options echo_server(tao::dispatch_mode mode = tao::dispatch_mode::scheduled) {
    tao::server_options opts;
    opts.transport = tao::transport_kind::websocket;
    opts.websocket.text_type = 1;
    opts.websocket.subprotocols = {"tao"};
    opts.dispatch = mode;
    opts.handlers.on<text_line>([](tao::connection& c, const text_line& m) { c.write(m); });
    opts.handlers.on<blob>([](tao::connection& c, const blob& m) { c.write(m); });
    opts.on_connect = [this](tao::connection&) {
      log.add("server connect");
      return true;
    };
    opts.on_close = [this](tao::connection&, const caf::error& err) {
      log.add("server close text " + render(err)); // before the event tests wait for
      log.add("server close " + code(err));
    };
    return opts;
  }

  tao::server start_server(tao::server_options opts) {
    auto srv = tao::server::start(*sys, tao::test::with_test_io_threads(std::move(opts)));
    BOOST_REQUIRE_MESSAGE(srv, (srv ? std::string{} : render(srv.error())));
    return *srv;
  }

  tao::client_options echo_client(uint16_t port) {
    tao::client_options opts;
    opts.host = "localhost";
    opts.port = port;
    opts.transport = tao::transport_kind::websocket;
    opts.websocket.text_type = 1;
    opts.websocket.subprotocols = {"tao"};
    opts.handlers.on<text_line>(
      [this](tao::connection&, const text_line& m) { log.add("client got text " + m.text); });
    opts.handlers.on<blob>([this](tao::connection&, const blob& m) {
      log.add("client got blob " + std::to_string(m.text.size()));
    });
    opts.on_connect = [this](tao::connection&) {
      log.add("client connect");
      return true;
    };
    opts.on_give_up = [this](const caf::error& err) {
      log.add("client gave up text " + render(err)); // before the event tests wait for
      log.add("client gave up " + code(err));
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
               [](caf::error& err) { BOOST_FAIL(render(err)); });
    return result;
  }

  /// Asks `srv` until its table holds `n` connections (at most 10 s): a
  /// connection that never upgraded must leave it too.
  bool table_holds(const tao::server& srv, uint64_t n) {
    auto until = std::chrono::steady_clock::now() + 10s;
    while (stats(srv).connections != n)
      if (std::chrono::steady_clock::now() > until)
        return false;
    return true;
  }

  /// A tao client echoes a text line and a 1 MiB blob through `srv`.
  void tao_round_trip(const tao::server& srv, tao::client_options opts) {
    auto cli = start_client(std::move(opts));
    BOOST_REQUIRE(log.wait_for("client connect"));
    BOOST_REQUIRE(!cli.write(text_line{"hello over websocket\n"}));
    BOOST_REQUIRE(!cli.write(blob{std::string(1 << 20, 'b')}));
    BOOST_TEST(log.wait_for("client got text hello over websocket\n"));
    BOOST_TEST(log.wait_for("client got blob 1048576"));
    cli.close();
    await_exit(cli.actor());
    auto closed = log.wait_for("server close none");
    BOOST_TEST_INFO(log.latest("server close text"));
    BOOST_TEST(closed);
    stop(srv);
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(websocket_loopback, fixture)

BOOST_AUTO_TEST_CASE(tao_client_and_server_in_both_dispatch_modes) {
  for (auto mode : {tao::dispatch_mode::scheduled, tao::dispatch_mode::inline_io}) {
    auto srv = start_server(echo_server(mode));
    tao_round_trip(srv, echo_client(srv.port()));
  }
}

BOOST_AUTO_TEST_CASE(wss_is_websocket_over_tao_tls) {
  auto sopts = echo_server();
  sopts.tls = tao::test::test_certs::get().server();
  auto srv = start_server(std::move(sopts));
  auto copts = echo_client(srv.port());
  copts.tls = tao::test::test_certs::get().client();
  tao_round_trip(srv, std::move(copts));
}

BOOST_AUTO_TEST_CASE(python_websockets_against_the_tao_server) {
  auto srv = start_server(echo_server());
  auto out = run_peer({"client", std::to_string(srv.port())});
  BOOST_TEST_MESSAGE(out);
  for (auto line : {"subprotocol tao", "ok binary", "ok text", "ok big", "ok fragmented", "ok ping",
                    "closed 1000"})
    BOOST_TEST(out.find(std::string{line} + "\n") != std::string::npos, line);
  BOOST_TEST(out.find("FAIL") == std::string::npos);
  BOOST_TEST(log.wait_for("server close none"));
  auto s = stats(srv);
  BOOST_TEST(s.websocket_upgrades == 1u);
  BOOST_TEST(s.websocket_protocol_failures == 0u);
  stop(srv);
}

BOOST_AUTO_TEST_CASE(python_websockets_over_wss) {
  auto sopts = echo_server();
  sopts.tls = tao::test::test_certs::get().server();
  auto srv = start_server(std::move(sopts));
  auto out = run_peer(
    {"client", std::to_string(srv.port()), "--tls-ca", tao::test::test_certs::get()("ca.pem")});
  BOOST_TEST_MESSAGE(out);
  BOOST_TEST(out.find("ok big\n") != std::string::npos);
  BOOST_TEST(out.find("closed 1000\n") != std::string::npos);
  stop(srv);
}

BOOST_AUTO_TEST_CASE(tao_client_against_python_websockets) {
  tao::test::child_process peer{{python, peer_script, "server"}, true};
  BOOST_REQUIRE(peer.running());
  std::string line;
  while (line.empty() || line.back() != '\n') {
    auto c = peer.read(1, 30s);
    if (c.empty())
      break;
    line += c;
  }
  BOOST_REQUIRE_MESSAGE(line.rfind("port ", 0) == 0, line);
  auto port = static_cast<uint16_t>(std::stoi(line.substr(5)));
  auto cli = start_client(echo_client(port));
  BOOST_REQUIRE(log.wait_for("client connect"));
  BOOST_REQUIRE(!cli.write(text_line{"to python and back\n"}));
  BOOST_REQUIRE(!cli.write(blob{std::string(300000, 'p')}));
  BOOST_TEST(log.wait_for("client got text to python and back\n"));
  BOOST_TEST(log.wait_for("client got blob 300000"));
  cli.close();
  await_exit(cli.actor());
}

BOOST_AUTO_TEST_CASE(a_foreign_origin_is_refused_and_counted) {
  auto sopts = echo_server();
  sopts.websocket.allowed_origins = {"http://localhost:1"};
  auto srv = start_server(std::move(sopts));
  auto out = run_peer({"client", std::to_string(srv.port()), "--origin", "http://evil.example"});
  BOOST_TEST(out.find("refused 403") != std::string::npos, out);
  BOOST_TEST(stats(srv).websocket_handshake_failures == 1u);
  BOOST_TEST(log.count("server connect") == 0u);
  BOOST_TEST(table_holds(srv, 0));
  stop(srv);
}

BOOST_AUTO_TEST_CASE(the_page_is_served_and_never_reaches_the_handlers) {
  char tmpl[] = "/tmp/tao-ws-root-XXXXXX";
  BOOST_REQUIRE(::mkdtemp(tmpl) != nullptr);
  std::string root = tmpl;
  std::ofstream{root + "/index.html"} << "<!doctype html><title>tao chat</title>";
  auto sopts = echo_server();
  sopts.websocket.web_root = root;
  auto srv = start_server(std::move(sopts));
  std::filesystem::remove_all(root); // read at start, never again
  tao::test::tlv_socket sock{srv.port()};
  BOOST_REQUIRE(sock.send_raw("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  auto in = read_until(sock, [](const std::string&) { return false; }); // until the server's FIN
  BOOST_TEST(in.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  BOOST_TEST(in.find("<title>tao chat</title>") != std::string::npos);
  auto s = stats(srv);
  BOOST_TEST(s.http_requests == 1u);
  BOOST_TEST(log.count("server connect") == 0u);
  BOOST_TEST(table_holds(srv, 0));
  stop(srv);
}

BOOST_AUTO_TEST_CASE(hostile_frames_get_their_close_code_and_others_go_on) {
  auto sopts = echo_server();
  sopts.websocket.max_message_size = 1000;
  auto srv = start_server(std::move(sopts));
  auto cli = start_client(echo_client(srv.port()));
  BOOST_REQUIRE(log.wait_for("client connect"));
  struct bad {
    std::string bytes;
    uint16_t code;
  };
  tao::test::ws_frame_spec unmasked;
  unmasked.masked = false;
  unmasked.payload = tao::test::tao_message(1, "x");
  tao::test::ws_frame_spec oversized;
  oversized.payload = std::string(2000, 'o');
  std::vector<bad> cases = {
    {tao::test::ws_frame(unmasked), 1002},
    {tao::test::client_frame(1, "\xc3\x28"), 1007},
    {tao::test::ws_frame(oversized), 1009},
    {tao::test::client_frame(2, "ab"), 1007},
  };
  int n = 0;
  for (const auto& c : cases) {
    tao::test::tlv_socket sock{srv.port()};
    auto pending = raw_upgrade(sock);
    BOOST_REQUIRE(sock.send_raw(c.bytes));
    auto frames = read_frames(sock, pending, 1);
    BOOST_REQUIRE_EQUAL(frames.size(), 1u);
    BOOST_TEST(frames[0].opcode == 8);
    BOOST_TEST(frames[0].close_code() == c.code);
    BOOST_TEST(log.wait_for("server close websocket_failure", ++n));
    // The honest client is served all along.
    auto text = "still served " + std::to_string(n) + "\n";
    BOOST_REQUIRE(!cli.write(text_line{text}));
    BOOST_TEST(log.wait_for("client got text " + text));
  }
  BOOST_TEST(stats(srv).websocket_protocol_failures == cases.size());
  cli.close();
  await_exit(cli.actor());
  stop(srv);
}

BOOST_AUTO_TEST_CASE(heartbeats_are_pings_and_pongs_keep_the_connection) {
  auto sopts = echo_server();
  sopts.heartbeat_period = 50ms;
  // Silence is tolerated for 500 ms: a loaded machine may stall this
  // thread between a ping and its pong for more than a few periods.
  sopts.heartbeat_misses = 10;
  auto srv = start_server(std::move(sopts));
  tao::test::tlv_socket sock{srv.port()};
  auto pending = raw_upgrade(sock);
  // Twenty periods, twice the misses tolerated, alive on pongs alone.
  // (A slow reader may find several pings at once.)
  for (int pings = 0; pings < 20;) {
    auto frames = read_frames(sock, pending, 1);
    BOOST_REQUIRE(!frames.empty());
    for (const auto& f : frames) {
      BOOST_REQUIRE(f.opcode == 9);
      BOOST_REQUIRE(sock.send_raw(tao::test::client_frame(10, f.payload)));
      ++pings;
    }
  }
  BOOST_TEST(log.count("server close heartbeat_timeout") == 0u);
  // Silence: the server gives up and says so with 1001.
  std::vector<tao::test::ws_parsed> frames;
  while (frames.empty() || frames.back().opcode == 9) {
    auto more = read_frames(sock, pending, 1);
    BOOST_REQUIRE(!more.empty());
    frames.insert(frames.end(), more.begin(), more.end());
  }
  BOOST_TEST(frames.back().opcode == 8);
  BOOST_TEST(frames.back().close_code() == 1001);
  BOOST_TEST(log.wait_for("server close heartbeat_timeout"));
  stop(srv);
}

BOOST_AUTO_TEST_CASE(a_close_waits_for_the_peers_close_frame_within_the_drain_timeout) {
  // The server closes after "bye"; as the initiator it keeps the stream
  // open until the peer's close frame came (then FIN at once), or until the
  // drain timeout passed.
  auto sopts = echo_server();
  sopts.drain_timeout = 1500ms;
  sopts.handlers = tao::handlers{};
  sopts.handlers.on<text_line>([](tao::connection& c, const text_line& m) {
    if (m.text == "bye")
      c.close();
  });
  auto srv = start_server(std::move(sopts));
  auto eof_after_close_frame = [&](bool answer) {
    tao::test::tlv_socket sock{srv.port()};
    auto pending = raw_upgrade(sock);
    // Before the server's drain timer can start.
    auto t0 = std::chrono::steady_clock::now();
    BOOST_REQUIRE(sock.send_raw(tao::test::client_frame(2, tao::test::tao_message(1, "bye"))));
    auto frames = read_frames(sock, pending, 1);
    BOOST_REQUIRE_EQUAL(frames.size(), 1u);
    BOOST_TEST(frames[0].opcode == 8);
    BOOST_TEST(frames[0].close_code() == 1000);
    // A message after the server's close frame is dropped, not echoed.
    BOOST_REQUIRE(sock.send_raw(tao::test::client_frame(2, tao::test::tao_message(1, "late"))));
    if (answer)
      BOOST_REQUIRE(sock.send_raw(tao::test::client_frame(8, tao::test::close_payload(1000))));
    auto rest = read_until(sock, [](const std::string&) { return false; }); // until the FIN
    BOOST_TEST(rest.empty());
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now()
                                                                 - t0)
      .count();
  };
  BOOST_TEST(eof_after_close_frame(true) < 1500);
  BOOST_TEST(log.wait_for("server close none", 1));
  BOOST_TEST(eof_after_close_frame(false) >= 1500);
  BOOST_TEST(log.wait_for("server close none", 2));
  stop(srv);
}

BOOST_AUTO_TEST_CASE(a_close_from_the_peer_is_answered_before_the_fin) {
  // The peer initiates: a message, then its close frame, then a message it
  // should not have sent. The server handles the first, answers the close
  // with the same code, then sends its FIN (the server closes the TCP
  // connection first, RFC 6455 7.1.1); the late message never reaches a
  // handler.
  auto srv = start_server(echo_server());
  tao::test::tlv_socket sock{srv.port()};
  auto pending = raw_upgrade(sock);
  BOOST_REQUIRE(sock.send_raw(tao::test::client_frame(2, tao::test::tao_message(1, "before\n"))
                              + tao::test::client_frame(8, tao::test::close_payload(1001, "bye"))
                              + tao::test::client_frame(2, tao::test::tao_message(1, "after\n"))));
  auto frames = read_frames(sock, pending, 2);
  BOOST_REQUIRE_EQUAL(frames.size(), 2u);
  BOOST_TEST(frames[0].opcode == 1); // type 1 is the text type
  BOOST_TEST(frames[0].payload == "before\n");
  BOOST_TEST(frames[1].opcode == 8);
  BOOST_TEST(frames[1].close_code() == 1001);
  auto rest = read_until(sock, [](const std::string&) { return false; }); // until the FIN
  BOOST_TEST(pending.empty());
  BOOST_TEST(rest.empty());
  BOOST_TEST(log.wait_for("server close none"));
  BOOST_TEST(table_holds(srv, 0));
  stop(srv);
}

BOOST_AUTO_TEST_CASE(one_server_listens_on_a_tcp_and_a_websocket_port) {
  auto sopts = echo_server();
  sopts.transport = tao::transport_kind::tcp;
  sopts.websocket_port = 0;
  auto srv = start_server(std::move(sopts));
  BOOST_REQUIRE(srv.websocket_port() != 0);
  BOOST_REQUIRE(srv.websocket_port() != srv.port());
  // A plain Tao client on the TCP port and tao's WebSocket client on the
  // other: the same handlers echo both, a broadcast reaches both.
  tao::test::tlv_socket tcp{srv.port()};
  BOOST_REQUIRE(tcp.send(1, "over tcp\n"));
  auto echoed = tcp.read();
  BOOST_REQUIRE(echoed);
  BOOST_TEST(echoed->payload == "over tcp\n");
  auto cli = start_client(echo_client(srv.websocket_port()));
  BOOST_REQUIRE(log.wait_for("client connect"));
  BOOST_REQUIRE(!cli.write(text_line{"over websocket\n"}));
  BOOST_TEST(log.wait_for("client got text over websocket\n"));
  BOOST_TEST(log.wait_for("server connect", 2));
  BOOST_REQUIRE(!srv.broadcast(text_line{"to everyone\n"}));
  BOOST_TEST(log.wait_for("client got text to everyone\n"));
  auto all = tcp.read();
  BOOST_REQUIRE(all);
  BOOST_TEST(all->payload == "to everyone\n");
  auto s = stats(srv);
  BOOST_TEST(s.websocket_upgrades == 1u);
  BOOST_TEST(s.accepted == 2u);
  cli.close();
  await_exit(cli.actor());
  BOOST_TEST(log.wait_for("server close none"));
  stop(srv);
}

BOOST_AUTO_TEST_CASE(a_second_websocket_port_needs_a_tcp_transport) {
  auto sopts = echo_server(); // transport websocket
  sopts.websocket_port = 0;
  auto srv = tao::server::start(*sys, tao::test::with_test_io_threads(std::move(sopts)));
  BOOST_TEST(!srv);
  auto bad = echo_server();
  bad.transport = tao::transport_kind::tcp;
  bad.websocket_port = 70000;
  BOOST_TEST(!tao::server::start(*sys, tao::test::with_test_io_threads(std::move(bad))));
}

BOOST_AUTO_TEST_CASE(an_upgrade_that_never_completes_times_out) {
  auto sopts = echo_server();
  sopts.websocket.handshake_timeout = 100ms;
  auto srv = start_server(std::move(sopts));
  tao::test::tlv_socket sock{srv.port()};
  BOOST_REQUIRE(sock.send_raw("GET / HTTP/1.1\r\nHost: x\r\n"));
  auto in = read_until(sock, [](const std::string&) { return false; });
  BOOST_TEST(in.empty());
  BOOST_TEST(stats(srv).websocket_handshake_failures == 1u);
  BOOST_TEST(table_holds(srv, 0));
  stop(srv);
}

BOOST_AUTO_TEST_CASE(a_tao_client_refused_by_the_server_gives_up_with_the_reason) {
  auto sopts = echo_server();
  sopts.websocket.allowed_origins = {"http://allowed.example"};
  auto srv = start_server(std::move(sopts));
  auto copts = echo_client(srv.port());
  copts.websocket.origin = "http://other.example";
  auto cli = start_client(std::move(copts));
  BOOST_TEST(log.wait_for("client gave up websocket_failure"));
  BOOST_TEST(log.latest("client gave up text").find("403") != std::string::npos,
             log.latest("client gave up text"));
  await_exit(cli.actor());
  stop(srv);
}

BOOST_AUTO_TEST_SUITE_END()
