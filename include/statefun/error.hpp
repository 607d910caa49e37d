#pragma once

/// @file
/// Error codes for the data plane: what can go wrong with a request that is not a bug in the
/// caller. Such errors travel as values (`statefun::expected<T, statefun::error>`), never as
/// exceptions through a transport.

#include <statefun/config.hpp>

#include <exception>
#include <string>
#include <system_error>

namespace statefun::inline v0 {

/// Why a request could not be answered.
enum class errc {
  /// The bytes end inside a field: a tag, a varint or a fixed-width value is cut short.
  truncated = 1,
  /// A varint runs past ten bytes, or does not fit the field it is read into.
  malformed_varint,
  /// A field uses a wire type that proto3 does not allow (groups, or the reserved types 6 and
  /// 7). (A known field that arrives with another allowed wire type, such as a string sent as a
  /// varint, is skipped as an unknown field, as protobuf parsers do.)
  wrong_wire_type,
  /// A length-delimited field claims more bytes than are left in its enclosing message.
  length_past_end,
  /// A tag carries field number 0, which protobuf forbids.
  invalid_field_number,
  /// A `ToFunction` without an invocation batch (its only request kind).
  missing_invocation_batch,
  /// An invocation batch without a target address, or with an empty namespace or type.
  missing_target,
  /// An address (target or caller) whose namespace or type is empty or holds a `/`.
  invalid_address,
  /// The target's function type is not bound in the `functions` registry.
  unknown_function,
  /// The user's function threw; the exception is kept in `error::exception`.
  function_failed,
  /// A `FromFunction` state mutation with a mutation type other than DELETE or MODIFY.
  invalid_mutation_type,
  /// A protobuf `string` field (an address, a type name, a state name, a token...) that is not
  /// well-formed UTF-8, which protobuf-java (the runtime's parser) refuses.
  invalid_utf8,
};

/// The `std::error_category` of `statefun::errc`.
inline const std::error_category& error_category() noexcept {
  struct category final : std::error_category {
    const char* name() const noexcept override { return "statefun"; }
    std::string message(int value) const override {
      switch (static_cast<errc>(value)) {
        case errc::truncated: return "truncated protobuf message";
        case errc::malformed_varint: return "malformed varint";
        case errc::wrong_wire_type: return "unexpected protobuf wire type";
        case errc::length_past_end: return "length-delimited field runs past the end of its message";
        case errc::invalid_field_number: return "protobuf field number 0";
        case errc::missing_invocation_batch: return "ToFunction carries no invocation batch";
        case errc::missing_target: return "invocation batch has no target address";
        case errc::invalid_address: return "malformed address";
        case errc::unknown_function: return "unknown function type";
        case errc::function_failed: return "function failed";
        case errc::invalid_mutation_type: return "unknown state mutation type";
        case errc::invalid_utf8: return "protobuf string field is not valid UTF-8";
      }
      return "unknown statefun error";
    }
  };
  static const category instance;
  return instance;
}

/// Makes `errc` usable as a `std::error_code`.
inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

/// A failed request: the code, what it concerns, and the user's exception if one was thrown.
struct error {
  /// What went wrong.
  errc code{};
  /// What the code is about, e.g. the unknown function's type name or the exception's `what()`.
  std::string detail{};
  /// Set when `code == errc::function_failed`: what the user's function threw.
  std::exception_ptr exception{};
  /// The bound function type the request was for (`namespace/name`), for logs and metrics;
  /// empty when the request named none (undecodable, an unknown type: `detail` has its name).
  std::string function_type{};

  /// A one-line reason suitable for a log line or an HTTP 500 body.
  [[nodiscard]] std::string message() const {
    std::string text = make_error_code(code).message();
    if (!detail.empty()) {
      text += ": ";
      text += detail;
    }
    return text;
  }

  /// True when `a` has the code `b`: `if (result.error() == statefun::errc::unknown_function)`.
  friend bool operator==(const error& a, errc b) noexcept { return a.code == b; }
};

}  // namespace statefun::inline v0

template <>
struct std::is_error_code_enum<statefun::errc> : std::true_type {};
