// tao-chat-client: Tao's chat client. Each stdin line goes out as type 1,
// trailing newline included (as Tao's client sends it); every line from the
// server is printed. "bye" or end of input quits: the client waits until the
// server echoed its last line (bounded), then closes. With --reconnect it
// survives server restarts: lines typed while disconnected are queued.
//
//   tao-chat-client --host=127.0.0.1 --port=12345 [--reconnect]
//   tao-chat-client --host=localhost --port=12345 --tls-ca=ca.pem   (TLS)

#include <chrono>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

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
};

} // namespace

int main(int argc, char** argv) {
  config cfg;
  cfg.load<caf::io::middleman>();
  if (auto err = cfg.parse(argc, argv)) {
    std::cerr << "error: " << cfg.render(err) << '\n';
    return 1;
  }
  if (cfg.cli_helptext_printed)
    return 0;
  caf::actor_system sys{cfg};
  last_line last;
  auto opts = cfg.client;
  auto flag_err = cfg.flags.apply(opts);
  if (!flag_err)
    flag_err = cfg.flags.apply_logging();
  if (flag_err) {
    std::cerr << "error: " << tao::protocol::render(flag_err) << '\n';
    return 1;
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
  opts.on_reconnecting = [](unsigned attempt, caf::timespan delay, const caf::error& err) {
    std::cerr << "connection lost (" << tao::protocol::render(err) << "), attempt " << attempt
              << " in " << std::chrono::duration_cast<std::chrono::milliseconds>(delay).count()
              << " ms" << std::endl;
  };
  auto ended = [&last] {
    std::lock_guard<std::mutex> guard{last.mtx};
    last.gone = true;
    last.cv.notify_all();
  };
  opts.on_give_up = [ended](const caf::error& err) {
    std::cerr << "error: " << tao::protocol::render(err) << std::endl;
    ended();
  };
  auto cli = tao::client::start(sys, std::move(opts));
  if (!cli) {
    std::cerr << "error: " << tao::protocol::render(cli.error()) << '\n';
    return 1;
  }
  std::string line;
  while (std::getline(std::cin, line)) {
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
    cli->write(chat_message{line});
  }
  {
    std::unique_lock<std::mutex> guard{last.mtx};
    last.cv.wait_for(guard, std::chrono::seconds(2), [&] { return last.echoed || last.gone; });
  }
  cli->close();
  caf::scoped_actor self{sys};
  self->monitor(cli->actor());
  self->receive([](const caf::down_msg&) {}, caf::after(std::chrono::seconds(5)) >> [] {});
  return 0;
}
