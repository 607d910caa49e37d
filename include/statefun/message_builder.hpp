#pragma once

/// @file
/// `message_to(address).value(v)`: a message for another function (or this one).

#include <statefun/address.hpp>
#include <statefun/detail/encoded_value.hpp>

#include <string>
#include <string_view>
#include <utility>

namespace statefun::inline v0 {

/// A message ready to send with `context::send` or `context::send_after`. It owns its data.
class outgoing_message {
 public:
  /// A message of an encoded value to `target`; `message_to` is the usual way to make one.
  outgoing_message(address target, detail::encoded_value value)
      : target_(std::move(target)), value_(std::move(value)) {}

  /// The receiving function's address.
  [[nodiscard]] const address& target() const noexcept { return target_; }
  /// The value's type name.
  [[nodiscard]] std::string_view value_type() const noexcept { return value_.type(); }
  /// The value's encoded bytes.
  [[nodiscard]] std::string_view value() const noexcept { return value_.bytes(); }

 private:
  address target_;
  detail::encoded_value value_;
};

/// The first half of `message_to(target).value(v)`.
class message_builder {
 public:
  /// @throws std::invalid_argument if the target's id is not valid UTF-8 (it may have been
  ///         changed since the address was made).
  explicit message_builder(address target) : target_(std::move(target)) {
    address::check_id(target_.type, target_.id);
  }

  /**
   * The message, carrying `v` as its StateFun type (string literals travel as strings).
   *
   * **Example**:
   * @code
   * ctx.send(statefun::message_to({"example/user", "ann"}).value(42));
   * @endcode
   */
  template <detail::value_argument V>
  [[nodiscard]] outgoing_message value(const V& v) && {
    return {std::move(target_), detail::encoded_value::of(v)};
  }

  /// The message, carrying `bytes` already encoded as `value_type`.
  [[nodiscard]] outgoing_message raw_value(const type_name& value_type, std::string bytes) && {
    return {std::move(target_), detail::encoded_value::raw(value_type, std::move(bytes))};
  }

 private:
  address target_;
};

/// Starts a message to `target`.
[[nodiscard]] inline message_builder message_to(address target) {
  return message_builder(std::move(target));
}

}  // namespace statefun::inline v0
