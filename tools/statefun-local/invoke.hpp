#pragma once

// `statefun-local invoke`: sends one ToFunction to a live endpoint, as the runtime would, and
// prints the FromFunction it gets back.

#include <statefun/address.hpp>
#include <statefun/asio/async_run.hpp>
#include <statefun/asio/http_client.hpp>
#include <statefun/codec/from_function.hpp>
#include <statefun/codec/to_function.hpp>
#include <statefun/detail/http_grammar.hpp>
#include <statefun/local/detail/endpoint_url.hpp>
#include <statefun/local/module.hpp>
#include <statefun/local/protocol_json.hpp>

// https:// needs OpenSSL, which the build links only when it finds it (and then defines this).
#if STATEFUN_LOCAL_TLS
#include <statefun/local/tls.hpp>
#endif

#include <asio/io_context.hpp>

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "cli_support.hpp"

namespace statefun_local {

struct invoke_options {
  std::string url;
  std::string target;
  std::string argument;
  std::string caller;
  std::vector<std::string> states;
  bool register_missing = false;
  int timeout_ms = 30'000;
  /// For https:// endpoints: the runtime's settings of the same names (docs/runtime_rules.md §1.9).
  statefun::local::tls_client_settings tls;
};

/// The one-invocation batch the command sends, owning what the codec's views point into.
struct invocation_request {
  statefun::address target;
  std::optional<statefun::address> caller;
  /// Each state the runtime would have registered: a name, and a value if it holds one.
  std::vector<std::pair<std::string, std::optional<statefun::local::typed_value>>> states;
  statefun::local::typed_value argument;

  [[nodiscard]] bool has_state(std::string_view name) const {
    for (const auto& [state, value] : states) {
      if (state == name) {
        return true;
      }
    }
    return false;
  }

  /// The request as a serialized `ToFunction`.
  [[nodiscard]] std::string encode() const {
    const auto view = [](const statefun::address& a) {
      return statefun::codec::address_view{a.type.namespace_name(), a.type.name(), a.id};
    };
    statefun::codec::invocation_batch_view batch;
    batch.target = view(target);
    for (const auto& [name, value] : states) {
      // A registered state with no value travels as its name alone, as the runtime sends it.
      batch.states.push_back(
          {name, value.has_value(), value ? statefun::local::detail::view_of(*value) : statefun::codec::typed_value_view{}});
    }
    batch.invocations.push_back(
        {caller ? std::optional(view(*caller)) : std::nullopt, statefun::local::detail::view_of(argument)});
    std::string bytes;
    batch.encode(bytes);
    return bytes;
  }
};

/// Reads the command line into a request; a mistake is a usage error naming the option.
inline invocation_request request_from(const invoke_options& options) {
  const auto named = [](const std::string& option, const auto& parse) {
    try {
      return parse();
    } catch (const std::invalid_argument& e) {
      usage_error(option + " " + e.what());
    }
  };
  invocation_request request{named("--target", [&] { return statefun::local::parse_address(options.target); }),
                             std::nullopt,
                             {},
                             {}};
  if (!options.caller.empty()) {
    request.caller = named("--caller", [&] { return statefun::local::parse_address(options.caller); });
  }
  request.argument = named("--arg", [&] { return statefun::local::parse_typed_value(options.argument); });
  for (const std::string& state : options.states) {
    const std::size_t equals = state.find('=');
    const std::string name = state.substr(0, equals);
    if (name.empty()) {
      usage_error("--state '" + state + "': expected NAME=TYPE:VALUE, or NAME for a state that holds no value");
    }
    if (request.has_state(name)) {
      usage_error("--state '" + state + "': the state '" + name + "' is given twice");
    }
    std::optional<statefun::local::typed_value> value;
    if (equals != std::string::npos) {
      value = named("--state " + name + ":", [&] { return statefun::local::parse_typed_value(state.substr(equals + 1)); });
    }
    request.states.emplace_back(name, std::move(value));
  }
  return request;
}

/// What the runtime would make of a failed call (docs/runtime_rules.md §1.3, §1.5, §1.6).
inline std::string what_the_runtime_would_do(std::string_view okhttp) {
  return "The runtime would retry (its default async transport: every failure, until the call timeout of 2 min by "
         "default; the OkHttp transport: " +
         std::string(okhttp) + "), then fail the job, which restarts from its last checkpoint.";
}

/**
 * How the client speaks TLS to an `https://` origin, from the runtime's settings: empty (no TLS)
 * for any other URL, as the runtime ignores TLS settings there.
 */
inline statefun::asio::client_connector connector_for(std::string_view origin,
                                                      const statefun::local::tls_client_settings& tls) {
  if (!statefun::detail::http1::iequals(origin.substr(0, origin.find(':')), "https")) {
    return {};
  }
#if STATEFUN_LOCAL_TLS
  return statefun::local::tls_connector(tls);
#else
  (void)tls;
  fail("this statefun-local was built without OpenSSL, so it cannot call https:// endpoints");
#endif
}

/// The endpoint: one keep-alive HTTP client, driven on this thread.
class endpoint {
 public:
  endpoint(std::string url, std::chrono::milliseconds timeout, const statefun::local::tls_client_settings& tls)
      : url_(std::move(url)), timeout_(timeout) {
    try {
      // Split as the runtime's async transport does (http, https, http+unix), and let the client
      // take whichever of these schemes it supports.
      parts_ = statefun::local::detail::split_endpoint_url(url_, statefun::local::transport_kind::async);
      client_.emplace(io_.get_executor(), parts_.origin, connector_for(parts_.origin, tls));
    } catch (const std::invalid_argument& e) {
      usage_error(e.what());
    }
  }

  /**
   * POSTs `to_function` and returns the body of a response the runtime would accept: 2xx,
   * `Content-Type: application/octet-stream`, a body that decodes as a FromFunction.
   */
  std::string exchange(std::string to_function) {
    statefun::asio::http_request request{"POST",
                                         parts_.target,
                                         {{"Content-Type", "application/octet-stream"},
                                          {"Accept", "application/octet-stream"}},
                                         std::move(to_function)};
    std::exception_ptr error;
    std::optional<statefun::asio::http_response> response;
    try {
      statefun::asio::async_run(io_.get_executor(), client_->request(std::move(request), {.timeout = timeout_}),
                                [&](std::exception_ptr e, statefun::asio::http_response r) {
                                  error = e;
                                  if (!e) {
                                    response = std::move(r);
                                  }
                                });
    } catch (const std::invalid_argument& e) {  // a target the client refuses
      usage_error(e.what());
    }
    io_.restart();
    io_.run();
    if (error) {
      try {
        std::rethrow_exception(error);
      } catch (const std::system_error& e) {
        fail("cannot reach " + url_ + ": " + e.code().message() + ". " +
             what_the_runtime_would_do("the same for I/O errors"));
      }
    }
    check(*response);
    return std::move(response->body);
  }

 private:
  void check(const statefun::asio::http_response& response) const {
    if (response.status < 200 || response.status > 299) {
      const bool okhttp_retries = response.status == 408 || response.status == 409 || response.status == 420 ||
                                  response.status == 429 || response.status == 499 || response.status >= 500;
      fail(url_ + " answered HTTP " + std::to_string(response.status) + reason(response.body) + ". " +
           what_the_runtime_would_do(okhttp_retries ? "this status too" : "none: it fails at once on this status"));
    }
    namespace g = statefun::detail::http1;
    static constexpr std::string_view binary = "application/octet-stream";
    bool exact = false;
    bool listed = false;
    for (const auto& [name, value] : response.headers) {
      if (!g::iequals(name, "content-type")) {
        continue;
      }
      exact = exact || value == binary;
      listed = listed || g::list_contains(value, binary);  // Netty's rule: any element, ignoring case
    }
    if (!listed) {
      const auto type = response.header("content-type");
      fail(url_ + " answered with Content-Type '" + std::string(type.value_or("(none)")) +
           "', not application/octet-stream. " + what_the_runtime_would_do("none: it fails at once"));
    }
    if (!exact) {
      std::cerr << "statefun-local: warning: " << url_ << " answered with Content-Type '"
                << response.header("content-type").value_or("")
                << "': the async transport accepts it, the OkHttp transport would not (it wants exactly "
                   "application/octet-stream)\n";
    }
  }

  /// ": <first line of the body>" when the body is short readable text (a server's reason).
  static std::string reason(std::string_view body) {
    body = body.substr(0, body.find_first_of("\r\n"));
    if (body.empty() || body.size() > 200 || !statefun::local::detail::readable_text(body)) {
      return {};
    }
    return ": " + std::string(body);
  }

  std::string url_;
  std::chrono::milliseconds timeout_;
  statefun::local::detail::endpoint_url parts_;
  ::asio::io_context io_;
  std::optional<statefun::asio::http_client> client_;  // after io_: destroyed first
};

inline int run_invoke(const invoke_options& options) {
  invocation_request request = request_from(options);
  endpoint function(options.url, std::chrono::milliseconds(options.timeout_ms), options.tls);
  nlohmann::json exchanges = nlohmann::json::array();
  // With --register, at most two rounds: the runtime registers what the first answer lists, so
  // a second incomplete answer means the function is asking for something else each time.
  for (int round = 0;; ++round) {
    const std::string request_bytes = request.encode();
    const std::string response_bytes = function.exchange(request_bytes);
    statefun::codec::from_function_view response;
    if (const auto decoded = response.decode(response_bytes); !decoded) {
      fail("the answer of " + options.url + " is not a FromFunction: " + describe(decoded) + ". " +
           what_the_runtime_would_do("none: it fails at once"));
    }
    nlohmann::json response_json;
    try {
      response_json = statefun::local::to_json(response);
    } catch (const std::invalid_argument& e) {
      fail("the answer of " + options.url + ": " + e.what());
    }

    std::string missing;
    for (const auto& m : response.missing_values) {
      missing.append(missing.empty() ? "" : ", ").append(m.state_name);
    }
    if (!options.register_missing) {
      std::cout << pretty(response_json);
      if (response.incomplete) {
        std::cerr << "statefun-local: the function lacks the state(s) " << missing
                  << "; the runtime would register them and send the batch again. Pass --register to do the same, "
                     "or give them with --state NAME=TYPE:VALUE.\n";
      }
      return exit_ok;
    }

    statefun::codec::invocation_batch_view sent;
    (void)sent.decode(request_bytes);  // our own encoding: it decodes
    nlohmann::json exchange = nlohmann::json::object();
    exchange["request"] = statefun::local::to_json(sent);
    exchange["response"] = std::move(response_json);
    exchanges.push_back(std::move(exchange));
    if (!response.incomplete) {
      std::cout << pretty(exchanges);
      return exit_ok;
    }
    std::string already_sent;
    for (const auto& m : response.missing_values) {
      if (request.has_state(m.state_name)) {
        already_sent.append(already_sent.empty() ? "" : ", ").append(m.state_name);
      } else {
        request.states.emplace_back(std::string(m.state_name), std::nullopt);
      }
    }
    if (round > 0 || !already_sent.empty()) {
      std::cout << pretty(exchanges);
      fail("the function still reports missing state(s) " + (already_sent.empty() ? missing : already_sent) +
           " although the request carries them; the runtime would keep registering and resending without end");
    }
  }
}

inline std::function<int()> add_invoke(CLI::App& command) {
  auto options = std::make_shared<invoke_options>();
  command.add_option("URL", options->url, "The endpoint, e.g. http://localhost:8000/statefun")
      ->required()
      ->type_name("");
  command.add_option("--target", options->target, "The function instance to call (the id may contain /)")
      ->required()
      ->type_name("NS/TYPE/ID");
  command.add_option("--arg", options->argument, "The message, e.g. string:hello or long:42 (see below)")
      ->required()
      ->type_name("TYPE:VALUE");
  command.add_option("--caller", options->caller, "The sender (default: none, as from an ingress)")
      ->type_name("NS/TYPE/ID");
  command.add_option("--state", options->states, "A registered state, with a value or (NAME) without; repeatable")
      ->type_name("NAME[=TYPE:VALUE]");
  command.add_flag("--register", options->register_missing,
                   "Register the states the function lacks and send again, as the runtime does");
  command.add_option("--timeout", options->timeout_ms, "How long to wait for the answer: 500ms, 10s, 1min")
      ->transform(CLI::AsNumberWithUnit(std::map<std::string, int>{{"ms", 1}, {"s", 1000}, {"min", 60'000}})
                      .description(""))
      ->type_name("DURATION")
      ->default_str("30s");
  const char* tls = "TLS (https:// only; the runtime's settings of the same names)";
  command.add_option("--trust-cacerts", options->tls.trust_cacerts, "CA certificates to trust (PEM); default: the "
                                                                   "system's")
      ->type_name("FILE")
      ->group(tls);
  command.add_option("--client-cert", options->tls.client_cert, "A client certificate to present (PEM)")
      ->type_name("FILE")
      ->group(tls);
  command.add_option("--client-key", options->tls.client_key, "Its private key (PEM)")->type_name("FILE")->group(tls);
  command.add_option("--client-key-password", options->tls.client_key_password, "A file holding the key's password")
      ->type_name("FILE")
      ->group(tls);
  command.footer(
      "Sends one ToFunction as the runtime would (POST, Content-Type: application/octet-stream)\n"
      "and prints the FromFunction as JSON (see `statefun-local decode`). With --register, prints\n"
      "[{\"request\": ..., \"response\": ...}, ...] for each exchange instead.\n\n"
      "VALUE forms (TYPE:VALUE, split at the first ':'):\n"
      "  bool:true  int:7  long:42  float:1.5  double:-0.25  string:a:b  (empty value: zero)\n"
      "  io.statefun.types/long:42           a built-in type by its full name\n"
      "  NS/NAME:json:{...}  NS/NAME:text:...  NS/NAME:base64:...  NS/NAME:@FILE\n\n"
      "Examples:\n"
      "  statefun-local invoke http://localhost:8000/statefun --target example/counter/ann \\\n"
      "      --arg string:hi --state count=int:41\n"
      "  statefun-local invoke http://localhost:8000/statefun --target example/counter/ann \\\n"
      "      --arg string:hi --register");
  return [options] { return run_invoke(*options); };
}

}  // namespace statefun_local
