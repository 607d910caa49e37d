#pragma once

// statefun-local run: a whole application on the local runtime. The module.yaml files say where
// the functions are (live HTTP endpoints, any SDK) and which ingresses and egresses exist; input
// records come as JSON lines, egress records go out as JSON lines, a summary ends the run.

#include <CLI/CLI.hpp>

#include <asio/signal_set.hpp>

#include <statefun/asio/server.hpp>
#include <statefun/functions.hpp>
#include <statefun/local/module_yaml.hpp>
#include <statefun/local/protocol_json.hpp>
#include <statefun/local/runtime.hpp>
#include <statefun/metrics/prometheus.hpp>
#if STATEFUN_LOCAL_TLS
#include <statefun/local/tls.hpp>
#endif

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cli_support.hpp"

namespace statefun_local {

/// One input line, ready for the runtime: to an ingress, or straight to a function.
struct input_record {
  std::string ingress;  // empty: `to`
  std::string topic;
  std::optional<std::string> key;
  nlohmann::json value;  // as the line gave it
  std::optional<statefun::address> to;
  std::size_t line = 0;
};

/**
 * Reads one line of input:
 * - `{"ingress": "ns/name", "topic": "t", "key": "k", "value": V}`: a record for that ingress's
 *   topic (`topic` may be left out when it reads only one); V is the value in the form `decode`
 *   prints (`"text"` or `"base64"` instead of `"value"` for raw bytes), of the route's type;
 * - `{"to": "ns/type/id", "value": {"type": T, "value": V}}`: a message straight to a function.
 */
inline input_record parse_input_line(std::string_view text, const std::string& source, std::size_t line) {
  const nlohmann::json json = parse_json(text, source, line);
  const auto where = [&](std::string_view field) { return source + ":" + std::to_string(line) + ": field " + std::string(field); };
  if (!json.is_object()) {
    fail(source + ":" + std::to_string(line) + ": expected a JSON object");
  }
  input_record record;
  record.line = line;
  for (const auto& [name, _] : json.items()) {
    if (name != "ingress" && name != "topic" && name != "key" && name != "value" && name != "text" &&
        name != "base64" && name != "to") {
      fail(where(name) + ": unknown (expected ingress, topic, key and value, or to and value)");
    }
  }
  if (json.contains("to")) {
    if (!json["to"].is_string()) {
      fail(where("to") + ": expected \"namespace/type/id\"");
    }
    try {
      record.to = statefun::local::parse_address(json["to"].get<std::string>());
    } catch (const std::exception& e) {
      fail(where("to") + ": " + e.what());
    }
    if (!json.contains("value") || !json["value"].is_object()) {
      fail(where("value") + ": expected {\"type\": ..., \"value\": ...}");
    }
    record.value = json["value"];
    return record;
  }
  if (!json.contains("ingress") || !json["ingress"].is_string()) {
    fail(where("ingress") + ": expected the id of an ingress of the module (or \"to\")");
  }
  record.ingress = json["ingress"].get<std::string>();
  if (json.contains("topic")) {
    if (!json["topic"].is_string()) {
      fail(where("topic") + ": expected a string");
    }
    record.topic = json["topic"].get<std::string>();
  }
  if (!json.contains("key") || !(json["key"].is_string() || json["key"].is_null())) {
    fail(where("key") + ": expected a string (or null, which the runtime refuses as Kafka does)");
  }
  if (json["key"].is_string()) {
    record.key = json["key"].get<std::string>();
  }
  int forms = 0;
  for (const char* form : {"value", "text", "base64"}) {
    if (json.contains(form)) {
      ++forms;
      record.value = nlohmann::json::object({{form, json[form]}});
    }
  }
  if (forms != 1) {
    fail(where("value") + ": give exactly one of value, text or base64");
  }
  return record;
}

/// Hands `record` to the runtime; errors name the input line.
inline void feed(statefun::local::runtime& rt, const input_record& record, const statefun::local::module& m,
                 const std::string& source) {
  const std::string at = source + ":" + std::to_string(record.line) + ": ";
  try {
    if (record.to) {
      rt.send(*record.to, statefun::local::typed_value_from_json(record.value, "value"));
      return;
    }
    const statefun::local::ingress_spec* ingress = nullptr;
    for (const auto& spec : m.ingresses) {
      if (spec.id == record.ingress) {
        ingress = &spec;
      }
    }
    if (ingress == nullptr) {
      fail(at + "field ingress: the module has no ingress '" + record.ingress + "'");
    }
    const statefun::local::ingress_route* route = nullptr;
    try {
      route = &statefun::local::route_of(*ingress, record.topic);
    } catch (const std::invalid_argument& e) {
      fail(at + "field topic: " + e.what());
    }
    nlohmann::json typed = record.value;
    typed["type"] = route->value_type;
    const auto value = statefun::local::typed_value_from_json(typed, "value");
    rt.ingest_raw(record.ingress, record.key, value.value, route->topic);
  } catch (const error&) {
    throw;
  } catch (const std::exception& e) {
    fail(at + e.what());
  }
}

/// An egress record as one JSON line: `{"egress": id, "type": ..., "value": ...}`.
inline std::string egress_line(const statefun::local::egress_record& record) {
  return statefun::local::to_json(record).dump() + "\n";
}

struct run_options {
  std::vector<std::string> modules;
  std::string input;
  bool virtual_time = false;
  bool strict_content_type = false;
  std::optional<std::uint64_t> shuffle_seed;
  bool quiet = false;
  bool metrics = false;        ///< print the exposition on stderr at the end
  std::string metrics_listen;  ///< HOST:PORT to serve GET /metrics on while running
};

/// Where `--metrics-listen` listens: `HOST:PORT`, `[IPv6]:PORT`, or `:PORT` for every interface.
inline std::pair<std::string, std::uint16_t> listen_address(const std::string& text) {
  const std::size_t colon = text.rfind(':');
  const auto bad = [&](const std::string& why) -> void {
    usage_error("--metrics-listen '" + text + "': " + why + " (expected HOST:PORT, [IPv6]:PORT or :PORT)");
  };
  if (colon == std::string::npos) {
    bad("no port");
  }
  std::string host = text.substr(0, colon);
  const std::string port = text.substr(colon + 1);
  unsigned long number = 0;
  std::size_t used = 0;
  try {
    number = std::stoul(port, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (port.empty() || used != port.size() || number > 65535 || port.find_first_not_of("0123456789") != std::string::npos) {
    bad("the port is not a number from 0 to 65535");
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    bad("an IPv6 address goes in brackets");
  }
  return {host.empty() ? "::" : host, static_cast<std::uint16_t>(number)};
}

/**
 * `--metrics-listen`: an HTTP server of its own on a thread of its own that answers
 * `GET /metrics` with the runtime's metrics (and nothing else: its function path is never
 * posted to). The runtime's thread counts in atomics; a scrape reads them.
 */
class metrics_listener {
 public:
  metrics_listener(const statefun::metrics::prometheus& metrics, const std::string& where)
      : server_(no_functions_, {.path = "/-",
                                .metrics_source = &metrics,
                                .max_connections = 64,
                                .raise_fd_limit = false,
                                .shutdown_timeout = std::chrono::seconds(1),
                                .handle_signals = false}) {
    const auto [host, port] = listen_address(where);
    try {
      port_ = server_.listen(host, port);
    } catch (const std::exception& e) {
      fail("--metrics-listen " + where + ": " + e.what());
    }
    const bool v6 = host.find(':') != std::string::npos;
    url_ = "http://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port_) + "/metrics";
    thread_ = std::thread([this] { server_.run(); });
  }

  metrics_listener(const metrics_listener&) = delete;
  metrics_listener& operator=(const metrics_listener&) = delete;

  ~metrics_listener() {
    server_.stop();
    thread_.join();
  }

  [[nodiscard]] const std::string& url() const noexcept { return url_; }

 private:
  const statefun::functions no_functions_{};
  statefun::asio::http_server server_;
  std::uint16_t port_ = 0;
  std::string url_;
  std::thread thread_;
};

/// `--metrics`: the exposition on stderr, after the summary.
inline void print_metrics(const statefun::metrics::prometheus& metrics) {
  std::string text;
  metrics.write(text);
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

inline int run_command(const run_options& o) {
  std::vector<std::filesystem::path> files(o.modules.begin(), o.modules.end());
  const statefun::local::module m = statefun::local::load_modules(files);
  for (const auto& warning : m.warnings) {
    std::cerr << "statefun-local: warning: " << warning << '\n';
  }
  // Counted only when asked for: the runtime then raises its events to `metrics`.
  statefun::metrics::prometheus metrics;
  const bool metered = o.metrics || !o.metrics_listen.empty();
  statefun::local::runtime rt(m, {.clock = o.virtual_time ? statefun::local::clock::virtual_time()
                                                           : statefun::local::clock::real(),
                                  .shuffle_seed = o.shuffle_seed,
                                  .strict_content_type = o.strict_content_type,
#if STATEFUN_LOCAL_TLS
                                  .tls = statefun::local::tls_connector,
#endif
                                  .observer = metered ? &metrics : nullptr});
  std::optional<metrics_listener> listener;
  if (!o.metrics_listen.empty()) {
    listener.emplace(metrics, o.metrics_listen);
    std::cerr << "statefun-local: serving metrics on " << listener->url() << std::endl;
  }
  rt.on_egress([](const statefun::local::egress_record& record) {
    const std::string line = egress_line(record);
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fflush(stdout);  // a reader of the pipe sees each record as it is published
  });

  // Ctrl-C or SIGTERM: stop where we are, report, and leave (no half-written line: egress
  // lines are written whole on this thread).
  std::atomic<int> signal_received{0};
  ::asio::signal_set signals(rt.io_context(), SIGINT, SIGTERM);
  signals.async_wait([&](const std::error_code& e, int number) {
    if (!e) {
      signal_received = number;
      rt.stop();
    }
  });

  // Input is read on a thread of its own and handed to the runtime's thread record by record,
  // so a pipe can feed a run that is already going. The end of input ends `run()`; what is still
  // under way then finishes in `run_until_quiescent()`.
  std::exception_ptr input_error;
  std::thread reader;
  const std::string source = o.input.empty() || o.input == "-" ? "stdin" : o.input;
  if (!o.input.empty()) {
    reader = std::thread([&] {
      try {
        std::ifstream file;
        if (o.input != "-") {
          file.open(o.input);
          if (!file) {
            fail("cannot read " + o.input);
          }
        }
        std::istream& in = o.input == "-" ? std::cin : file;
        std::size_t number = 0;
        for (std::string line; std::getline(in, line);) {
          ++number;
          if (line.find_first_not_of(" \t\r") == std::string::npos) {
            continue;
          }
          auto record = std::make_shared<input_record>(parse_input_line(line, source, number));
          rt.post([&rt, &m, &source, record] { feed(rt, *record, m, source); });
        }
      } catch (...) {
        input_error = std::current_exception();
      }
      rt.post([&rt] { rt.stop(); });
    });
  }
  const auto start = std::chrono::steady_clock::now();
  const auto finish_reader = [&] {
    if (reader.joinable() && signal_received == 0) {
      reader.join();
    }
  };
  try {
    if (reader.joinable()) {
      rt.run();
    }
    if (signal_received == 0) {
      rt.run_until_quiescent();
    }
  } catch (...) {
    finish_reader();
    throw;
  }
  finish_reader();
  if (input_error) {
    std::rethrow_exception(input_error);
  }
  const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!o.quiet) {
    const auto& s = rt.stats();
    std::fprintf(stderr,
                 "statefun-local: %s: %llu input records, %llu messages, %llu requests (%llu handshakes, largest "
                 "batch %zu), %llu delayed messages fired, %llu egress records in %.3f s\n",
                 signal_received != 0 ? "stopped by a signal" : "done",
                 static_cast<unsigned long long>(s.ingress_records), static_cast<unsigned long long>(s.messages),
                 static_cast<unsigned long long>(s.requests), static_cast<unsigned long long>(s.handshakes),
                 s.largest_batch, static_cast<unsigned long long>(s.delayed_fired),
                 static_cast<unsigned long long>(s.egress_records), seconds);
  }
  if (o.metrics) {
    print_metrics(metrics);
  }
  if (signal_received != 0) {
    // The reader may be blocked on a terminal and would post to a runtime that is gone: leave
    // now, with everything written out, rather than wait for it or unwind under it.
    std::fflush(stdout);
    std::fflush(stderr);
    std::_Exit(128 + signal_received);
  }
  return exit_ok;
}

inline std::function<int()> add_run(CLI::App& command) {
  auto o = std::make_shared<run_options>();
  command.add_option("modules", o->modules, "module.yaml files (endpoints, ingresses, egresses)")->required();
  command.add_option("--input,-i", o->input,
                     "JSON lines of input ('-' for stdin): {\"ingress\": ID, \"topic\": T, \"key\": K, \"value\": V} "
                     "or {\"to\": \"ns/type/id\", \"value\": {\"type\": T, \"value\": V}}");
  command.add_flag("--virtual-time", o->virtual_time,
                   "Do not wait for delayed messages: time jumps to each one when nothing else is left to do");
  command.add_flag("--strict-content-type", o->strict_content_type,
                   "Require exactly 'application/octet-stream' of every answer, as OkHttp does");
  command.add_option("--shuffle", o->shuffle_seed,
                     "Interleave messages from different senders at random (this seed), keeping each address's order");
  command.add_flag("--quiet,-q", o->quiet, "No summary on stderr");
  command.add_flag("--metrics", o->metrics,
                   "At the end, print the runtime's metrics on stderr (Prometheus text format 0.0.4)");
  command.add_option("--metrics-listen", o->metrics_listen,
                     "While running, serve the runtime's metrics on GET http://HOST:PORT/metrics (port 0: any free "
                     "port; the URL is printed on stderr)")
      ->type_name("HOST:PORT");
  command.footer(
      "Egress records are printed on stdout as JSON lines as they are published; a summary goes to\n"
      "stderr at the end. Exit status: 0 done, 1 a failure the real runtime would fail the job for\n"
      "(named), 2 usage, 128+N stopped by signal N (Ctrl-C: 130).");
  return [o] { return run_command(*o); };
}

}  // namespace statefun_local
