// statefun-local: StateFun without a Flink cluster. Run an application on the local runtime
// (`run`), call a live function (`invoke`), and turn protocol messages into JSON and back
// (`decode`, `encode`), and load any function endpoint (`bench`).
//
// Each command lives in a header beside this file as `add_<command>(CLI::App&)`, which declares
// the command's options and returns what runs it once the command line is parsed. To add one,
// write its header and add a row to `commands` below.

#include <CLI/CLI.hpp>

#include <statefun/config.hpp>

#include <functional>
#include <iostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bench.hpp"
#include "cli_support.hpp"
#include "convert.hpp"
#include "invoke.hpp"
#include "run.hpp"

namespace {

/// Declares a command's options on `command`; returns what runs the command.
using command_setup = std::function<int()> (*)(CLI::App& command);

struct command {
  std::string_view name;
  std::string_view summary;
  command_setup setup;
};

constexpr command commands[] = {
    {"run", "Run an application (module.yaml) on the local runtime: input as JSON lines, egress out", statefun_local::add_run},
    {"invoke", "Send one message to a live function endpoint and print its answer", statefun_local::add_invoke},
    {"decode", "Print a binary ToFunction or FromFunction as JSON", statefun_local::add_decode},
    {"encode", "Write JSON (as decode prints it) as a binary ToFunction or FromFunction", statefun_local::add_encode},
    {"bench", "Load a live function endpoint (any SDK): throughput and latency, every response checked", statefun_local::add_bench},
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Apache Flink Stateful Functions without a Flink cluster: run an application locally, call a live function, read and write protocol messages.",
               "statefun-local");
  app.set_version_flag("--version", std::string("statefun-local ") + statefun::version_string);
  app.require_subcommand(1);
  app.footer(
      "Run `statefun-local COMMAND --help` for a command's options.\n"
      "Exit status: 0 success, 1 failure (unreachable endpoint, an answer the runtime would refuse,\n"
      "bad input), 2 usage (a wrong command line).");

  std::vector<std::pair<CLI::App*, std::function<int()>>> parsed;
  for (const command& c : commands) {
    CLI::App* sub = app.add_subcommand(std::string(c.name), std::string(c.summary));
    parsed.emplace_back(sub, c.setup(*sub));
  }

  // CLI11 would report a mistyped command as "A subcommand is required": name it instead.
  const auto known = [](std::string_view name) {
    for (const command& c : commands) {
      if (c.name == name) {
        return true;
      }
    }
    return false;
  };
  if (argc > 1 && argv[1][0] != '-' && !known(argv[1])) {
    std::string names;
    for (const command& c : commands) {
      names.append(names.empty() ? "" : ", ").append(c.name);
    }
    std::cerr << "statefun-local: unknown command '" << argv[1] << "' (expected one of " << names
              << ")\nRun with --help for more information.\n";
    return statefun_local::exit_usage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Prints the help (exit 0) or the error with a pointer to --help.
    return app.exit(e) == 0 ? statefun_local::exit_ok : statefun_local::exit_usage;
  }
  for (const auto& [sub, run] : parsed) {
    if (sub->parsed()) {
      return statefun_local::run_reporting_errors(run);
    }
  }
  return statefun_local::exit_usage;  // unreachable: a subcommand is required
}
