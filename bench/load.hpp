#pragma once

// The load loops of tao-bench: what to run and what came out.

#include <cstddef>
#include <cstdint>
#include <string>

#include "latency_histogram.hpp"

namespace tao::bench {

/// What tao-bench was asked to do (its command line).
struct load_args {
  /// tlv, pingpong or accept.
  std::string mode = "tlv";
  std::string host = "127.0.0.1";
  int port = 12345;
  /// Connections (tlv, pingpong) or connections to open in total (accept).
  int conns = 1;
  /// Frames (tlv) or blocks (pingpong) in flight per connection.
  int window = 1;
  /// Payload bytes per frame (tlv) or block bytes (pingpong).
  size_t size = 64;
  /// Measured seconds, after `warmup`.
  double duration = 5;
  /// Seconds run before measuring.
  double warmup = 0;
  /// Threads opening connections in parallel (accept).
  int connectors = 1;
  /// Threads driving the connections (tlv, ws, pingpong), each with its own
  /// epoll loop and an equal share of `conns` (at most one thread per
  /// connection); their figures are merged.
  int threads = 1;
  /// A server process whose CPU use is measured over the same interval (0: none).
  int server_pid = 0;
  bool json = false;
  bool quiet = false;
};

/// What a run measured.
struct load_result {
  /// Measured seconds.
  double seconds = 0;
  /// Frames (tlv), blocks (pingpong) or connections (accept) completed.
  uint64_t units = 0;
  /// Bytes received (one direction), headers included.
  uint64_t bytes = 0;
  /// CPU time of this process (all threads) over the measured interval, in
  /// seconds.
  double cpu_seconds = 0;
  /// CPU time of `server_pid` over the measured interval, in seconds.
  double server_cpu_seconds = 0;
  /// Round trips (tlv, pingpong) or connect-to-echo times (accept).
  latency_histogram latency;
  /// Why the run failed (bad echo, closed connection); empty if it did not.
  std::string failure;
};

/// Runs the tlv, ws or pingpong mode: `threads` epoll threads, each driving
/// its share of the connections; `out` holds the sum of their counts and
/// latencies, and the interval and CPU times of the first thread.
void run_echo_load(const load_args& args, load_result& out);

/// Runs the accept mode: `connectors` threads each connecting, exchanging one
/// frame and keeping the connection open, until `conns` are up.
void run_accept_load(const load_args& args, load_result& out);

/// This process's CPU time (user + system) in seconds.
double process_cpu_seconds();

/// CPU time (user + system) of process `pid` in seconds; 0 if unknown.
double process_cpu_seconds(int pid);

} // namespace tao::bench
