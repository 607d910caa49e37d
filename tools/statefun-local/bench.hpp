#pragma once

// `statefun-local bench`: load for any StateFun function endpoint, whatever SDK serves it.
// It builds valid ToFunction requests (from a workload file or from flags, spread over N
// addresses), answers the missing-state handshake once as the runtime would, then keeps N
// connections busy (load_generator.hpp) and reports throughput and a latency histogram.

#include <statefun/address.hpp>
#include <statefun/asio/async_run.hpp>
#include <statefun/asio/http_client.hpp>
#include <statefun/codec/from_function.hpp>
#include <statefun/codec/to_function.hpp>
#include <statefun/local/detail/endpoint_url.hpp>
#include <statefun/local/module_yaml.hpp>
#include <statefun/local/protocol_json.hpp>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/local/stream_protocol.hpp>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cli_support.hpp"
#include "exposition.hpp"
#include "invoke.hpp"
#include "load_generator.hpp"

namespace statefun_local {

struct bench_options {
  std::string url;
  std::string workload;  ///< a ToFunction, binary or JSON (as `decode` prints it)
  std::string target;    ///< NS/TYPE/ID, when there is no workload file
  std::string argument = "string:hello";
  std::vector<std::string> states;
  std::size_t ids = 1;
  std::size_t batch = 1;
  std::size_t state_bytes = 0;
  std::size_t connections = 32;
  std::size_t threads = 1;
  double rate = 0;
  std::string duration = "10s";
  std::string warmup;  ///< default: 1 s with a duration, none with --requests
  std::uint64_t requests = 0;
  int timeout_ms = 10'000;
  bool json = false;
  std::string metrics_path = "/metrics";  ///< scraped on the target's origin; empty: not
};

/// The target's own figures: its `/metrics` scraped before and after the load.
struct server_scrape {
  std::string url;
  std::optional<std::vector<metric_sample>> samples;  ///< none: `note` says why
  std::string note;
};

/**
 * GETs the target's metrics. A target without them (404, no answer, not an exposition) is not an
 * error: the report says so and the bench goes on.
 */
inline server_scrape scrape_metrics(const std::string& function_url, const std::string& path,
                                    std::chrono::milliseconds timeout) {
  server_scrape out;
  statefun::local::detail::endpoint_url parts;
  try {
    parts = statefun::local::detail::split_endpoint_url(function_url, statefun::local::transport_kind::async);
  } catch (const std::invalid_argument& e) {
    usage_error(e.what());
  }
  out.url = parts.origin + path;
  ::asio::io_context io;
  std::exception_ptr error;
  std::optional<statefun::asio::http_response> response;
  try {
    statefun::asio::http_client client(io.get_executor(), parts.origin);
    // A bounded read: an exposition of a few hundred series is tens of kilobytes.
    statefun::asio::async_run(io.get_executor(),
                              client.request({"GET", path, {{"Accept", "text/plain"}}, {}},
                                             {.timeout = timeout, .retries = 0, .max_response_bytes = 16u << 20}),
                              [&](std::exception_ptr e, statefun::asio::http_response r) {
                                error = e;
                                if (!e) {
                                  response = std::move(r);
                                }
                              });
    io.run();
  } catch (const std::exception& e) {
    out.note = std::string("cannot scrape it: ") + e.what();
    return out;
  }
  if (error) {
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      out.note = std::string("cannot scrape it: ") + e.what();
    }
    return out;
  }
  if (response->status != 200) {
    out.note = "it answered HTTP " + std::to_string(response->status) + ": the target exposes no metrics there";
    return out;
  }
  try {
    out.samples = parse_exposition(response->body);
  } catch (const std::invalid_argument& e) {
    out.note = std::string("not a Prometheus text exposition: ") + e.what();
  }
  return out;
}

/**
 * The server-side figures of the function type `type` between two scrapes (`statefun_*` metrics
 * of this SDK), as JSON; `{"note": why}` when there are none.
 */
inline nlohmann::json server_figures(const server_scrape& before, const server_scrape& after, const std::string& type) {
  nlohmann::json out = {{"metrics_url", after.url}};
  if (!before.samples || !after.samples) {
    out["note"] = !after.note.empty() ? after.note : before.note;
    return out;
  }
  const auto delta = [&](std::string_view name, std::initializer_list<label_match> match) -> std::optional<double> {
    const auto b = sum_of(*before.samples, name, match);
    const auto a = sum_of(*after.samples, name, match);
    if (!a) {
      return std::nullopt;
    }
    return *a - b.value_or(0);
  };
  const label_match of_type{"function_type", type};
  const auto batches = delta("statefun_function_batches_total", {of_type});
  if (!batches) {
    out["note"] = "its metrics have no statefun_function_batches_total for " + type;
    return out;
  }
  out["function_type"] = type;
  out["batches"] = *batches;
  out["invocations"] = delta("statefun_function_invocations_total", {of_type}).value_or(0);
  out["failures"] = delta("statefun_function_failures_total", {of_type}).value_or(0);
  const auto count = delta("statefun_function_batch_duration_seconds_count", {of_type});
  const auto sum = delta("statefun_function_batch_duration_seconds_sum", {of_type});
  const histogram_buckets buckets =
      bucket_delta(buckets_of(*before.samples, "statefun_function_batch_duration_seconds", {of_type}),
                   buckets_of(*after.samples, "statefun_function_batch_duration_seconds", {of_type}));
  nlohmann::json handler = nlohmann::json::object();
  if (count && sum && *count > 0) {
    handler["mean"] = *sum / *count * 1e3;
  }
  if (const auto p99 = histogram_quantile(0.99, buckets)) {
    handler["p99"] = *p99 * 1e3;
  }
  out["handler_ms"] = handler;
  return out;
}

/// The batch every request carries, owned; only the target id differs between requests.
struct bench_batch {
  statefun::address target;
  std::vector<std::pair<std::string, std::optional<statefun::local::typed_value>>> states;
  std::vector<std::pair<std::optional<statefun::address>, statefun::local::typed_value>> invocations;

  [[nodiscard]] bool has_state(std::string_view name) const {
    for (const auto& [state, value] : states) {
      if (state == name) {
        return true;
      }
    }
    return false;
  }

  /// The `ToFunction` for the instance `id` of the target's type.
  [[nodiscard]] std::string encode(std::string_view id) const {
    namespace local_detail = statefun::local::detail;
    statefun::codec::invocation_batch_view batch;
    batch.target = {target.type.namespace_name(), target.type.name(), id};
    for (const auto& [name, value] : states) {
      batch.states.push_back({name, value.has_value(), value ? local_detail::view_of(*value) : statefun::codec::typed_value_view{}});
    }
    for (const auto& [caller, argument] : invocations) {
      std::optional<statefun::codec::address_view> from;
      if (caller) {
        from = statefun::codec::address_view{caller->type.namespace_name(), caller->type.name(), caller->id};
      }
      batch.invocations.push_back({from, local_detail::view_of(argument)});
    }
    std::string bytes;
    batch.encode(bytes);
    return bytes;
  }
};

/// The batch of a workload file: a binary ToFunction, or its JSON form.
inline bench_batch batch_from_file(const std::string& path) {
  const input in = read_input(path);
  std::string bytes = in.bytes;
  if (!bytes.empty() && bytes.front() == '{') {
    try {
      bytes = statefun::local::encode_to_function(parse_json(bytes, in.name));
    } catch (const std::invalid_argument& e) {
      fail(in.name + ": " + e.what());
    }
  }
  statefun::codec::invocation_batch_view view;
  if (const auto decoded = view.decode(bytes); !decoded) {
    fail(in.name + " is not a ToFunction: " + describe(decoded));
  }
  const auto owned = [](const statefun::codec::typed_value_view& v) {
    return statefun::local::typed_value{std::string(v.type_name), std::string(v.value), v.has_value};
  };
  const auto address_of = [&](const statefun::codec::address_view& a) {
    try {
      return statefun::address{statefun::type_name(a.namespace_name, a.type), std::string(a.id)};
    } catch (const std::invalid_argument& e) {
      fail(in.name + ": " + e.what());
    }
  };
  bench_batch batch{address_of(view.target), {}, {}};
  for (const auto& s : view.states) {
    batch.states.emplace_back(std::string(s.name), s.has_state_value ? std::optional(owned(s.value)) : std::nullopt);
  }
  for (const auto& call : view.invocations) {
    batch.invocations.emplace_back(call.caller ? std::optional(address_of(*call.caller)) : std::nullopt, owned(call.argument));
  }
  if (batch.invocations.empty()) {
    fail(in.name + " holds no invocation");
  }
  return batch;
}

/// The batch the flags describe: `--batch` invocations of `--arg` to `--target`.
inline bench_batch batch_from_flags(const bench_options& options) {
  invoke_options as_invoke;
  as_invoke.target = options.target;
  as_invoke.argument = options.argument;
  as_invoke.states = options.states;
  const invocation_request one = request_from(as_invoke);
  bench_batch batch{one.target, one.states, {}};
  for (std::size_t i = 0; i < options.batch; ++i) {
    batch.invocations.emplace_back(std::nullopt, one.argument);
  }
  return batch;
}

/// The ids requests go to: the target's id alone, or N of them ("ID-0" to "ID-<N-1>").
inline std::vector<std::string> ids_of(const bench_batch& batch, std::size_t count) {
  if (count <= 1) {
    return {batch.target.id};
  }
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < count; ++i) {
    ids.push_back(batch.target.id + "-" + std::to_string(i));
  }
  return ids;
}

/**
 * Sends one request and registers the states the function says it lacks, as the runtime does,
 * until it answers with a result (at most twice: a function that keeps asking never would).
 * With `state_bytes`, a registered string state carries that many bytes.
 */
inline void answer_handshake(bench_batch& batch, const std::string& url, std::chrono::milliseconds timeout,
                             std::size_t state_bytes, bool quiet) {
  endpoint function(url, timeout, {});
  for (int round = 0; round < 2; ++round) {
    const std::string answer = function.exchange(batch.encode(batch.target.id));
    statefun::codec::from_function_view response;
    if (const auto decoded = response.decode(answer); !decoded) {
      fail("the answer of " + url + " is not a FromFunction: " + describe(decoded));
    }
    if (!response.incomplete) {
      return;
    }
    for (const auto& m : response.missing_values) {
      if (batch.has_state(m.state_name)) {
        fail("the function still reports the state '" + std::string(m.state_name) + "' missing although the request carries it");
      }
      std::optional<statefun::local::typed_value> value;
      if (state_bytes > 0 && m.type_name == statefun::type<std::string>::name()) {
        value = statefun::local::typed_value::of(std::string(state_bytes, 'x'));
      }
      if (!quiet) {
        std::cerr << "statefun-local: registering state '" << m.state_name << "' (" << m.type_name << ")"
                  << (value ? ", " + std::to_string(state_bytes) + " bytes" : std::string(", no value")) << '\n';
      }
      batch.states.emplace_back(std::string(m.state_name), std::move(value));
    }
  }
  fail("the function keeps answering with missing states; the runtime would keep registering and resending without end");
}

/// Where to connect and what to call the host, from an http:// or http+unix:// URL.
struct bench_target {
  asio::generic::stream_protocol::endpoint endpoint;
  bool tcp = true;
  std::string host_field;
  std::string path;
};

inline bench_target resolve_target(const std::string& url) {
  statefun::local::detail::endpoint_url parts;
  try {
    parts = statefun::local::detail::split_endpoint_url(url, statefun::local::transport_kind::async);
  } catch (const std::invalid_argument& e) {
    usage_error(e.what());
  }
  bench_target out{{}, true, {}, parts.target};
  const std::string_view origin = parts.origin;
  if (origin.starts_with("http+unix://")) {
    out.endpoint = asio::local::stream_protocol::endpoint(std::string(origin.substr(12)));
    out.tcp = false;
    out.host_field = "localhost";
    return out;
  }
  if (!origin.starts_with("http://")) {
    usage_error("bench speaks plain HTTP (http:// and http+unix://), not " + std::string(origin.substr(0, origin.find(':'))));
  }
  const std::string authority(origin.substr(7));
  out.host_field = authority;
  const std::size_t colon = authority.rfind(':');
  const bool has_port = colon != std::string::npos && authority.find(']', colon) == std::string::npos;
  std::string host = has_port ? authority.substr(0, colon) : authority;
  const std::string port = has_port ? authority.substr(colon + 1) : "80";
  if (host.size() > 1 && host.front() == '[') {
    host = host.substr(1, host.size() - 2);
  }
  asio::io_context io;
  asio::ip::tcp::resolver resolver(io);
  std::error_code ec;
  const auto results = resolver.resolve(host, port, ec);
  if (ec || results.empty()) {
    fail("cannot resolve " + host + ": " + (ec ? ec.message() : std::string("no address")));
  }
  out.endpoint = results.begin()->endpoint();
  return out;
}

/// A complete POST as the runtime's async transport sends it.
inline std::string http_request(const bench_target& target, std::string_view body) {
  std::string request = "POST " + target.path + " HTTP/1.1\r\nHost: " + target.host_field +
                        "\r\nContent-Type: application/octet-stream\r\nAccept: application/octet-stream\r\n"
                        "Content-Length: " +
                        std::to_string(body.size()) + "\r\n\r\n";
  request.append(body);
  return request;
}

inline std::chrono::milliseconds duration_option(const std::string& option, const std::string& text) {
  try {
    return statefun::local::parse_flink_duration(text);
  } catch (const std::invalid_argument& e) {
    usage_error(option + " '" + text + "': " + e.what());
  }
}

/// The report, as JSON (the figures in the human form are the same).
inline nlohmann::json report_json(const bench_options& o, const load_plan& plan, const load_result& r) {
  const auto ms = [](std::uint64_t ns) { return static_cast<double>(ns) / 1e6; };
  const double seconds = r.seconds > 0 ? r.seconds : 1;
  nlohmann::json errors = nlohmann::json::object();
  for (const auto& [kind, count] : r.errors) {
    errors[kind] = count;
  }
  return {
      {"url", o.url},
      {"connections", plan.connections},
      {"threads", plan.threads},
      {"target_rate", o.rate},
      {"addresses", plan.requests.size()},
      {"invocations_per_request", plan.invocations_per_request},
      {"request_bytes", plan.requests.front().size()},
      {"seconds", r.seconds},
      {"requests", r.responses},
      {"failed", r.failed},
      {"requests_per_second", static_cast<double>(r.responses) / seconds},
      {"invocations_per_second", static_cast<double>(r.responses * plan.invocations_per_request) / seconds},
      {"latency_ms",
       {{"p50", ms(r.latency.percentile(0.50))},
        {"p90", ms(r.latency.percentile(0.90))},
        {"p99", ms(r.latency.percentile(0.99))},
        {"p99.9", ms(r.latency.percentile(0.999))},
        {"max", ms(r.latency.max())},
        {"mean", r.latency.mean() / 1e6}}},
      {"errors", errors},
      {"reconnects", r.reconnects},
      {"bytes_sent", r.bytes_sent},
      {"bytes_received", r.bytes_received},
  };
}

/// The `server` line of the readable report.
inline std::string server_line(const nlohmann::json& server) {
  if (server.contains("note")) {
    return "server       no server-side figures from " + server["metrics_url"].get<std::string>() + ": " +
           server["note"].get<std::string>() + "\n";
  }
  const auto number = [](double v, const char* format) {
    char text[64];
    std::snprintf(text, sizeof text, format, v);
    return std::string(text);
  };
  std::string line = "server       " + number(server["batches"].get<double>(), "%.0f") + " batches, " +
                     number(server["invocations"].get<double>(), "%.0f") + " invocations, " +
                     number(server["failures"].get<double>(), "%.0f") + " failures of " +
                     server["function_type"].get<std::string>();
  const auto& handler = server["handler_ms"];
  if (handler.contains("mean")) {
    line += "; handler time per batch mean " + number(handler["mean"].get<double>(), "%.3f") + " ms";
  }
  if (handler.contains("p99")) {
    line += ", p99 " + number(handler["p99"].get<double>(), "%.3f") + " ms (from its histogram's buckets)";
  }
  return line + "\n             (from " + server["metrics_url"].get<std::string>() +
         ", scraped before and after the load: warm-up and other clients included)\n";
}

inline void print_report(const nlohmann::json& j) {
  const auto number = [](double v, const char* format) {
    char text[64];
    std::snprintf(text, sizeof text, format, v);
    return std::string(text);
  };
  const auto& l = j["latency_ms"];
  std::cout << "endpoint     " << j["url"].get<std::string>() << ", " << j["connections"].get<std::size_t>()
            << " connections on " << j["threads"].get<std::size_t>() << " thread(s), "
            << j["addresses"].get<std::size_t>() << " address(es), " << j["invocations_per_request"].get<std::size_t>()
            << " invocation(s) and " << j["request_bytes"].get<std::size_t>() << " bytes per request\n"
            << "requests     " << j["requests"].get<std::uint64_t>() << " in " << number(j["seconds"].get<double>(), "%.2f")
            << " s: " << number(j["requests_per_second"].get<double>(), "%.0f") << " requests/s, "
            << number(j["invocations_per_second"].get<double>(), "%.0f") << " invocations/s\n"
            << "latency      p50 " << number(l["p50"].get<double>(), "%.3f") << " ms, p90 "
            << number(l["p90"].get<double>(), "%.3f") << " ms, p99 " << number(l["p99"].get<double>(), "%.3f")
            << " ms, p99.9 " << number(l["p99.9"].get<double>(), "%.3f") << " ms, max "
            << number(l["max"].get<double>(), "%.3f") << " ms\n";
  if (j.contains("server")) {
    std::cout << server_line(j["server"]);
  }
  if (j["errors"].empty()) {
    std::cout << "responses    all passed (200, application/octet-stream, a FromFunction with a result)\n";
  } else {
    std::cout << "failures     " << j["failed"].get<std::uint64_t>() << " in the measured window; by kind (warm-up included):\n";
    for (const auto& [kind, count] : j["errors"].items()) {
      std::cout << "  " << count.get<std::uint64_t>() << "  " << kind << '\n';
    }
  }
}

inline int run_bench(const bench_options& o) {
  if (o.workload.empty() == o.target.empty()) {
    usage_error("give either --workload FILE or --target NS/TYPE/ID");
  }
  if (o.connections == 0 || o.threads == 0 || o.ids == 0 || o.batch == 0) {
    usage_error("--connections, --threads, --ids and --batch must be at least 1");
  }
  if (o.rate < 0) {
    usage_error("--rate must not be negative");
  }
  bench_batch batch = o.workload.empty() ? batch_from_flags(o) : batch_from_file(o.workload);
  const bench_target target = resolve_target(o.url);
  const auto timeout = std::chrono::milliseconds(o.timeout_ms);
  answer_handshake(batch, o.url, timeout, o.state_bytes, o.json);

  load_plan plan;
  plan.endpoint = target.endpoint;
  plan.tcp = target.tcp;
  for (const std::string& id : ids_of(batch, o.ids)) {
    plan.requests.push_back(http_request(target, batch.encode(id)));
  }
  plan.invocations_per_request = batch.invocations.size();
  plan.connections = o.connections;
  plan.threads = o.threads;
  plan.rate = o.rate;
  plan.max_requests = o.requests;
  plan.duration = duration_option("--duration", o.duration);
  plan.warmup = o.warmup.empty() ? (o.requests > 0 ? std::chrono::milliseconds{} : std::chrono::milliseconds{1000})
                                 : duration_option("--warmup", o.warmup);
  plan.timeout = timeout;

  std::optional<server_scrape> before;
  if (!o.metrics_path.empty()) {
    before = scrape_metrics(o.url, o.metrics_path, timeout);
  }
  const load_result result = generate_load(plan);
  nlohmann::json report = report_json(o, plan, result);
  if (before) {
    const server_scrape after = before->samples ? scrape_metrics(o.url, o.metrics_path, timeout) : *before;
    report["server"] = server_figures(*before, after, batch.target.type.str());
  }
  if (o.json) {
    std::cout << report.dump(2) << '\n';
  } else {
    print_report(report);
  }
  return result.errors.empty() ? exit_ok : exit_failure;
}

inline std::function<int()> add_bench(CLI::App& command) {
  auto o = std::make_shared<bench_options>();
  command.add_option("URL", o->url, "The endpoint: http://HOST:PORT/PATH or http+unix:///PATH/X.sock/PATH")->required()->type_name("");
  command.add_option("--workload", o->workload, "A ToFunction to send: binary, or JSON as `decode` prints it")->type_name("FILE");
  command.add_option("--target", o->target, "Or build the request: the function instance (with --ids, the id's prefix)")->type_name("NS/TYPE/ID");
  command.add_option("--arg", o->argument, "The message of each invocation (default string:hello)")->type_name("TYPE:VALUE");
  command.add_option("--state", o->states, "A state the request carries (NAME alone: registered, no value); repeatable")->type_name("NAME=TYPE:VALUE");
  command.add_option("--batch", o->batch, "Invocations per request (default 1)")->type_name("N");
  command.add_option("--ids", o->ids, "Spread the requests over N instances: ID-0 to ID-<N-1> (default 1: the id as given)")->type_name("N");
  command.add_option("--state-bytes", o->state_bytes, "String states registered by the handshake carry N bytes")->type_name("N");
  command.add_option("-c,--connections", o->connections, "Connections kept busy (default 32)")->type_name("N");
  command.add_option("-t,--threads", o->threads, "Threads, each with an event loop (default 1)")->type_name("N");
  command.add_option("-r,--rate", o->rate, "Requests per second over all connections (default: as fast as answers come)")->type_name("N");
  command.add_option("-d,--duration", o->duration, "How long to measure, e.g. 10s, 1min (default 10s)")->type_name("TIME");
  command.add_option("-n,--requests", o->requests, "Measure this many responses instead of a duration")->type_name("N");
  command.add_option("--warmup", o->warmup, "Unmeasured load first (default 1s; none with --requests)")->type_name("TIME");
  command.add_option("--timeout", o->timeout_ms, "Milliseconds a response may take before it counts as failed (default 10000)")->type_name("MS");
  command.add_flag("--json", o->json, "Print the report as JSON");
  command.add_option("--metrics-path", o->metrics_path,
                     "Scrape the target's Prometheus metrics here (on the URL's host) before and after the load, "
                     "and report its own figures beside ours; empty: do not (default /metrics)")
      ->type_name("PATH");
  command.footer(
      "Every response is checked as the runtime would: status 200, Content-Type application/octet-stream and a body that "
      "decodes as a FromFunction; the first request answers the missing-state handshake. Latency runs from the send "
      "(with --rate: from the scheduled send, so a stalled endpoint shows). When the target serves statefun-cpp's "
      "metrics (GET /metrics), the report adds the server's figures for the target's function type: batches, "
      "invocations, failures, and handler time per batch (mean, and p99 from the histogram's buckets). Exit 1 if any "
      "response failed.");
  return [o] { return run_bench(*o); };
}

}  // namespace statefun_local
