#pragma once

/// @file
/// `statefun::testing::typed_value`: a value a function sent, owned and read as its C++ type.

#include <statefun/config.hpp>
#include <statefun/detail/encoded_value.hpp>
#include <statefun/message.hpp>
#include <statefun/type.hpp>

#include <string>
#include <string_view>
#include <utility>

namespace statefun::inline v0::testing {

/// A StateFun typed value (a type name and the encoded bytes), owned; read it with `as<T>()`.
class typed_value {
 public:
  /// No value at all.
  typed_value() = default;
  /// `bytes` encoded as `type`.
  typed_value(std::string type, std::string bytes, bool has_value = true)
      : type_(std::move(type)), bytes_(std::move(bytes)), has_value_(has_value) {}

  /// `v` encoded as its StateFun type (string literals as strings).
  template <statefun::detail::sendable V>
  [[nodiscard]] static typed_value of(const V& v) {
    const auto encoded = statefun::detail::encoded_value::of(v);
    return {std::string(encoded.type()), std::string(encoded.bytes())};
  }

  /// The type name the value was sent as.
  [[nodiscard]] std::string_view type_name() const noexcept { return type_; }
  /// The encoded bytes.
  [[nodiscard]] std::string_view bytes() const noexcept { return bytes_; }
  /// False for a message sent without a value.
  [[nodiscard]] bool has_value() const noexcept { return has_value_; }

  /// True when the value is a `T` (its type name is `T`'s).
  template <typed T>
  [[nodiscard]] bool is() const {
    return type_ == type_name_of<T>();
  }

  /**
   * The value decoded as `T`.
   * @throws statefun::type_mismatch naming both type names if it is not a `T`.
   * @throws statefun::decode_error if the bytes are not a valid `T`.
   */
  template <typed T>
  [[nodiscard]] T as() const {
    return view().as<T>();
  }

  /// The value as a function receives it (valid while this value lives).
  [[nodiscard]] statefun::message view() const noexcept { return {type_, bytes_, has_value_}; }

  /// Same type name, same bytes.
  friend bool operator==(const typed_value&, const typed_value&) = default;

 private:
  std::string type_;
  std::string bytes_;
  bool has_value_ = false;
};

}  // namespace statefun::inline v0::testing
