#pragma once

// A stand-in for the runtime, just enough for the examples until the local runtime arrives:
// it keeps each address's state, answers the missing-state handshake by registering the states
// and resending, and prints Kafka egress records. It talks to the functions only through the
// protocol bytes, as the real runtime does.

#include <statefun/statefun.hpp>

#include <iostream>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>

namespace example {

class tiny_runtime {
 public:
  explicit tiny_runtime(const statefun::functions& fns) : handler_(fns.handler()) {}

  /// Delivers `value` to `target` from an ingress, and prints the egress records it caused.
  template <class V>
  void deliver(const statefun::address& target, const V& value) {
    const auto argument = statefun::detail::encoded_value::of(value);
    for (;;) {
      statefun::codec::invocation_batch_view request;
      request.target = {target.type.namespace_name(), target.type.name(), target.id};
      auto& stored = state_[target.to_string()];
      for (const auto& [name, typed] : registered_[target.type.str()]) {
        const auto held = stored.find(name);
        const bool has_value = held != stored.end();
        const std::string_view value = has_value ? std::string_view(held->second) : std::string_view{};
        request.states.push_back({name, has_value, {typed, true, value}});
      }
      request.invocations.push_back({std::nullopt, {argument.type(), true, argument.bytes()}});
      std::string bytes;
      request.encode(bytes);
      const auto reply = handler_.handle_sync(bytes);
      if (!reply) {
        throw std::runtime_error(reply.error().message());
      }
      statefun::codec::from_function_view effects;
      if (!effects.decode(*reply)) {
        throw std::runtime_error("the function answered something that is not a FromFunction");
      }
      if (!effects.incomplete) {
        apply(stored, effects);
        return;
      }
      for (const auto& missing : effects.missing_values) {  // register, then resend the batch
        registered_[target.type.str()].emplace(missing.state_name, missing.type_name);
      }
    }
  }

 private:
  static void apply(std::map<std::string, std::string>& stored, const statefun::codec::from_function_view& effects) {
    for (const auto& m : effects.mutations) {
      if (m.type == statefun::codec::mutation_type::modify) {
        stored[std::string(m.state_name)] = m.value.value;
      } else {
        stored.erase(std::string(m.state_name));
      }
    }
    for (const auto& e : effects.egresses) {
      print_kafka_record(e);
    }
  }

  static void print_kafka_record(const statefun::codec::egress_view& e) {
    std::string_view key, value, topic;
    statefun::detail::wire_reader r(e.argument.value);
    statefun::detail::wire_field f;
    while (r.next(f) && r.read_bytes(f.number == 1 ? key : f.number == 2 ? value : topic)) {
    }
    std::cout << e.egress_namespace << '/' << e.egress_type << " topic=" << topic << " key=" << key
              << " value=" << value << '\n';
  }

  statefun::request_reply_handler handler_;
  std::map<std::string, std::map<std::string, std::string>> registered_;  // function type -> state -> type
  std::map<std::string, std::map<std::string, std::string>> state_;       // address -> state -> bytes
};

}  // namespace example
