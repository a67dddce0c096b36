// The accept mode of tao-bench: `connectors` threads open `conns`
// connections in total, each sending one TLV frame (type 1, "hi") and waiting
// for its echo before the next connect; connections stay open until all are
// up, so the server holds them all. Raw echo servers pass too (they echo the
// same ten bytes).

#include <chrono>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "load.hpp"

namespace tao::bench {

namespace {

using clock_type = std::chrono::steady_clock;

constexpr char hello[] = {1, 0, 0, 0, 2, 0, 0, 0, 'h', 'i'};

/// One connector: opens `n` connections, recording connect-to-echo times.
void connector(const sockaddr_in& addr, int n, std::vector<int>& fds, load_result& res,
               std::mutex& mtx) {
  latency_histogram local;
  std::string failure;
  for (int i = 0; i < n && failure.empty(); ++i) {
    auto t0 = clock_type::now();
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
      failure = std::string{"socket: "} + std::strerror(errno);
      break;
    }
    fds.push_back(fd);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    char buf[sizeof(hello)];
    if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0)
      failure = std::string{"connect: "} + std::strerror(errno);
    else if (send(fd, hello, sizeof(hello), MSG_NOSIGNAL) != sizeof(hello)
             || recv(fd, buf, sizeof(buf), MSG_WAITALL) != sizeof(buf)
             || std::memcmp(buf, hello, sizeof(hello)) != 0)
      failure = "no echo on a new connection";
    else
      local.record(static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now() - t0).count()));
  }
  std::lock_guard<std::mutex> guard{mtx};
  res.latency.merge(local);
  res.units += local.count();
  res.bytes += local.count() * sizeof(hello);
  if (!failure.empty() && res.failure.empty())
    res.failure = failure;
}

} // namespace

void run_accept_load(const load_args& args, load_result& out) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(args.port));
  if (inet_pton(AF_INET, args.host.c_str(), &addr.sin_addr) != 1) {
    out.failure = "bad host " + args.host;
    return;
  }
  auto threads = static_cast<size_t>(args.connectors);
  std::vector<std::vector<int>> fds(threads);
  std::vector<std::thread> workers;
  std::mutex mtx;
  auto cpu0 = process_cpu_seconds();
  auto srv0 = process_cpu_seconds(args.server_pid);
  auto t0 = clock_type::now();
  for (size_t i = 0; i < threads; ++i) {
    int share = args.conns / args.connectors + (static_cast<int>(i) < args.conns % args.connectors);
    workers.emplace_back([&, i, share] { connector(addr, share, fds[i], out, mtx); });
  }
  for (auto& w : workers)
    w.join();
  out.seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
  out.cpu_seconds = process_cpu_seconds() - cpu0;
  out.server_cpu_seconds = process_cpu_seconds(args.server_pid) - srv0;
  for (auto& list : fds)
    for (int fd : list) {
      linger l{1, 0};
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
      close(fd);
    }
}

} // namespace tao::bench
