// tao-chat-client: Tao's chat client. Each stdin line goes out as type 1,
// trailing newline included (as Tao's client sends it); every line from the
// server is printed. "bye" or end of input quits: the client waits until the
// server echoed its last line (bounded), then closes. With --reconnect it
// survives server restarts: lines typed while disconnected are queued.
// Exits 1 with the reason when the client gives up (a closed port, or
// --reconnect-max-attempts used up), at once, even while waiting for input.
//
//   tao-chat-client --host=127.0.0.1 --port=12345 [--reconnect]
//   tao-chat-client --host=localhost --port=12345 --tls-ca=ca.pem   (TLS)

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <poll.h>
#include <unistd.h>

#include "tao/all.hpp"

#include "common/tls_flags.hpp"

using chat_message = tao::protocol::text_message<1>;

namespace {

struct config : caf::actor_system_config {
  tao::client_options client;
  tao::option_flags flags;
  tao::examples::tls_flags tls;
  config() {
    client.port = 12345;
    opt_group group{custom_options_, "global"};
    flags.add_client(group, client);
    flags.add_logging(group);
    tls.add_client_flags(group);
  }
};

/// The last line this client sent, and whether the server echoed it yet.
struct last_line {
  std::mutex mtx;
  std::condition_variable cv;
  std::string text;
  bool echoed = true;
  bool gone = false;
  /// The client gave up: it could not connect, or lost the connection for good.
  bool failed = false;
  /// The connection was up at least once.
  bool connected = false;
};

/// Lines of stdin, read so that main can stop waiting for one when the
/// client gave up.
class stdin_lines {
public:
  /// The next line (without its newline) into `line`; false at end of input
  /// or, while no input arrives, once `stop()` holds (checked every 100 ms).
  template <class Stop>
  bool next(std::string& line, Stop stop) {
    for (;;) {
      if (auto nl = buf_.find('\n'); nl != std::string::npos) {
        line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return true;
      }
      if (eof_) {
        line.swap(buf_);
        buf_.clear();
        return !line.empty();
      }
      if (stop())
        return false;
      pollfd p{STDIN_FILENO, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0)
        continue;
      char tmp[4096];
      auto n = ::read(STDIN_FILENO, tmp, sizeof(tmp));
      if (n > 0)
        buf_.append(tmp, static_cast<size_t>(n));
      else if (n == 0 || errno != EINTR)
        eof_ = true;
    }
  }

private:
  std::string buf_;
  bool eof_ = false;
};

} // namespace

int main(int argc, char** argv) {
  config cfg;
  cfg.load<caf::io::middleman>();
  if (auto exit_code = tao::parse_command_line(cfg, argc, argv))
    return *exit_code;
  // The I/O shards for --io-threads, declared first: they must outlive sys.
  tao::io_pool pool{cfg.client.io_threads};
  caf::actor_system sys{cfg};
  last_line last;
  auto opts = cfg.client;
  opts.io_pool = &pool;
  auto flag_err = cfg.flags.apply(opts);
  if (!flag_err)
    flag_err = cfg.flags.apply_logging();
  if (flag_err) {
    std::cerr << "error: " << tao::protocol::render(flag_err) << '\n';
    return tao::usage_error_exit_code;
  }
  opts.tls = cfg.tls.client_options();
  opts.handlers.on<chat_message>([&last](tao::connection&, const chat_message& m) {
    std::cout << m.text << std::flush;
    std::lock_guard<std::mutex> guard{last.mtx};
    if (m.text == last.text) {
      last.echoed = true;
      last.cv.notify_all();
    }
  });
  opts.on_connect = [&last](tao::connection&) {
    std::lock_guard<std::mutex> guard{last.mtx};
    last.connected = true;
    last.cv.notify_all();
    return true;
  };
  opts.on_reconnecting = [](unsigned attempt, caf::timespan delay, const caf::error& err) {
    std::cerr << "connection lost (" << tao::protocol::render(err) << "), attempt " << attempt
              << " in " << std::chrono::duration_cast<std::chrono::milliseconds>(delay).count()
              << " ms" << std::endl;
  };
  opts.on_give_up = [&last, &cfg](const caf::error& err) {
    std::cerr << "tao-chat-client: error: gave up on " << cfg.client.host << ":" << cfg.client.port
              << ": " << tao::protocol::render(err) << std::endl;
    std::lock_guard<std::mutex> guard{last.mtx};
    last.gone = last.failed = true;
    last.cv.notify_all();
  };
  auto cli = tao::client::start(sys, std::move(opts));
  if (!cli) {
    std::cerr << "error: " << tao::protocol::render(cli.error()) << '\n';
    return 1;
  }
  auto gone = [&last] {
    std::lock_guard<std::mutex> guard{last.mtx};
    return last.gone;
  };
  stdin_lines input;
  std::string line;
  while (input.next(line, gone)) {
    if (line == "bye")
      break;
    line += '\n';
    {
      std::lock_guard<std::mutex> guard{last.mtx};
      if (last.gone)
        break;
      last.text = line;
      last.echoed = false;
    }
    if (auto err = cli->write(chat_message{line})) {
      // Never drop a line in silence: say so, and exit 1 at the end.
      std::cerr << "tao-chat-client: error: line not sent: " << tao::protocol::render(err)
                << std::endl;
      std::lock_guard<std::mutex> guard{last.mtx};
      last.failed = true;
    }
  }
  {
    std::unique_lock<std::mutex> guard{last.mtx};
    // Until the last line came back, or (input ended at once) the first
    // connection attempt ended either way.
    last.cv.wait_for(guard, cfg.client.connect_timeout + std::chrono::seconds(2),
                     [&] { return (last.echoed && last.connected) || last.gone; });
  }
  tao::stop_gracefully(sys, *cli, std::chrono::seconds(5));
  std::lock_guard<std::mutex> guard{last.mtx};
  if (!last.failed && !last.text.empty() && !last.echoed) {
    // The server sends every line back to its sender too: without that
    // echo nothing says the last line (or the ones queued before it while
    // reconnecting) reached the room.
    std::cerr << "tao-chat-client: error: the last line was not confirmed by the server before "
                 "exit"
              << std::endl;
    return 1;
  }
  return last.failed ? 1 : 0;
}
