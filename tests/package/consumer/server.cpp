// greeter_server [port]: answers every hello with a greeting; stops on Ctrl-C.

#include <csignal>
#include <iostream>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <pthread.h>

#include "greeting.hpp"

int main(int argc, char** argv) {
  // Block SIGINT and SIGTERM before CAF starts its threads; main waits for them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  caf::actor_system sys{cfg};

  tao::server_options opts;
  opts.port = argc > 1 ? static_cast<uint16_t>(std::stoi(argv[1])) : 0; // 0: any free port
  opts.handlers.on<hello>([](tao::connection& c, const hello& msg) {
    // Runs in the connection's actor, one message at a time, in order.
    uint32_t n = 1;
    if (auto* seen = c.context_value_as<uint32_t>("hellos"))
      n = *seen + 1;
    c.set_context_value("hellos", n);
    if (auto err = c.write(greeting{"hello, " + msg.text, n}))
      std::cerr << "write failed: " << tao::protocol::render(err) << '\n';
  });
  auto srv = tao::server::start(sys, std::move(opts));
  if (!srv) {
    std::cerr << "cannot listen: " << tao::protocol::render(srv.error()) << '\n';
    return 1;
  }
  std::cout << "listening on 127.0.0.1:" << srv->port() << std::endl;

  int sig = 0;
  sigwait(&stop_signals, &sig);
  srv->stop(); // queued greetings are delivered, then every connection closes
  return 0;    // the actor system waits for the server actor before it goes
}
