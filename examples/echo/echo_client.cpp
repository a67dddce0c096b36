// tao-echo-client: Tao's echo client. Sends --count messages of type 1 and
// prints each echo; exits 0 once every echo came back unchanged, 1 otherwise
// (connection failure, or no complete answer within --timeout seconds).
//
//   tao-echo-client --host=127.0.0.1 --port=12345 --count=10 --message="hello, world"
//   tao-echo-client --host=localhost --port=12345 --tls-ca=ca.pem      (TLS, see docs/tls.md)

#include <chrono>
#include <condition_variable>
#include <iostream>
#include <mutex>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include "tao/all.hpp"

#include "common/tls_flags.hpp"

using echo_message = tao::protocol::text_message<1>;

namespace {

struct config : caf::actor_system_config {
  tao::client_options client;
  tao::option_flags flags;
  tao::examples::tls_flags tls;
  size_t count = 10;
  std::string message = "hello, world";
  size_t timeout = 10;
  config() {
    client.port = 12345;
    opt_group group{custom_options_, "global"};
    flags.add_client(group, client);
    flags.add_logging(group);
    group.add(count, "count", "number of messages")
      .add(message, "message", "text of each message")
      .add(timeout, "timeout", "seconds to wait for all echoes");
    tls.add_client_flags(group);
  }
};

/// Counts echoes and wakes main when all arrived or the connection ended.
struct progress {
  std::mutex mtx;
  std::condition_variable cv;
  size_t good = 0;
  size_t bad = 0;
  bool ended = false;
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
  progress p;
  auto notify = [&p](auto update) {
    std::lock_guard<std::mutex> guard{p.mtx};
    update();
    p.cv.notify_all();
  };
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
  opts.handlers.on<echo_message>([&](tao::connection&, const echo_message& m) {
    std::cout << "echo: " << m.text << std::endl;
    notify([&] { ++(m.text == cfg.message ? p.good : p.bad); });
  });
  opts.on_close = [&](tao::connection&, const caf::error& reason) {
    // The reason is printed here too: main closes the client as soon as the
    // connection ends, which may come before on_give_up.
    if (reason)
      std::cerr << "connection closed: " << tao::protocol::render(reason) << '\n';
    notify([&] { p.ended = true; });
  };
  opts.on_give_up = [&](const caf::error& err) {
    std::cerr << "error: " << tao::protocol::render(err) << '\n';
    notify([&] { p.ended = true; });
  };
  auto cli = tao::client::start(sys, std::move(opts));
  if (!cli) {
    std::cerr << "error: " << tao::protocol::render(cli.error()) << '\n';
    return 1;
  }
  for (size_t i = 0; i < cfg.count; ++i)
    cli->write(echo_message{cfg.message});
  bool complete = false;
  {
    std::unique_lock<std::mutex> guard{p.mtx};
    complete = p.cv.wait_for(guard, std::chrono::seconds(cfg.timeout), [&] {
      return p.ended || p.good + p.bad == cfg.count;
    }) && p.good == cfg.count;
  }
  cli->close();
  caf::scoped_actor self{sys};
  self->monitor(cli->actor());
  self->receive([](const caf::down_msg&) {}, caf::after(std::chrono::seconds(5)) >> [] {});
  std::cout << p.good << " of " << cfg.count << " echoes received" << std::endl;
  return complete ? 0 : 1;
}
