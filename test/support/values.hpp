#pragma once

// Value helpers shared by the tests: encoding a typed value to bytes and back, and the JSON
// type `vec/User` that the official vectors use.

#include <statefun/json.hpp>
#include <statefun/type.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace statefun::test {

/// The bytes `value` encodes to as its StateFun type.
template <typed T>
std::string encode(const T& value) {
  std::string out;
  type<T>::encode(value, out);
  return out;
}

/// `bytes` decoded as a `T`.
template <typed T>
T decode(std::string_view bytes) {
  return type<T>::decode(bytes);
}

/// The vectors' JSON type `vec/User`.
struct user {
  std::string name;
  std::int32_t credit = 0;
  friend bool operator==(const user&, const user&) = default;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(user, name, credit)

}  // namespace statefun::test

STATEFUN_JSON_TYPE(statefun::test::user, "vec/User");
