#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "tao/net/endpoint.hpp"

namespace tao::net {

/// Socket-level operations CAF 0.17's broker API does not offer. They act on
/// the native socket behind a connection handle; with CAF's default network
/// backend a connection handle's id *is* the socket descriptor. Each
/// function is a no-op (or returns an empty value) when `fd` is negative,
/// which callers pass when running on CAF's test multiplexer.
///
/// Thread-safety: call them only from the broker that owns the socket.
namespace socket_ops {

/// Disables Nagle's algorithm (TCP_NODELAY): frames go out at once.
void set_nodelay(int64_t fd) noexcept;

/// Makes the next close reset the connection (SO_LINGER 0) and shuts the
/// socket down in both directions, so that pending writes fail at once and
/// CAF releases the socket even if the peer never reads again.
void abort(int64_t fd) noexcept;

/// Writes what the kernel takes of `data` at once, without blocking or
/// raising SIGPIPE. Returns the bytes taken (0 when the send buffer is full)
/// or -1 on an error, which the caller leaves for CAF's own write to find.
ptrdiff_t send_some(int64_t fd, const void* data, size_t size) noexcept;

/// Bytes received by the kernel and not yet read by us (FIONREAD); 0 when
/// `fd` is negative or the kernel does not answer.
size_t readable_bytes(int64_t fd) noexcept;

/// What the kernel knows about the end of a connection.
struct tcp_end {
  /// The connection was reset: the TCP state is CLOSE (an RST arrived or a
  /// write failed). False while it can still carry data, for example after
  /// the peer's FIN (CLOSE_WAIT).
  bool reset = false;
  /// Bytes of ours the peer's TCP acknowledged, if the kernel reports it
  /// (Linux 4.1 and later). A client's SYN and a FIN count one each.
  std::optional<uint64_t> bytes_acked;
};

/// Reads the TCP state and counters of a connected socket; empty when `fd`
/// is negative or the kernel does not answer.
tcp_end end_of(int64_t fd) noexcept;

/// The local address of a connected socket.
endpoint local_endpoint(int64_t fd);

/// The remote address of a connected socket.
endpoint remote_endpoint(int64_t fd);

} // namespace socket_ops

} // namespace tao::net
