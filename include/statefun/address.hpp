#pragma once

/// @file
/// `address`: one instance of a function, its function type plus an id.

#include <statefun/type_name.hpp>

#include <string>
#include <string_view>
#include <utility>

namespace statefun::inline v0 {

/**
 * The address of one function instance (a virtual actor): its function type and its id.
 *
 * **Example**:
 * @code
 * statefun::address user{"example/user", "ann"};
 * ctx.send(statefun::message_to(user).value(42));
 * @endcode
 */
struct address {
  type_name type;
  std::string id;

  address(type_name function_type, std::string instance_id)
      : type(std::move(function_type)), id(std::move(instance_id)) {}

  /// `namespace/name/id`, for logs and messages.
  [[nodiscard]] std::string to_string() const {
    std::string text = type.str();
    text.append(1, '/').append(id);
    return text;
  }

  friend bool operator==(const address&, const address&) = default;
};

}  // namespace statefun::inline v0
