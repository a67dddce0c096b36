#pragma once

// A bounded TCP reachability check, so that the middleman (whose connect()
// blocks its thread until the kernel gives up, minutes for an address that
// drops SYNs) is only asked to connect to nodes that answer.

#include <chrono>
#include <cstdint>
#include <string>

#include <caf/error.hpp>

namespace chat_node {

/// Opens a TCP connection to `host:port` and closes it at once. Blocks the
/// calling thread for at most `timeout` plus name resolution (none for IP
/// literals). Returns `sec::cannot_connect_to_node` with the reason if the
/// address does not resolve, refuses, is unreachable or does not answer in
/// time. Thread-safe.
caf::error tcp_probe(const std::string& host, uint16_t port, std::chrono::milliseconds timeout);

} // namespace chat_node
