#pragma once

// Command line and configuration of tao-chat-node.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor_system_config.hpp>

namespace chat_node {

/// The node's options on top of CAF's (`--help` lists them all). BASP
/// heartbeats default to every 250 ms with a 1.5 s connection timeout: a
/// frozen node is dropped within 2 s, and a healthy link on a loaded host is
/// not (see docs/distributed.md for the measurements).
struct node_config : caf::actor_system_config {
  /// Address the chat clients connect to.
  std::string host = "127.0.0.1";
  /// Port for the chat clients; 0 picks one (printed as "listening on").
  uint16_t port = 0;
  /// Port of the browser chat (the page over HTTP and its WebSocket, in the
  /// same room); 0 picks one (printed as "web chat on"), -1 is off.
  int web_port = -1;
  /// Directory of the chat page (examples/chat/web of the source tree by
  /// default).
  std::string web_root;
  /// Address the room is published on, and advertised to other nodes.
  std::string node_host = "127.0.0.1";
  /// Port the room is published on; 0 picks one (printed as "node port").
  uint16_t node_port = 0;
  /// Other nodes' "host:port", from every `--peer` (the command line is
  /// pre-processed: CAF itself keeps only the last value of an option).
  std::vector<std::string> peers;
  /// Node links over TLS with mutual authentication (caf::openssl).
  bool tls = false;
  /// "host:port" to serve Prometheus metrics on; empty: no metrics.
  std::string metrics;
  /// Lines a joining client gets as history.
  size_t history_lines = 20;
  /// Lines retained per origin for replay.
  size_t retain_lines = 10000;
  /// Bytes retained per origin for replay (text plus per-line overhead).
  size_t retain_bytes = 4u << 20;
  /// Bound on a stop (SIGINT/SIGTERM), in ms: the clients' connections get
  /// this long to drain, and the process exits by then plus one second
  /// whatever its peers do.
  size_t drain_timeout_ms = 3000;

  node_config();

  /// Parses the command line: takes out every `--peer X` / `--peer=X` (a
  /// list, which CAF's flags cannot repeat), then parses the rest with
  /// `tao::parse_command_line`. Returns what that returns: nothing when main
  /// goes on, else the exit code (0 after --help, 2 after printing an error).
  std::optional<int> parse_command_line(int argc, char** argv);

  /// Checks the option combination: automatic connections stay off; with
  /// `--tls`, certificate, key and CA must be given and load (never CAF's
  /// anonymous-cipher fallback); without it, no `openssl.*` option may be
  /// set. Returns an error message, or "" if the node may start.
  std::string check() const;

  /// "node_host:node_port" once the node port is known.
  std::string advertised_address(uint16_t bound_port) const;

private:
  std::string peer_help_;
};

} // namespace chat_node
