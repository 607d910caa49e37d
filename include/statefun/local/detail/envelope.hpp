#pragma once

/// @file
/// The runtime's owned forms of an address, a typed value and a message in flight.

#include <statefun/config.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace statefun::inline v0::local::detail {

/// An address with its function type interned (see `name_table`).
struct address_ref {
  std::uint32_t type = 0;
  std::string id;
  friend bool operator==(const address_ref&, const address_ref&) = default;
};

/// A `TypedValue` with its type name interned.
struct value_ref {
  std::uint32_t type = 0;
  bool has_value = true;
  std::string bytes;
};

/// One `Invocation` waiting for, or inside, a request: who sent it and what.
struct invocation {
  std::optional<address_ref> caller;  ///< absent for ingress messages
  value_ref argument;
};

/// A message on its way to `target`.
struct envelope {
  address_ref target;
  invocation message;
};

}  // namespace statefun::inline v0::local::detail
