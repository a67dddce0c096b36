#pragma once

// A child process with pipes on stdin and stdout, for loopback tests that
// talk to real peers such as `openssl s_client`. Reads are bounded by a
// timeout; the destructor kills and reaps the child.

#include <cerrno>
#include <chrono>
#include <csignal>
#include <string>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

namespace tao::test {

/// A running child; not thread-safe.
class child_process {
public:
  /// Starts `argv[0]` (looked up in PATH) with `argv`; its stderr goes to
  /// /dev/null unless `keep_stderr`.
  explicit child_process(const std::vector<std::string>& argv, bool keep_stderr = false) {
    int in[2];
    int out[2];
    if (::pipe(in) != 0 || ::pipe(out) != 0)
      return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      if (!keep_stderr) {
        int null = ::open("/dev/null", O_WRONLY);
        ::dup2(null, 2);
      }
      ::close(in[1]);
      ::close(out[0]);
      std::vector<char*> args;
      for (auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    stdin_ = in[1];
    stdout_ = out[0];
  }

  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  ~child_process() {
    if (stdin_ >= 0)
      ::close(stdin_);
    if (stdout_ >= 0)
      ::close(stdout_);
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  /// True if the child was started.
  bool running() const noexcept {
    return pid_ > 0 && stdin_ >= 0;
  }

  /// Writes `bytes` to the child's stdin; false on error.
  bool write(const std::string& bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
      auto n = ::write(stdin_, bytes.data() + done, bytes.size() - done);
      if (n <= 0)
        return false;
      done += static_cast<size_t>(n);
    }
    return true;
  }

  /// Reads from the child's stdout until `n` bytes arrived, EOF, or
  /// `timeout` passed; returns what arrived.
  std::string read(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::string result;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (result.size() < n) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0)
        break;
      pollfd p{stdout_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
        break;
      char buf[4096];
      auto got = ::read(stdout_, buf, std::min(sizeof(buf), n - result.size()));
      if (got <= 0)
        break;
      result.append(buf, static_cast<size_t>(got));
    }
    return result;
  }

private:
  pid_t pid_ = -1;
  int stdin_ = -1;
  int stdout_ = -1;
};

} // namespace tao::test
