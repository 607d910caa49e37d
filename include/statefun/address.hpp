#pragma once

/// @file
/// `address`: one instance of a function, its function type plus an id.

#include <statefun/detail/utf8.hpp>
#include <statefun/type_name.hpp>

#include <string>
#include <string_view>
#include <utility>

namespace statefun::inline v0 {

/**
 * The address of one function instance (a virtual actor): its function type and its id.
 *
 * Any UTF-8 text is an id, the empty one included: the runtime routes a Kafka record with an
 * empty key to id "". An id that is not UTF-8 is refused: the runtime could not read a response
 * that names it.
 *
 * **Example**:
 * @code
 * statefun::address user{"example/user", "ann"};
 * ctx.send(statefun::message_to(user).value(42));
 * @endcode
 */
struct address {
  /// The function type (`namespace/name`).
  type_name type;
  /// The instance id within the function type: any UTF-8 text, the key of its state.
  std::string id;

  /// @throws std::invalid_argument if `instance_id` is not valid UTF-8.
  address(type_name function_type, std::string instance_id)
      : type(std::move(function_type)), id(std::move(instance_id)) {
    check_id(type, id);
  }

  /// Throws `std::invalid_argument`, naming the function type, if `id` is not valid UTF-8.
  static void check_id(const type_name& function_type, std::string_view id) {
    detail::require_utf8(id, [&function_type] { return "the id of an address of '" + function_type.str() + "'"; });
  }

  /// `namespace/name/id`, for logs and messages.
  [[nodiscard]] std::string to_string() const {
    std::string text = type.str();
    text.append(1, '/').append(id);
    return text;
  }

  /// Equal when the function type and the id are.
  friend bool operator==(const address&, const address&) = default;
};

}  // namespace statefun::inline v0
