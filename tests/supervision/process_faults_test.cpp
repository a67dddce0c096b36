#define BOOST_TEST_MODULE supervision_process_faults
#include <boost/test/unit_test.hpp>

// Loopback tests with real processes: a frozen peer (SIGSTOP) is detected by
// heartbeats, and a reconnecting client survives a server killed with
// SIGKILL and started again. The echo server binary comes from the
// environment (TAO_ECHO_SERVER), set by CTest.

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tao/all.hpp"

#include "support/io_threads.hpp"
#include "support/loopback.hpp"

using namespace std::chrono_literals;
using echo_message = tao::protocol::text_message<1>;

namespace {

std::string echo_server_binary() {
  auto* path = std::getenv("TAO_ECHO_SERVER");
  BOOST_REQUIRE_MESSAGE(path != nullptr, "set TAO_ECHO_SERVER to the tao-echo-server binary");
  return path;
}

/// Starts tao-echo-server on `port` (0: any) and returns its pid and port.
std::pair<pid_t, uint16_t> spawn_echo_server(uint16_t port) {
  int out[2];
  BOOST_REQUIRE(pipe(out) == 0);
  auto bin = echo_server_binary();
  auto port_arg = "--port=" + std::to_string(port);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    execl(bin.c_str(), bin.c_str(), "--host=127.0.0.1", port_arg.c_str(), nullptr);
    _exit(127);
  }
  close(out[1]);
  FILE* in = fdopen(out[0], "r");
  char line[256];
  uint16_t bound = 0;
  while (bound == 0 && fgets(line, sizeof(line), in) != nullptr) {
    std::string x{line};
    if (auto pos = x.rfind(':'); x.rfind("listening on ", 0) == 0 && pos != std::string::npos)
      bound = static_cast<uint16_t>(std::stoi(x.substr(pos + 1)));
  }
  // Keep reading the server's output in the background so it never blocks.
  std::thread{[in] {
    char buf[256];
    while (fgets(buf, sizeof(buf), in) != nullptr) {
    }
    fclose(in);
  }}.detach();
  BOOST_REQUIRE_MESSAGE(bound != 0, "the echo server did not start");
  return {pid, bound};
}

void kill_and_reap(pid_t pid, int sig) {
  kill(pid, sig);
  int status = 0;
  waitpid(pid, &status, 0);
}

using fixture = tao::test::loopback_fixture;

} // namespace

BOOST_FIXTURE_TEST_SUITE(process_faults, fixture)

BOOST_AUTO_TEST_CASE(frozen_peer_is_detected_by_heartbeats) {
  tao::server_options opts;
  opts.heartbeat_period = 100ms;
  opts.heartbeat_misses = 3;
  opts.handlers.on<echo_message>(
    [this](tao::connection&, const echo_message& m) { log.add("got " + m.text); });
  opts.on_close = [this](tao::connection&, const caf::error& reason) {
    log.add(tao::protocol::is(reason, tao::protocol::errc::heartbeat_timeout) ? "timeout"
                                                                              : "other");
  };
  auto srv = tao::server::start(*sys, tao::test::with_test_io_threads(std::move(opts)));
  BOOST_REQUIRE(srv);
  auto port = srv->port();
  // The peer: a child process that connects, says hello, then idles.
  pid_t child = fork();
  if (child == 0) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
      _exit(1);
    const char hello[] = {1, 0, 0, 0, 2, 0, 0, 0, 'h', 'i'};
    if (write(fd, hello, sizeof(hello)) != sizeof(hello))
      _exit(1);
    for (;;)
      pause();
  }
  // Once its hello arrived, freeze it: it neither reads nor writes any more.
  BOOST_REQUIRE(log.wait_for("got hi"));
  kill(child, SIGSTOP);
  auto start = std::chrono::steady_clock::now();
  BOOST_CHECK(log.wait_for("timeout"));
  auto took = std::chrono::steady_clock::now() - start;
  // Three silent periods, detected at a period tick: between 300 and 400 ms
  // after the last frame, plus scheduling; the bound only guards against
  // "never".
  BOOST_CHECK(took < 5s);
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  stop(*srv);
}

BOOST_AUTO_TEST_CASE(client_survives_server_kill_and_restart) {
  auto [pid, port] = spawn_echo_server(0);
  tao::client_options opts;
  opts.port = port;
  opts.reconnect.enabled = true;
  opts.reconnect.initial_delay = 20ms;
  opts.reconnect.max_delay = 200ms;
  opts.handlers.on<echo_message>(
    [this](tao::connection&, const echo_message& m) { log.add("echo " + m.text); });
  opts.on_connect = [this](tao::connection&) {
    log.add("connect");
    return true;
  };
  opts.on_reconnecting = [this](unsigned, caf::timespan, const caf::error&) {
    log.add("reconnecting");
  };
  auto cli = tao::client::start(*sys, tao::test::with_test_io_threads(std::move(opts)));
  BOOST_REQUIRE(cli);
  BOOST_CHECK(!cli->write(echo_message{"one"}));
  BOOST_REQUIRE(log.wait_for("echo one"));
  kill_and_reap(pid, SIGKILL);
  BOOST_REQUIRE(log.wait_for("reconnecting"));
  auto restarted = spawn_echo_server(port);
  BOOST_REQUIRE(log.wait_for("connect", 2));
  BOOST_CHECK(!cli->write(echo_message{"two"}));
  BOOST_CHECK(log.wait_for("echo two"));
  cli->close();
  await_exit(cli->actor());
  kill_and_reap(restarted.first, SIGTERM);
}

BOOST_AUTO_TEST_SUITE_END()
