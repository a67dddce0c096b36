// tao-idle-memory: resident memory per idle connection, and the accept
// rate on the way. Starts a tao echo
// server in this process, lets a child process open N connections that each
// exchange one frame and then sit idle, and reports the growth of this
// process's RSS divided by N.
//
//   tao-idle-memory --conns=10000 [--dispatch=scheduled|inline]
//
// Without --dispatch it measures the library's default (inline).

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tao/all.hpp"

#include "cli.hpp"

using echo_message = tao::protocol::text_message<1>;

namespace {

long rss_kib() {
  std::ifstream in{"/proc/self/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::atol(line.c_str() + 6);
  return 0;
}

/// Child: opens `n` connections, exchanges one frame on each, reports, waits.
[[noreturn]] void run_peers(uint16_t port, int n, int ready_fd, int done_fd) {
  std::vector<int> fds;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  const char frame[] = {1, 0, 0, 0, 2, 0, 0, 0, 'h', 'i'};
  for (int i = 0; i < n; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0
        || write(fd, frame, sizeof(frame)) != sizeof(frame))
      _exit(1);
    fds.push_back(fd);
  }
  char buf[16];
  for (int fd : fds)
    if (recv(fd, buf, sizeof(frame), MSG_WAITALL) != sizeof(frame))
      _exit(2);
  char ok = 1;
  if (write(ready_fd, &ok, 1) != 1)
    _exit(3);
  if (read(done_fd, &ok, 1) < 0)
    _exit(4);
  _exit(0);
}

} // namespace

int main(int argc, char** argv) {
  int conns = 10000;
  std::string dispatch = "default";
  CLI::App app{"tao-idle-memory: memory per idle tao connection"};
  app.add_option("--conns", conns, "connections")->check(CLI::Range(1, 1000000));
  app
    .add_option("--dispatch", dispatch,
                "where handlers run: scheduled or inline (or inline_io); default: the "
                "library's default")
    ->check(CLI::IsMember({"default", "scheduled", "inline", "inline_io"}));
  if (auto exit_code = tao::bench::parse_cli(app, argc, argv))
    return *exit_code;
  rlimit lim{static_cast<rlim_t>(conns) * 2 + 100, static_cast<rlim_t>(conns) * 2 + 100};
  setrlimit(RLIMIT_NOFILE, &lim);
  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  caf::actor_system sys{cfg};
  tao::server_options opts;
  opts.max_connections = static_cast<size_t>(conns) + 10;
  if (dispatch != "default")
    opts.dispatch =
      dispatch != "scheduled" ? tao::dispatch_mode::inline_io : tao::dispatch_mode::scheduled;
  opts.handlers.on<echo_message>([](tao::connection& c, const echo_message& m) { c.write(m); });
  auto srv = *tao::server::start(sys, opts);
  // Warm up the allocator and CAF with a first small batch, then measure.
  int ready[2], done[2];
  if (pipe(ready) != 0 || pipe(done) != 0)
    return 1;
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto before = rss_kib();
  auto started = std::chrono::steady_clock::now();
  pid_t child = fork();
  if (child == 0)
    run_peers(srv.port(), conns, ready[1], done[0]);
  char ok = 0;
  if (read(ready[0], &ok, 1) != 1) {
    std::fprintf(stderr, "peers failed\n");
    return 1;
  }
  // The peers connect one after the other and each gets one echo: the time
  // until all are served gives the accept (and first-frame) rate.
  auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto after = rss_kib();
  std::printf("dispatch=%s conns=%d: accepted and served in %.2f s (%.0f connections/s), "
              "RSS %ld KiB -> %ld KiB, %.2f KiB per idle connection\n",
              (opts.dispatch == tao::dispatch_mode::inline_io ? "inline" : "scheduled"), conns,
              took, conns / took, before, after, static_cast<double>(after - before) / conns);
  if (write(done[1], &ok, 1) != 1)
    return 1;
  waitpid(child, nullptr, 0);
  caf::scoped_actor self{sys};
  self->request(srv.actor(), caf::infinite, tao::stop_atom::value)
    .receive([] {}, [](caf::error&) {});
  return 0;
}
