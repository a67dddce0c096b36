// asio-echo-server: what a C++ user would write instead of tao: a
// single-threaded standalone Asio server that parses TLV frames from each
// read and writes the complete frames back (one write in flight per
// connection, further frames batched behind it). Wire-compatible with
// tao-echo-server. With --raw it echoes whatever arrives, unframed (Asio's
// own pingpong server).
//
//   asio-echo-server --port=P [--raw]    (prints "listening on 127.0.0.1:P")

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
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

} // namespace

int main(int argc, char** argv) {
  unsigned short port = 0;
  bool raw = false;
  CLI::App app{"asio-echo-server: the Asio baseline for tao's benchmarks"};
  app.add_option("-p,--port", port, "port on 127.0.0.1 (0: pick one)");
  app.add_flag("--raw", raw, "echo bytes as they come instead of TLV frames");
  if (auto exit_code = tao::bench::parse_cli(app, argc, argv))
    return *exit_code;
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);
  asio::io_context io{1};
  asio::ip::tcp::acceptor acc{io, {asio::ip::make_address("127.0.0.1"), port}};
  std::printf("listening on 127.0.0.1:%d\n", acc.local_endpoint().port());
  std::fflush(stdout);
  accept(acc, raw);
  io.run();
}
