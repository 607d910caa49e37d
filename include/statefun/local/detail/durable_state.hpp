#pragma once

/// @file
/// What the local runtime keeps per function type and per address, split into the part a
/// snapshot saves (`durable_state`) and the part a restart loses (`function_type`'s registry).

#include <statefun/codec/from_function.hpp>
#include <statefun/local/clock.hpp>
#include <statefun/local/detail/delayed_buffer.hpp>
#include <statefun/local/detail/envelope.hpp>
#include <statefun/local/detail/name_table.hpp>
#include <statefun/local/function_endpoint.hpp>
#include <statefun/local/records.hpp>
#include <statefun/observer.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace statefun::inline v0::local::detail {

/// One state value of one address, with the time its TTL counts from.
struct stored_value {
  std::string bytes;
  clock::time_point touched{};
  bool present = false;
};

/// One address: its state values and its request state machine (docs/runtime_rules.md §2.2, rule 10).
struct address_state {
  std::vector<stored_value> values;  ///< by state slot of the function type
  std::vector<invocation> batch;     ///< the invocations of the request in flight
  std::vector<invocation> backlog;   ///< what arrived meanwhile, in order
  bool in_flight = false;
  bool blocked = false;  ///< the backlog reached `maxNumBatchRequests`: input is paused

  [[nodiscard]] bool holds_nothing() const noexcept {
    if (in_flight || !backlog.empty()) {
      return false;
    }
    for (const auto& v : values) {
      if (v.present) {
        return false;
      }
    }
    return true;
  }
};

/// The addresses of one function type that hold something.
struct type_state {
  string_map<address_state> addresses;
};

/**
 * Everything a snapshot saves, as one value (docs/runtime_rules.md §2.12, rule 24): state values with their
 * TTL timestamps, every address's state machine with its in-flight batch, the delayed messages
 * and their tokens, messages sent and not yet delivered, input positions, and exactly-once
 * egress output not yet published.
 */
struct durable_state {
  std::vector<type_state> types;  ///< by function type number
  delayed_buffer delayed;
  std::deque<envelope> messages;
  std::vector<std::size_t> input_positions;  ///< by input (0: `runtime::send`, then each ingress route)
  std::vector<egress_record> uncommitted;    ///< for exactly-once egresses
};

/// A state the runtime attaches to every request of a function type (docs/runtime_rules.md §2.7).
struct registration {
  std::uint32_t slot = 0;
  std::string type;
  codec::expire_mode mode = codec::expire_mode::none;
  std::chrono::milliseconds ttl{0};
};

/// A function type: its names, where it is reached, and its state registry.
struct function_type {
  std::string name;  ///< `namespace/name`
  std::string namespace_name;
  std::string type;

  function_endpoint* endpoint = nullptr;  ///< found on first use
  int max_batch = 1000;
  std::string endpoint_source;  ///< where its endpoint was configured, for messages

  /// Its events' observer (`runtime_options::observer`), or null.
  local_function_observer* observer = nullptr;
  /// Messages waiting in its addresses' backlogs, as last reported to `observer`.
  std::int64_t backlog = 0;

  /// State names get a slot for good: values stay in their slot while the registry is emptied.
  string_map<std::uint32_t> slots;
  std::vector<std::string> slot_names;
  std::vector<std::string> slot_types;  ///< the type each slot was first registered with

  /// Registered states, in registration order; emptied by a restore (rule 18).
  std::vector<registration> registry;
  std::vector<int> registered;  ///< by slot: index into `registry`, or -1
};

}  // namespace statefun::inline v0::local::detail
