#include "tao/run.hpp"

#include <cerrno>
#include <csignal>
#include <mutex>

#include <caf/scoped_actor.hpp>
#include <fcntl.h>
#include <unistd.h>

namespace tao {

namespace {

// The self-pipe: the handler writes the signal number, the waiter reads it.
// Only async-signal-safe calls in the handler.
int pipe_fds[2] = {-1, -1};
std::once_flag pipe_once;

extern "C" void on_stop_signal(int sig) {
  auto saved = errno;
  auto byte = static_cast<unsigned char>(sig);
  [[maybe_unused]] auto n = ::write(pipe_fds[1], &byte, 1);
  errno = saved;
}

} // namespace

void catch_stop_signals() {
  std::call_once(pipe_once, [] {
    if (::pipe(pipe_fds) == 0)
      ::fcntl(pipe_fds[1], F_SETFL, ::fcntl(pipe_fds[1], F_GETFL) | O_NONBLOCK);
  });
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  // SA_RESETHAND: the first signal restores the default action, so a second
  // one ends a program whose graceful stop hangs.
  sa.sa_flags = SA_RESTART | SA_RESETHAND;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
}

int wait_for_stop_signal() {
  catch_stop_signals();
  unsigned char byte = 0;
  for (;;) {
    auto n = ::read(pipe_fds[0], &byte, 1);
    if (n == 1)
      return byte;
    if (n < 0 && errno == EINTR)
      continue;
    return 0; // No pipe: nothing to wait on.
  }
}

bool stop_gracefully(caf::actor_system& sys, const server& srv, caf::timespan timeout) {
  if (!srv)
    return true;
  bool stopped = false;
  caf::scoped_actor self{sys};
  self->request(srv.actor(), timeout, stop_atom::value)
    .receive([&] { stopped = true; }, [](const caf::error&) {});
  return stopped;
}

bool stop_gracefully(caf::actor_system& sys, const client& cli, caf::timespan timeout) {
  if (!cli)
    return true;
  bool gone = false;
  caf::scoped_actor self{sys};
  self->monitor(cli.actor());
  cli.close();
  self->receive([&](const caf::down_msg&) { gone = true; }, caf::after(timeout) >> [] {});
  return gone;
}

} // namespace tao
