#pragma once

// Turning whatever a user passes as a value into a StateFun type name plus bytes.

#include <statefun/type.hpp>

#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace statefun::inline v0::detail {

/// The typed C++ type a value is sent as: string literals and `const char*` go as strings.
template <class V>
using sent_as_t = std::conditional_t<std::is_convertible_v<const std::decay_t<V>&, const char*>,
                                     std::string_view, std::decay_t<V>>;

/// A value passed to a send call: string literals, `const char*`, or any typed type. A null
/// pointer converts to `const char*` but is no string, so it is refused at compile time.
template <class V>
concept sendable = !std::is_null_pointer_v<std::decay_t<V>> && typed<sent_as_t<V>>;

/// What a send call takes: anything but a null pointer. A type that is not typed gets there,
/// and `statefun::type`'s template then stops the compilation with one error that says how to
/// make it typed (instead of a list of the constraints it failed).
template <class V>
concept value_argument = !std::is_null_pointer_v<std::decay_t<V>>;

/// A value already encoded, with its type name.
class encoded_value {
 public:
  encoded_value() = default;

  /// Encodes `value` as its StateFun type.
  template <value_argument V>
  static encoded_value of(const V& value) {
    using T = sent_as_t<V>;
    encoded_value encoded;
    statefun::type<T>::encode(static_cast<const T&>(value), encoded.bytes_);
    encoded.static_type_ = type_name_of<T>();
    return encoded;
  }

  /// Bytes already encoded as `value_type`.
  static encoded_value raw(const type_name& value_type, std::string bytes) {
    encoded_value encoded;
    encoded.owned_type_ = value_type.str();
    encoded.bytes_ = std::move(bytes);
    return encoded;
  }

  /// Bytes under a type name that lives for the whole program (a built-in egress record).
  static encoded_value with_static_type(std::string_view static_type, std::string bytes) {
    encoded_value encoded;
    encoded.static_type_ = static_type;
    encoded.bytes_ = std::move(bytes);
    return encoded;
  }

  [[nodiscard]] std::string_view type() const noexcept {
    return owned_type_.empty() ? static_type_ : std::string_view(owned_type_);
  }
  [[nodiscard]] std::string_view bytes() const noexcept { return bytes_; }

 private:
  // Typed values name their type with a string that lives for the whole program, so only
  // raw values need to own theirs (and a message costs no allocation for its type name).
  std::string_view static_type_;
  std::string owned_type_;
  std::string bytes_;
};

}  // namespace statefun::inline v0::detail
