// asio-echo-server: what a C++ user would write instead of tao: a
// standalone Asio server that parses TLV frames from each read and writes the
// complete frames back (one write in flight per connection, further frames
// batched behind it). Wire-compatible with tao-echo-server. With --raw it
// echoes whatever arrives, unframed (Asio's own pingpong server).
//
// With --threads=N (default 1) it is Asio's "io_context per CPU" pattern: N
// io_contexts, each run by one thread and owning an acceptor on the same port
// (SO_REUSEPORT, the kernel spreads new connections over them), so a
// connection lives on one thread and nothing is shared between them.
//
//   asio-echo-server --port=P [--raw] [--threads=N]
//                                          (prints "listening on 127.0.0.1:P")

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include <asio.hpp>
#include <sys/resource.h>

#include "cli.hpp"

namespace {

class session : public std::enable_shared_from_this<session> {
public:
  session(asio::ip::tcp::socket sock, bool raw) : sock_(std::move(sock)), raw_(raw) {
    sock_.set_option(asio::ip::tcp::no_delay(true));
  }

  void start() {
    read();
  }

private:
  void read() {
    auto self = shared_from_this();
    sock_.async_read_some(
      asio::buffer(buf_.get(), buf_size), [this, self](std::error_code ec, size_t n) {
        if (ec)
          return;
        if (raw_) {
          pending_.insert(pending_.end(), buf_.get(), buf_.get() + n);
          write();
          read();
          return;
        }
        in_.insert(in_.end(), buf_.get(), buf_.get() + n);
        size_t pos = 0;
        while (in_.size() - pos >= 8) {
          uint32_t len;
          std::memcpy(&len, in_.data() + pos + 4, 4);
          if (in_.size() - pos < 8 + len)
            break;
          pending_.insert(pending_.end(), in_.data() + pos, in_.data() + pos + 8 + len);
          pos += 8 + len;
        }
        in_.erase(in_.begin(), in_.begin() + static_cast<long>(pos));
        write();
        read();
      });
  }

  void write() {
    if (writing_ || pending_.empty())
      return;
    writing_ = true;
    out_.swap(pending_);
    pending_.clear();
    auto self = shared_from_this();
    asio::async_write(sock_, asio::buffer(out_), [this, self](std::error_code ec, size_t) {
      writing_ = false;
      if (!ec)
        write();
    });
  }

  asio::ip::tcp::socket sock_;
  // Not zero-filled: a vector's memset and the page faults it takes made each
  // accept cost about 250 us of CPU.
  static constexpr size_t buf_size = 64 * 1024;
  std::unique_ptr<char[]> buf_{new char[buf_size]};
  std::vector<char> in_;
  std::vector<char> pending_;
  std::vector<char> out_;
  bool raw_;
  bool writing_ = false;
};

void accept(asio::ip::tcp::acceptor& acc, bool raw) {
  acc.async_accept([&acc, raw](std::error_code ec, asio::ip::tcp::socket sock) {
    if (!ec)
      std::make_shared<session>(std::move(sock), raw)->start();
    accept(acc, raw);
  });
}

/// SO_REUSEPORT, which Asio has no name for (reuse_address is SO_REUSEADDR).
using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

/// One event loop: an io_context run by one thread and the acceptor it
/// serves.
struct loop {
  asio::io_context io{1};
  asio::ip::tcp::acceptor acc{io};
};

/// Opens `l`'s acceptor on 127.0.0.1:`port` (0: the kernel picks) as Asio's
/// endpoint constructor would, plus SO_REUSEPORT with `share_port`. Throws
/// on failure.
void listen_on(loop& l, unsigned short port, bool share_port) {
  asio::ip::tcp::endpoint ep{asio::ip::make_address("127.0.0.1"), port};
  l.acc.open(ep.protocol());
  l.acc.set_option(asio::socket_base::reuse_address(true));
  if (share_port)
    l.acc.set_option(reuse_port(true));
  l.acc.bind(ep);
  l.acc.listen();
}

} // namespace

int main(int argc, char** argv) {
  unsigned short port = 0;
  bool raw = false;
  unsigned threads = 1;
  CLI::App app{"asio-echo-server: the Asio baseline for tao's benchmarks"};
  app.add_option("-p,--port", port, "port on 127.0.0.1 (0: pick one)");
  app.add_flag("--raw", raw, "echo bytes as they come instead of TLV frames");
  app
    .add_option("--threads", threads,
                "io_contexts, one per thread, each with its own SO_REUSEPORT acceptor")
    ->check(CLI::Range(1u, 1024u))
    ->capture_default_str();
  if (auto exit_code = tao::bench::parse_cli(app, argc, argv))
    return *exit_code;
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);
  // The first acceptor picks the port, the others join it; all listen
  // before the port is printed, so no connection waits for a late one.
  std::vector<std::unique_ptr<loop>> loops;
  for (unsigned i = 0; i < threads; ++i) {
    loops.push_back(std::make_unique<loop>());
    listen_on(*loops.back(), port, threads > 1);
    port = loops.back()->acc.local_endpoint().port();
  }
  std::printf("listening on 127.0.0.1:%d\n", port);
  std::fflush(stdout);
  std::vector<std::thread> runners;
  for (auto& l : loops) {
    accept(l->acc, raw);
    if (&l != &loops.front())
      runners.emplace_back([&io = l->io] { io.run(); });
  }
  loops.front()->io.run(); // never returns; the process ends on a signal
}
