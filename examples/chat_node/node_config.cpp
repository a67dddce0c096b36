#include "node_config.hpp"

#include <chrono>
#include <iostream>
#include <memory>

#include <caf/config_value.hpp>
#include <caf/settings.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "tao/command_line.hpp"

#include "peer_messages.hpp"
#include "room.hpp"

namespace chat_node {

namespace {

/// The last OpenSSL error as text.
std::string openssl_error() {
  auto code = ERR_get_error();
  ERR_clear_error();
  if (code == 0)
    return "unknown error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  return buf;
}

/// Loads the files the way caf::openssl will, so that a wrong path or a key
/// that does not match fails here with a message instead of in the
/// middleman's thread.
std::string check_tls_files(const caf::actor_system_config& cfg) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx{SSL_CTX_new(TLS_method()), SSL_CTX_free};
  if (!ctx)
    return "cannot create an OpenSSL context: " + openssl_error();
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), cfg.openssl_certificate.c_str()) != 1)
    return "cannot load openssl.certificate " + cfg.openssl_certificate + ": " + openssl_error();
  if (!cfg.openssl_passphrase.empty())
    SSL_CTX_set_default_passwd_cb_userdata(ctx.get(),
                                           const_cast<char*>(cfg.openssl_passphrase.c_str()));
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), cfg.openssl_key.c_str(), SSL_FILETYPE_PEM) != 1)
    return "cannot load openssl.key " + cfg.openssl_key + ": " + openssl_error();
  if (SSL_CTX_check_private_key(ctx.get()) != 1)
    return "openssl.key does not match openssl.certificate: " + openssl_error();
  auto cafile = cfg.openssl_cafile.empty() ? nullptr : cfg.openssl_cafile.c_str();
  auto capath = cfg.openssl_capath.empty() ? nullptr : cfg.openssl_capath.c_str();
  if (SSL_CTX_load_verify_locations(ctx.get(), cafile, capath) != 1)
    return "cannot load the CA (openssl.cafile/openssl.capath): " + openssl_error();
  return {};
}

} // namespace

#ifndef TAO_CHAT_WEB_ROOT
#define TAO_CHAT_WEB_ROOT "web"
#endif

node_config::node_config() : web_root(TAO_CHAT_WEB_ROOT) {
  opt_group{custom_options_, "global"}
    .add(host, "host", "address the chat clients connect to")
    .add(port, "port,p", "port for the chat clients (0: pick one)")
    .add(web_port, "web-port",
         "serve the browser chat (page and WebSocket) on this port; 0 picks one, -1 is off")
    .add(web_root, "web-root", "directory of the chat page")
    .add(metrics, "metrics", "serve Prometheus metrics on this host:port (e.g. 127.0.0.1:9464)")
    .add(node_host, "node-host", "address of the node port, advertised to other nodes")
    .add(node_port, "node-port", "port the room is published on for other nodes (0: pick one)")
    .add(peer_help_, "peer", "host:port of another node's node port; repeat --peer for more")
    .add(history_lines, "history", "lines a client gets as history when it joins")
    .add(retain_lines, "retain-lines", "lines retained per origin node for replay")
    .add(retain_bytes, "retain-bytes", "bytes retained per origin node for replay")
    .add(drain_timeout_ms, "drain-timeout",
         "ms a stop may take: clients' connections drain, then the node exits")
    .add(tls, "tls",
         "TLS with mutual authentication on node links; needs --openssl.certificate, "
         "--openssl.key and --openssl.cafile");
  // Silent (SIGSTOP) nodes are dropped within 2 s, healthy links on a loaded
  // host are not (docs/distributed.md); both can be overridden.
  set("middleman.heartbeat-interval", caf::timespan{std::chrono::milliseconds(250)});
  set("middleman.connection-timeout", caf::timespan{std::chrono::milliseconds(1500)});
  // Only tao-chat-nodes talk to each other.
  set("middleman.app-identifiers", std::vector<std::string>{"tao-chat-node"});
  register_peer_messages(*this);
  add_message_type<room_stats>("chat_node.room_stats");
}

std::optional<int> node_config::parse_command_line(int argc, char** argv) {
  std::vector<char*> rest;
  rest.push_back(argv[0]);
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--peer") {
      if (i + 1 == argc) {
        std::cerr << "tao-chat-node: error: option --peer needs a value (host:port)\n";
        return tao::usage_error_exit_code;
      }
      peers.emplace_back(argv[++i]);
    } else if (arg.rfind("--peer=", 0) == 0) {
      peers.push_back(arg.substr(7));
    } else {
      rest.push_back(argv[i]);
    }
  }
  return tao::parse_command_line(*this, static_cast<int>(rest.size()), rest.data());
}

std::string node_config::check() const {
  if (web_port < -1 || web_port > 65535)
    return "--web-port must be -1 (off) or a port from 0 to 65535";
  if (caf::get_or(*this, "middleman.enable-automatic-connections", false))
    return "middleman.enable-automatic-connections must stay off: it opens a plaintext "
           "listener on every interface";
  bool any_openssl = !openssl_certificate.empty() || !openssl_key.empty() || !openssl_cafile.empty()
                     || !openssl_capath.empty() || !openssl_passphrase.empty();
  if (!tls) {
    if (any_openssl)
      return "openssl.* options are set but --tls is not: node links would be plaintext; "
             "add --tls or drop them";
    return {};
  }
  std::string missing;
  if (openssl_certificate.empty())
    missing += " --openssl.certificate";
  if (openssl_key.empty())
    missing += " --openssl.key";
  if (openssl_cafile.empty() && openssl_capath.empty())
    missing += " --openssl.cafile";
  if (!missing.empty())
    return "--tls needs" + missing
           + " (mutual authentication; refusing CAF's unauthenticated anonymous cipher)";
  return check_tls_files(*this);
}

std::string node_config::advertised_address(uint16_t bound_port) const {
  if (node_host.find(':') != std::string::npos)
    return "[" + node_host + "]:" + std::to_string(bound_port);
  return node_host + ":" + std::to_string(bound_port);
}

} // namespace chat_node
