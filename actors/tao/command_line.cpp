#include "tao/command_line.hpp"

#include <iostream>

#include <caf/atom.hpp>
#include <caf/config_value.hpp>
#include <caf/pec.hpp>
#include <caf/settings.hpp>

namespace tao {

namespace {

// CAF 0.17 keeps the option set of a config protected; a pointer to the
// member taken through a derived class reads it without copying the config.
struct option_set_access : caf::actor_system_config {
  static const caf::config_option_set& of(const caf::actor_system_config& cfg) {
    return cfg.*(&option_set_access::custom_options_);
  }
};

std::string str(caf::string_view x) {
  return std::string{x.begin(), x.end()};
}

// The name CAF's command line knows an option by ("port",
// "scheduler.policy").
std::string cli_name(const caf::config_option& opt) {
  if (opt.has_flat_cli_name())
    return str(opt.long_name());
  return str(opt.category()) + "." + str(opt.long_name());
}

std::optional<bool> as_bool(const std::string& x) {
  if (x == "true")
    return true;
  if (x == "false")
    return false;
  return std::nullopt;
}

const char* form_hint = " (options are --name=value or --name value; see --help)";

} // namespace

normalized_arguments normalize_arguments(const caf::config_option_set& opts,
                                         const std::vector<std::string>& args) {
  normalized_arguments result;
  auto fail = [&](std::string what) {
    result.error = std::move(what);
    return result;
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const auto& arg = args[i];
    if (arg == "--") {
      if (i + 1 < args.size())
        return fail("unexpected argument '" + args[i + 1] + "'" + form_hint);
      break;
    }
    if (arg.size() < 2 || arg[0] != '-')
      return fail("unexpected argument '" + arg + "'" + form_hint);
    // The option, its name as typed and its value if given with it.
    const caf::config_option* opt = nullptr;
    std::string typed;
    std::optional<std::string> value;
    if (arg[1] == '-') {
      auto eq = arg.find('=');
      typed = arg.substr(0, eq);
      if (eq != std::string::npos)
        value = arg.substr(eq + 1);
      auto name = typed.substr(2);
      if (name == "config-file") {
        // Read by CAF before option parsing, in this form only.
        if (!value) {
          if (i + 1 == args.size())
            return fail("option --config-file needs a value (a file name)");
          value = args[++i];
        }
        result.args.push_back("--config-file=" + *value);
        continue;
      }
      opt = opts.cli_long_name_lookup(name);
    } else {
      typed = arg.substr(0, 2);
      if (arg.size() > 2)
        value = arg.substr(arg[2] == '=' ? 3 : 2);
      opt = opts.cli_short_name_lookup(arg[1]);
    }
    if (opt == nullptr)
      return fail("unknown option " + typed + " (see --help)");
    auto name = cli_name(*opt);
    if (opt->is_flag()) {
      if (!value && i + 1 < args.size() && as_bool(args[i + 1]))
        value = args[++i];
      if (!value) {
        result.args.push_back("--" + name);
        continue;
      }
      auto b = as_bool(*value);
      if (!b)
        return fail("invalid value '" + *value + "' for " + typed
                    + ": it is a flag (give it alone, or =true or =false)");
      result.flag_values.emplace_back(opt, *b);
      continue;
    }
    if (!value) {
      if (i + 1 == args.size())
        return fail("option " + typed + " needs a value (" + str(opt->type_name()) + ")");
      value = args[++i];
    }
    result.args.push_back("--" + name + "=" + *value);
  }
  return result;
}

std::string describe_parse_error(const caf::config_option_set& opts, const caf::error& err) {
  if (err.category() != caf::atom("parser"))
    return caf::to_string(err);
  std::string arg;
  auto& ctx = err.context();
  if (ctx.match_elements<caf::settings>()) {
    if (auto x = caf::get_if<std::string>(&ctx.get_as<caf::settings>(0), "argument"))
      arg = *x;
  }
  if (arg.empty()) // From the config file: line and column in the context.
    return "in the config file: " + caf::to_string(static_cast<caf::pec>(err.code())) + " "
           + caf::to_string(ctx);
  auto eq = arg.find('=');
  auto typed = arg.substr(0, eq);
  auto value = eq == std::string::npos ? std::string{} : arg.substr(eq + 1);
  const caf::config_option* opt = nullptr;
  if (typed.size() > 2 && typed.compare(0, 2, "--") == 0)
    opt = opts.cli_long_name_lookup(typed.substr(2));
  auto expected = opt ? ": expected " + str(opt->type_name()) : std::string{};
  switch (static_cast<caf::pec>(err.code())) {
  case caf::pec::not_an_option:
    return "unknown option " + typed + " (see --help)";
  case caf::pec::missing_argument:
    return "option " + typed + " needs a value" + (opt ? " (" + str(opt->type_name()) + ")" : "");
  case caf::pec::integer_overflow:
  case caf::pec::integer_underflow:
    return "value '" + value + "' for " + typed + " is out of range" + expected;
  default:
    return "invalid value '" + value + "' for " + typed + expected;
  }
}

std::optional<int> parse_command_line(caf::actor_system_config& cfg, int argc, char** argv) {
  std::string program = argc > 0 ? argv[0] : "program";
  if (auto slash = program.rfind('/'); slash != std::string::npos)
    program.erase(0, slash + 1);
  auto refuse = [&](const std::string& what) {
    std::cerr << program << ": error: " << what << '\n'
              << "usage: " << program << " [--name=value | --name value]... (--help lists them)"
              << std::endl;
    return usage_error_exit_code;
  };
  const auto& opts = option_set_access::of(cfg);
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i)
    args.emplace_back(argv[i]);
  auto norm = normalize_arguments(opts, args);
  if (!norm.error.empty())
    return refuse(norm.error);
  std::vector<char*> cargv;
  cargv.push_back(argc > 0 ? argv[0] : const_cast<char*>("program"));
  for (auto& x : norm.args)
    cargv.push_back(x.data());
  cargv.push_back(nullptr);
  if (auto err = cfg.parse(static_cast<int>(cargv.size() - 1), cargv.data()))
    return refuse(describe_parse_error(opts, err));
  if (cfg.cli_helptext_printed)
    return 0;
  if (!cfg.remainder.empty()) // Not expected after normalize_arguments.
    return refuse("unexpected argument '" + cfg.remainder.front() + "'");
  // The command line wins over the config file, as in CAF's own parse.
  for (auto& [opt, value] : norm.flag_values) {
    opt->store(caf::config_value{value});
    caf::put(cfg.content, cli_name(*opt), value);
  }
  return std::nullopt;
}

} // namespace tao
