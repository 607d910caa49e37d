#pragma once

/// @file
/// JSON value types through nlohmann/json: any `T` that nlohmann can convert travels as UTF-8
/// JSON under a type name you choose.

#include <statefun/type.hpp>

#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

namespace statefun::inline v0 {

/**
 * The encode/decode half of a JSON value type; the specialisation adds `name()`.
 *
 * **Example**:
 * @code
 * struct user { std::string name; int credit; };
 * NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(user, name, credit)
 * STATEFUN_JSON_TYPE(user, "example/User");   // at global scope
 *
 * struct checkout {};                           // no fields: travels as {}
 * STATEFUN_JSON_TYPE(checkout, "example/Checkout");
 * @endcode
 */
template <class T>
struct json_type {
  /// A message with no fields (`struct checkout {};`), which nlohmann's macros cannot describe,
  /// travels as `{}` and reads from any object.
  static constexpr bool fieldless = std::is_empty_v<T> && !std::is_constructible_v<nlohmann::json, const T&>;

  /// @throws std::invalid_argument if the value does not convert to JSON (e.g. invalid UTF-8).
  static void encode(const T& value, std::string& out) {
    if constexpr (fieldless) {
      out += "{}";
    } else {
      try {
        out += nlohmann::json(value).dump();
      } catch (const nlohmann::json::exception& e) {
        throw std::invalid_argument("statefun: value cannot be written as JSON: " + std::string(e.what()));
      }
    }
  }

  /// @throws statefun::decode_error if `bytes` are not JSON or do not convert to `T`.
  static T decode(std::string_view bytes) {
    try {
      const auto json = nlohmann::json::parse(bytes);
      if constexpr (fieldless) {
        if (!json.is_object()) {
          throw decode_error("statefun: malformed JSON value: expected an object, got " + std::string(json.type_name()));
        }
        return T{};
      } else {
        return json.template get<T>();
      }
    } catch (const nlohmann::json::exception& e) {
      throw decode_error("statefun: malformed JSON value: " + std::string(e.what()));
    }
  }
};

}  // namespace statefun::inline v0

/// Declares `Type` a JSON value type named `Name` (`"namespace/name"`). Use at global scope.
#define STATEFUN_JSON_TYPE(Type, Name)                                 \
  template <>                                                          \
  struct statefun::type<Type> : statefun::json_type<Type> {            \
    static constexpr std::string_view name() noexcept { return Name; } \
  }
