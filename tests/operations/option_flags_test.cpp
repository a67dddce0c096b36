#define BOOST_TEST_MODULE operations_option_flags
#include <boost/test/unit_test.hpp>

// Server and client options from the command line and from a CAF config
// file, through tao::option_flags.

#include <cstdio>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor_system_config.hpp>
#include <unistd.h>

#include "tao/command_line.hpp"
#include "tao/option_flags.hpp"
#include "tao/protocol/error.hpp"

#include "support/temp_file.hpp"

using namespace std::chrono_literals;

namespace {

struct config : caf::actor_system_config {
  tao::server_options server;
  tao::client_options client;
  tao::option_flags server_flags;
  tao::option_flags client_flags;
  config() {
    caf::config_option_adder srv{custom_options_, "server"};
    server_flags.add_server(srv, server);
    caf::config_option_adder cli{custom_options_, "client"};
    client_flags.add_client(cli, client);
  }
};

caf::error parse(config& cfg, std::vector<std::string> args) {
  std::vector<char*> argv;
  static std::string prog = "test";
  argv.push_back(prog.data());
  for (auto& a : args)
    argv.push_back(a.data());
  return cfg.parse(static_cast<int>(argv.size()), argv.data());
}

} // namespace

BOOST_AUTO_TEST_SUITE(operations_option_flags)

BOOST_AUTO_TEST_CASE(defaults_stay_without_flags) {
  config cfg;
  BOOST_REQUIRE(!parse(cfg, {}));
  auto s = cfg.server;
  BOOST_REQUIRE(!cfg.server_flags.apply(s));
  tao::server_options defaults;
  BOOST_CHECK_EQUAL(s.max_connections, defaults.max_connections);
  BOOST_CHECK(s.dispatch == defaults.dispatch);
  BOOST_CHECK(s.dispatch == tao::dispatch_mode::inline_io);
  BOOST_CHECK(s.drain_timeout == defaults.drain_timeout);
}

BOOST_AUTO_TEST_CASE(command_line) {
  config cfg;
  auto err = parse(cfg, {"--server.max-connections=7", "--server.heartbeat-period=250ms",
                         "--server.dispatch=scheduled", "--server.overflow=disconnect",
                         "--server.drain-timeout-ms=1500", "--client.reconnect",
                         "--client.reconnect-max-attempts=4", "--client.offline=fail",
                         "--client.host=::1", "--client.port=4242"});
  BOOST_REQUIRE_MESSAGE(!err, cfg.render(err));
  auto s = cfg.server;
  BOOST_REQUIRE(!cfg.server_flags.apply(s));
  BOOST_CHECK_EQUAL(s.max_connections, 7u);
  BOOST_CHECK(s.heartbeat_period == 250ms);
  BOOST_CHECK(s.dispatch == tao::dispatch_mode::scheduled);
  BOOST_CHECK(s.overflow == tao::overflow_policy::disconnect);
  BOOST_CHECK(s.drain_timeout == 1500ms);
  auto c = cfg.client;
  BOOST_REQUIRE(!cfg.client_flags.apply(c));
  BOOST_CHECK(c.reconnect.enabled);
  BOOST_CHECK_EQUAL(c.reconnect.max_attempts, 4u);
  BOOST_CHECK(c.offline == tao::offline_writes::fail);
  BOOST_CHECK_EQUAL(c.host, "::1");
  BOOST_CHECK_EQUAL(c.port, 4242);
}

// Values the program set before binding the flags stay when no flag or
// config entry changes them (apply used to reset the text-backed ones to
// the flags' own defaults).
struct preset_config : caf::actor_system_config {
  tao::server_options server;
  tao::client_options client;
  tao::option_flags server_flags;
  tao::option_flags client_flags;
  preset_config() {
    server.dispatch = tao::dispatch_mode::scheduled;
    server.overflow = tao::overflow_policy::disconnect;
    server.drain_timeout = 1234ms;
    client.offline = tao::offline_writes::fail;
    caf::config_option_adder srv{custom_options_, "server"};
    server_flags.add_server(srv, server);
    caf::config_option_adder cli{custom_options_, "client"};
    client_flags.add_client(cli, client);
  }
};

BOOST_AUTO_TEST_CASE(values_set_before_binding_stay) {
  preset_config cfg;
  std::vector<char*> argv{const_cast<char*>("test")};
  BOOST_REQUIRE(!cfg.parse(1, argv.data()));
  auto s = cfg.server;
  BOOST_REQUIRE(!cfg.server_flags.apply(s));
  BOOST_CHECK(s.dispatch == tao::dispatch_mode::scheduled);
  BOOST_CHECK(s.overflow == tao::overflow_policy::disconnect);
  BOOST_CHECK(s.drain_timeout == 1234ms);
  auto c = cfg.client;
  BOOST_REQUIRE(!cfg.client_flags.apply(c));
  BOOST_CHECK(c.offline == tao::offline_writes::fail);
  // Nothing global happens in apply: logging is apply_logging's, and does
  // nothing without add_logging.
  BOOST_CHECK(!cfg.server_flags.apply_logging());
}

BOOST_AUTO_TEST_CASE(config_file) {
  tao::test::temp_file ini{"tao-config"};
  const auto& name = ini.path();
  {
    std::ofstream out{name};
    out << "[server]\nmax-connections=9\nread-idle-timeout=2s\nhost=\"::1\"\n";
  }
  config cfg;
  BOOST_REQUIRE(!parse(cfg, {std::string{"--config-file="} + name}));
  auto s = cfg.server;
  BOOST_REQUIRE(!cfg.server_flags.apply(s));
  BOOST_CHECK_EQUAL(s.max_connections, 9u);
  BOOST_CHECK(s.read_idle_timeout == 2s);
  BOOST_CHECK_EQUAL(s.host, "::1");
}

BOOST_AUTO_TEST_CASE(bad_values_name_the_flag) {
  config cfg;
  BOOST_REQUIRE(!parse(cfg, {"--server.dispatch=threaded"}));
  auto s = cfg.server;
  auto err = cfg.server_flags.apply(s);
  BOOST_REQUIRE(err);
  BOOST_CHECK(tao::protocol::is(err, tao::protocol::errc::invalid_argument));
  BOOST_CHECK_MESSAGE(tao::protocol::render(err).find("--dispatch=threaded") != std::string::npos,
                      tao::protocol::render(err));
  config typo;
  BOOST_CHECK(parse(typo, {"--server.max-connections=many"})); // CAF rejects it
}

// tao::parse_command_line on a config bound like the examples' (group
// "global"); examples_command_line runs the real programs.
struct global_config : caf::actor_system_config {
  tao::server_options server;
  tao::option_flags flags;
  global_config() {
    caf::config_option_adder group{custom_options_, "global"};
    flags.add_server(group, server);
  }
  const caf::config_option_set& options() const {
    return custom_options_;
  }
};

std::optional<int> parse_cli(global_config& cfg, std::vector<std::string> args) {
  std::vector<char*> argv;
  static std::string prog = "test";
  argv.push_back(prog.data());
  for (auto& a : args)
    argv.push_back(a.data());
  return tao::parse_command_line(cfg, static_cast<int>(argv.size()), argv.data());
}

BOOST_AUTO_TEST_CASE(command_line_forms) {
  for (auto args : std::vector<std::vector<std::string>>{
         {"--port", "9000"}, {"--port=9000"}, {"-p", "9000"}, {"-p9000"}, {"-p=9000"}}) {
    global_config cfg;
    BOOST_CHECK(!parse_cli(cfg, args));
    BOOST_CHECK_EQUAL(cfg.server.port, 9000);
  }
  global_config cfg;
  BOOST_REQUIRE(!parse_cli(
    cfg, {"--reuse-address=false", "--dispatch", "inline_io", "--scheduler.max-threads", "2"}));
  BOOST_CHECK(!cfg.server.reuse_address);
  auto s = cfg.server;
  BOOST_REQUIRE(!cfg.flags.apply(s));
  BOOST_CHECK(s.dispatch == tao::dispatch_mode::inline_io);
  BOOST_CHECK_EQUAL(caf::get_or(cfg, "scheduler.max-threads", size_t{0}), 2u);
}

BOOST_AUTO_TEST_CASE(command_line_refusals_in_words) {
  global_config cfg;
  auto norm = [&](std::vector<std::string> args) {
    return tao::normalize_arguments(cfg.options(), args).error;
  };
  BOOST_CHECK_EQUAL(norm({"9000"}), "unexpected argument '9000' (options are --name=value or "
                                    "--name value; see --help)");
  BOOST_CHECK_EQUAL(norm({"--nope"}), "unknown option --nope (see --help)");
  BOOST_CHECK_EQUAL(norm({"--port"}), "option --port needs a value (uint16)");
  BOOST_CHECK_EQUAL(norm({"--reuse-address=maybe"}).find("invalid value 'maybe'"), 0u);
  BOOST_CHECK_EQUAL(norm({"--port", "9000"}), "");
  BOOST_CHECK_EQUAL(tao::parse_command_line(cfg, 0, nullptr).has_value(), false);
  global_config bad;
  BOOST_CHECK_EQUAL(parse_cli(bad, {"--port=abc"}).value_or(-1), tao::usage_error_exit_code);
  global_config help;
  BOOST_CHECK_EQUAL(parse_cli(help, {"-h"}).value_or(-1), 0);
}

BOOST_AUTO_TEST_SUITE_END()
