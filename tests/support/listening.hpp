#pragma once

// Waiting for another process to listen on a port, without connecting to it
// (a probe connection would be a client the process has to deal with).

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace tao::test {

/// True if some socket listens on TCP `port` (IPv4 or IPv6), as the kernel's
/// /proc/net/tcp tables say.
inline bool listening(uint16_t port) {
  char want[8];
  std::snprintf(want, sizeof(want), ":%04X", port);
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in{table};
    std::string line;
    std::getline(in, line); // header
    while (std::getline(in, line)) {
      // "sl local_address rem_address st ...", addresses as HEX:PORT; state
      // 0A is LISTEN.
      std::istringstream fields{line};
      std::string sl, local, remote, state;
      fields >> sl >> local >> remote >> state;
      if (state == "0A" && local.size() >= 5 && local.compare(local.size() - 5, 5, want) == 0)
        return true;
    }
  }
  return false;
}

/// Waits (polling, at most `timeout`) until something listens on `port`.
inline bool await_listening(uint16_t port,
                            std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!listening(port)) {
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

} // namespace tao::test
