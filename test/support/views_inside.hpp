#pragma once

// Checking that decoded views point into the bytes they were decoded from: the codec copies
// nothing, and reads nothing outside its input.

#include <statefun/codec/from_function.hpp>
#include <statefun/codec/to_function.hpp>

#include <functional>
#include <string_view>

namespace statefun::test {

/// True when `view` lies within `buffer` (an empty view is anywhere).
inline bool inside(std::string_view buffer, std::string_view view) {
  if (view.empty()) {
    return true;
  }
  // std::less_equal orders unrelated pointers too, where <= would be unspecified.
  const std::less_equal<const char*> le;
  return le(buffer.data(), view.data()) && le(view.data() + view.size(), buffer.data() + buffer.size());
}

inline bool inside(std::string_view buffer, const codec::address_view& a) {
  return inside(buffer, a.namespace_name) && inside(buffer, a.type) && inside(buffer, a.id);
}

inline bool inside(std::string_view buffer, const codec::typed_value_view& v) {
  return inside(buffer, v.type_name) && inside(buffer, v.value);
}

/// Every view of a decoded ToFunction lies within `buffer`.
inline bool all_inside(std::string_view buffer, const codec::invocation_batch_view& batch) {
  bool ok = inside(buffer, batch.target);
  for (const auto& s : batch.states) {
    ok = ok && inside(buffer, s.name) && inside(buffer, s.value);
  }
  for (const auto& i : batch.invocations) {
    ok = ok && (!i.caller || inside(buffer, *i.caller)) && inside(buffer, i.argument);
  }
  return ok;
}

/// Every view of a decoded FromFunction lies within `buffer`.
inline bool all_inside(std::string_view buffer, const codec::from_function_view& r) {
  bool ok = true;
  for (const auto& m : r.mutations) {
    ok = ok && inside(buffer, m.state_name) && inside(buffer, m.value);
  }
  for (const auto& m : r.messages) {
    ok = ok && inside(buffer, m.target) && inside(buffer, m.argument);
  }
  for (const auto& d : r.delayed) {
    ok = ok && inside(buffer, d.target) && inside(buffer, d.argument) && inside(buffer, d.cancellation_token);
  }
  for (const auto& e : r.egresses) {
    ok = ok && inside(buffer, e.egress_namespace) && inside(buffer, e.egress_type) && inside(buffer, e.argument);
  }
  for (const auto& m : r.missing_values) {
    ok = ok && inside(buffer, m.state_name) && inside(buffer, m.type_name);
  }
  return ok;
}

}  // namespace statefun::test
