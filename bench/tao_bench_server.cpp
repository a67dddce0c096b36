// tao-bench-server: tao's echo server for benchmarks, with the dispatch mode
// and CAF scheduler settings on the command line. --codec=raw swaps Tao's
// TLV framing for a pass-through codec (raw_codec.hpp) for pingpong runs.
// --payload=view echoes a message type whose payload is a view of the frame
// (raw_view_payload) instead of Tao's text message (a std::string).
//
//   tao-bench-server --port=0 [--dispatch=scheduled|inline] [--codec=tlv|raw]
//                    [--payload=string|view] [CAF options]
//
// Without --dispatch it runs the library's default (inline).

#include <csignal>
#include <iostream>
#include <string_view>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include "tao/all.hpp"

#include "raw_codec.hpp"

using echo_message = tao::protocol::text_message<1>;

namespace {

/// The echo message with a view of the frame as its payload: no copy in.
struct echo_view {
  static constexpr int32_t tao_type = 1;
  std::string_view bytes;
  using tao_payload = tao::protocol::raw_view_payload<&echo_view::bytes>;
};

struct config : caf::actor_system_config {
  uint16_t port = 0;
  std::string dispatch = "default";
  std::string codec = "tlv";
  std::string payload = "string";
  std::string transport = "tcp";
  size_t read_chunk = 32 * 1024;
  size_t max_reads = 0;
  size_t io_threads = 1;
  config() {
    opt_group{custom_options_, "global"}
      .add(port, "port,p", "port to listen on (0: pick one)")
      .add(dispatch, "dispatch",
           "where handlers run: scheduled or inline (or inline_io); default: the library's")
      .add(codec, "codec", "framing: tlv or raw (pass-through)")
      .add(payload, "payload", "echoed type: string (Tao's text message) or view")
      .add(transport, "transport", "tcp or websocket")
      .add(read_chunk, "read-chunk", "bytes per read system call")
      .add(max_reads, "max-reads", "CAF's middleman.max-consecutive-reads (0: CAF's 50)")
      .add(io_threads, "io-threads", "I/O threads serving the connections");
  }
};

} // namespace

int main(int argc, char** argv) {
  tao::catch_stop_signals();
  config cfg;
  cfg.load<caf::io::middleman>();
  if (auto exit_code = tao::parse_command_line(cfg, argc, argv))
    return *exit_code;
  if (cfg.dispatch != "default" && cfg.dispatch != "scheduled" && cfg.dispatch != "inline"
      && cfg.dispatch != "inline_io") {
    std::cerr << "tao-bench-server: error: --dispatch=" << cfg.dispatch
              << ": expected scheduled, inline or inline_io\n";
    return tao::usage_error_exit_code;
  }
  if (cfg.codec != "tlv" && cfg.codec != "raw") {
    std::cerr << "tao-bench-server: error: --codec=" << cfg.codec << ": expected tlv or raw\n";
    return tao::usage_error_exit_code;
  }
  if (cfg.payload != "string" && cfg.payload != "view") {
    std::cerr << "tao-bench-server: error: --payload=" << cfg.payload
              << ": expected string or view\n";
    return tao::usage_error_exit_code;
  }
  if (cfg.max_reads > 0)
    cfg.set("middleman.max-consecutive-reads", cfg.max_reads);
  // The pool before the system: it must outlive it.
  tao::io_pool pool{cfg.io_threads, [&cfg](caf::actor_system_config& shard) {
                      if (cfg.max_reads > 0)
                        shard.set("middleman.max-consecutive-reads", cfg.max_reads);
                    }};
  caf::actor_system sys{cfg};
  tao::server_options opts;
  opts.port = cfg.port;
  opts.io_threads = cfg.io_threads;
  opts.io_pool = &pool;
  if (cfg.dispatch != "default")
    opts.dispatch =
      cfg.dispatch != "scheduled" ? tao::dispatch_mode::inline_io : tao::dispatch_mode::scheduled;
  opts.max_connections = 100000;
  opts.read_chunk_size = cfg.read_chunk;
  if (cfg.transport == "websocket")
    opts.transport = tao::transport_kind::websocket;
  if (cfg.codec == "raw")
    opts.codec = std::make_shared<tao::bench::raw_codec>();
  if (cfg.payload == "view")
    opts.handlers.on<echo_view>([](tao::connection& c, const echo_view& m) { c.write(m); });
  else
    opts.handlers.on<echo_message>([](tao::connection& c, const echo_message& m) { c.write(m); });
  auto srv = tao::server::start(sys, std::move(opts));
  if (!srv) {
    std::cerr << "error: " << tao::protocol::render(srv.error()) << '\n';
    return 1;
  }
  std::cout << "listening on 127.0.0.1:" << srv->port() << std::endl;
  tao::run_until_signal(sys, *srv);
  return 0;
}
