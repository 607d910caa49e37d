#pragma once

/// @file
/// `message`: what a function receives, read as the C++ type it was sent as.

#include <statefun/type.hpp>

#include <stdexcept>
#include <string>
#include <string_view>

namespace statefun::inline v0 {

/**
 * A message delivered to a function: a type name and the bytes of a value, or no value.
 *
 * A message is a view into the request; it is valid while the function runs.
 *
 * **Example**:
 * @code
 * if (msg.is<std::string>()) {
 *   auto name = msg.as<std::string>();
 * }
 * @endcode
 */
class message {
 public:
  constexpr message() noexcept = default;
  /// A view of a value's type name and bytes; `has_value` false for a message without a value.
  constexpr message(std::string_view type_name, std::string_view value, bool has_value) noexcept
      : type_name_(type_name), value_(value), has_value_(has_value) {}

  /// The type name the sender gave the value.
  [[nodiscard]] constexpr std::string_view type_name() const noexcept { return type_name_; }
  /// The encoded value, as sent (empty when there is no value).
  [[nodiscard]] constexpr std::string_view raw_value() const noexcept { return value_; }
  /// False when the sender sent no value at all (`has_value = false`).
  [[nodiscard]] constexpr bool has_value() const noexcept { return has_value_; }

  /// True when the message carries a `T` (its type name is `T`'s).
  template <class T>
  [[nodiscard]] bool is() const {
    return type_name_ == type_name_of<T>();
  }

  /**
   * The value, decoded as `T`.
   * @throws statefun::type_mismatch naming both type names if the message is not a `T`.
   * @throws std::logic_error if the message has no value.
   * @throws statefun::decode_error if the bytes are not a valid `T`.
   */
  template <class T>
  [[nodiscard]] T as() const {
    if (!is<T>()) {
      throw type_mismatch("statefun: message of type '" + std::string(type_name_) +
                          "' read as '" + std::string(type_name_of<T>()) + "'");
    }
    if (!has_value_) {
      throw std::logic_error("statefun: message of type '" + std::string(type_name_) +
                             "' has no value");
    }
    return type<T>::decode(value_);
  }

 private:
  std::string_view type_name_;
  std::string_view value_;
  bool has_value_ = false;
};

}  // namespace statefun::inline v0
