#pragma once

// Comparing FromFunction responses as parsed messages, the way the runtime reads them: field
// order and default-valued fields do not matter, and JSON payloads compare as JSON values
// (spacing and key order differ between SDKs), including inside Kafka and Kinesis records.

#include <statefun/codec/from_function.hpp>
#include <statefun/detail/wire.hpp>

#include <nlohmann/json.hpp>

#include <optional>
#include <sstream>
#include <string>
#include <string_view>

namespace statefun::test {

/// The bytes as JSON, if they are JSON.
inline std::optional<nlohmann::json> as_json(std::string_view bytes) {
  auto value = nlohmann::json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    return std::nullopt;
  }
  return value;
}

/// Two payloads are the same bytes, or the same JSON value.
inline bool same_payload(std::string_view a, std::string_view b) {
  if (a == b) {
    return true;
  }
  const auto ja = as_json(a);
  const auto jb = as_json(b);
  return ja && jb && *ja == *jb;
}

/// The fields of an egress record (Kafka or Kinesis), each payload compared with same_payload.
inline bool same_record(std::string_view a, std::string_view b) {
  auto fields = [](std::string_view bytes) {
    std::vector<std::pair<std::uint32_t, std::string_view>> out;
    detail::wire_reader r(bytes);
    detail::wire_field f;
    while (r.next(f)) {
      std::string_view v;
      if (f.type == detail::wire_type::length_delimited && r.read_bytes(v)) {
        out.emplace_back(f.number, v);
      } else {
        r.skip(f);
      }
    }
    return out;
  };
  const auto fa = fields(a);
  const auto fb = fields(b);
  if (fa.size() != fb.size()) {
    return false;
  }
  for (std::size_t i = 0; i < fa.size(); ++i) {
    if (fa[i].first != fb[i].first || !same_payload(fa[i].second, fb[i].second)) {
      return false;
    }
  }
  return true;
}

inline bool same_value(const codec::typed_value_view& a, const codec::typed_value_view& b) {
  if (a.type_name != b.type_name || a.has_value != b.has_value) {
    return false;
  }
  if (a.type_name.ends_with("KafkaProducerRecord") || a.type_name.ends_with("KinesisEgressRecord")) {
    return same_record(a.value, b.value);
  }
  return same_payload(a.value, b.value);
}

/// Describes the first difference between two responses, or returns "" when they are equivalent.
inline std::string difference(const codec::from_function_view& a, const codec::from_function_view& b) {
  std::ostringstream why;
  auto count = [&](const char* what, std::size_t x, std::size_t y) {
    if (x != y) {
      why << what << ": " << x << " vs " << y << "; ";
    }
  };
  if (a.incomplete != b.incomplete) {
    why << "incomplete_invocation_context vs invocation_result; ";
  }
  count("mutations", a.mutations.size(), b.mutations.size());
  count("messages", a.messages.size(), b.messages.size());
  count("delayed", a.delayed.size(), b.delayed.size());
  count("egresses", a.egresses.size(), b.egresses.size());
  count("missing values", a.missing_values.size(), b.missing_values.size());
  if (!why.str().empty()) {
    return why.str();
  }
  for (std::size_t i = 0; i < a.mutations.size(); ++i) {
    const auto& x = a.mutations[i];
    const auto& y = b.mutations[i];
    if (x.type != y.type || x.state_name != y.state_name ||
        (x.type == codec::mutation_type::modify && !same_value(x.value, y.value))) {
      why << "mutation " << i << " (" << x.state_name << ") differs; ";
    }
  }
  for (std::size_t i = 0; i < a.messages.size(); ++i) {
    if (a.messages[i].target != b.messages[i].target ||
        !same_value(a.messages[i].argument, b.messages[i].argument)) {
      why << "message " << i << " differs; ";
    }
  }
  for (std::size_t i = 0; i < a.delayed.size(); ++i) {
    const auto& x = a.delayed[i];
    const auto& y = b.delayed[i];
    if (x.is_cancellation != y.is_cancellation || x.delay_ms != y.delay_ms || x.target != y.target ||
        x.cancellation_token != y.cancellation_token || !same_value(x.argument, y.argument)) {
      why << "delayed " << i << " differs; ";
    }
  }
  for (std::size_t i = 0; i < a.egresses.size(); ++i) {
    const auto& x = a.egresses[i];
    const auto& y = b.egresses[i];
    if (x.egress_namespace != y.egress_namespace || x.egress_type != y.egress_type ||
        !same_value(x.argument, y.argument)) {
      why << "egress " << i << " (" << x.egress_type << ") differs; ";
    }
  }
  for (std::size_t i = 0; i < a.missing_values.size(); ++i) {
    if (a.missing_values[i] != b.missing_values[i]) {
      why << "missing value " << i << " (" << a.missing_values[i].state_name << ") differs; ";
    }
  }
  return why.str();
}

}  // namespace statefun::test
