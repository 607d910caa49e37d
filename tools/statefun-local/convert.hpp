#pragma once

// `statefun-local decode` (binary protobuf to JSON) and `statefun-local encode` (JSON to binary).

#include <statefun/codec/from_function.hpp>
#include <statefun/codec/to_function.hpp>
#include <statefun/local/protocol_json.hpp>

#include <CLI/CLI.hpp>

#include <functional>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>

#include "cli_support.hpp"

namespace statefun_local {

inline constexpr const char* to_function_kind = "to-function";
inline constexpr const char* from_function_kind = "from-function";

/// Why `bytes` are not a message of this kind ("" if they are one), and its JSON if they are.
template <class View>
std::string try_decode(const std::string& bytes, nlohmann::json& out) {
  View view;
  if (const auto result = view.decode(bytes); !result) {
    return describe(result);
  }
  out = statefun::local::to_json(view);
  return {};
}

// --- decode -----------------------------------------------------------------------------------

struct decode_options {
  std::string as;
  std::string file;
  std::string output;
};

inline int run_decode(const decode_options& options) {
  const input in = read_input(options.file);
  nlohmann::json json;
  try {
    if (options.as == to_function_kind) {
      if (const auto why = try_decode<statefun::codec::invocation_batch_view>(in.bytes, json); !why.empty()) {
        fail(in.name + ": not a ToFunction: " + why);
      }
    } else if (options.as == from_function_kind) {
      if (const auto why = try_decode<statefun::codec::from_function_view>(in.bytes, json); !why.empty()) {
        fail(in.name + ": not a FromFunction: " + why);
      }
    } else {
      // Both messages put their payload in field 100, so try both and say which one fit.
      nlohmann::json request;
      nlohmann::json response;
      const auto not_request = try_decode<statefun::codec::invocation_batch_view>(in.bytes, request);
      const auto not_response = try_decode<statefun::codec::from_function_view>(in.bytes, response);
      if (not_request.empty() && not_response.empty()) {
        fail(in.name + ": ambiguous: the bytes decode both as a ToFunction and as a FromFunction; pass --as " +
             to_function_kind + " or --as " + from_function_kind);
      }
      if (!not_request.empty() && !not_response.empty()) {
        fail(in.name + ": neither a ToFunction (" + not_request + ") nor a FromFunction (" + not_response + ")");
      }
      const bool is_request = not_request.empty();
      std::cerr << "statefun-local: " << in.name << ": decoded as a " << (is_request ? "ToFunction" : "FromFunction")
                << " (it is not a " << (is_request ? "FromFunction: " + not_response : "ToFunction: " + not_request)
                << ")\n";
      json = is_request ? std::move(request) : std::move(response);
    }
  } catch (const std::invalid_argument& e) {  // a string field that is not UTF-8
    fail(in.name + ": " + e.what());
  }
  write_output(options.output, pretty(json), false);
  return exit_ok;
}

inline std::function<int()> add_decode(CLI::App& command) {
  auto options = std::make_shared<decode_options>();
  command.add_option("--as", options->as, "A request or a response (default: whichever the bytes decode as)")
      ->check(CLI::IsMember({to_function_kind, from_function_kind}));
  command.add_option("FILE", options->file, "Binary protobuf to read (default, or -: stdin)")->type_name("");
  command.add_option("-o,--output", options->output, "Where to write the JSON (default, or -: stdout)")
      ->type_name("FILE");
  command.footer(
      "Prints the message as JSON with the field names of request-reply.proto. Values of the\n"
      "built-in types, Kafka and Kinesis egress records and JSON types are shown decoded; other\n"
      "bytes as base64. `statefun-local encode` turns the JSON back into the same bytes.\n\n"
      "Examples:\n"
      "  statefun-local decode request.bin\n"
      "  statefun-local decode --as from-function < response.bin");
  return [options] { return run_decode(*options); };
}

// --- encode -----------------------------------------------------------------------------------

struct encode_options {
  std::string as;
  std::string file;
  std::string output;
};

inline int run_encode(const encode_options& options) {
  const input in = read_input(options.file);
  const nlohmann::json json = parse_json(in.bytes, in.name);
  std::string bytes;
  try {
    bytes = options.as == to_function_kind ? statefun::local::encode_to_function(json)
                                           : statefun::local::encode_from_function(json);
  } catch (const std::invalid_argument& e) {
    fail(in.name + ": " + e.what());
  }
  write_output(options.output, bytes, true);
  return exit_ok;
}

inline std::function<int()> add_encode(CLI::App& command) {
  auto options = std::make_shared<encode_options>();
  command.add_option("--as", options->as, "A request or a response")
      ->required()
      ->check(CLI::IsMember({to_function_kind, from_function_kind}));
  command.add_option("FILE", options->file, "JSON to read, as `decode` prints it (default, or -: stdin)")
      ->type_name("");
  command.add_option("-o,--output", options->output, "Where to write the protobuf (default: stdout, not a terminal)")
      ->type_name("FILE");
  command.footer(
      "Writes canonical protobuf. Errors name the field, e.g.\n"
      "  request.json: invocation.invocations[0].argument.value: expected an integer, got a string\n\n"
      "Examples:\n"
      "  statefun-local encode --as to-function request.json -o request.bin\n"
      "  statefun-local decode request.bin | statefun-local encode --as to-function > again.bin");
  return [options] { return run_encode(*options); };
}

}  // namespace statefun_local
