#pragma once

/// @file
/// Value types: how a C++ type travels through StateFun (a type name plus bytes).
///
/// A C++ type `T` is *typed* when `statefun::type<T>` is specialised with
/// - `static std::string_view name()`: its StateFun type name (`namespace/name`);
/// - `static void encode(const T&, std::string& out)`: appends its bytes to `out`;
/// - `static T decode(std::string_view bytes)`: reads it back, throwing on malformed bytes.
///
/// The six built-ins (`bool`, `std::int32_t`, `std::int64_t`, `float`, `double`, `std::string`)
/// use StateFun's wrapper messages, byte for byte as the official SDKs write them.
/// `json.hpp` and `protobuf.hpp` add the two common families of user types.

#include <statefun/detail/utf8.hpp>
#include <statefun/detail/wire.hpp>
#include <statefun/type_name.hpp>

#include <bit>
#include <concepts>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

namespace statefun::inline v0 {

namespace detail {

/// The interface of a protobuf message (`google::protobuf::MessageLite`), recognised without
/// protobuf's headers: what `protobuf.hpp` makes typed.
template <class M>
concept protobuf_interface =
    std::default_initializable<M> &&
    requires(const M& message, M& target, std::string* out, const void* data, int size) {
      { message.AppendToString(out) } -> std::convertible_to<bool>;
      { target.ParseFromArray(data, size) } -> std::convertible_to<bool>;
      { message.GetTypeName() } -> std::convertible_to<std::string>;
    };

template <class T>
consteval bool report_untyped();

}  // namespace detail

/**
 * Specialise for each C++ type that StateFun should carry (see the file comment).
 *
 * The template itself is what a type that is not typed gets: using it stops the compilation
 * with a `static_assert` that says how to make the type typed (`typed<T>` stays false).
 */
template <class T>
struct type {
  /// Marks the unspecialised template.
  using statefun_unspecialised = void;
  /// Not a StateFun type: a compile error.
  static std::string_view name() {
    static_assert(detail::report_untyped<T>());
    return {};
  }
  // Templates, so that the class can be made for any T (an array, a function, void) when a
  // concept asks about it.
  /// Not a StateFun type: a compile error.
  template <class U>
  static void encode(const U&, std::string&) {
    static_assert(detail::report_untyped<T>());
  }
  /// Not a StateFun type: a compile error.
  template <class U = T>
  static U decode(std::string_view) {
    static_assert(detail::report_untyped<T>());
    std::abort();
  }
};

/// `T` can be stored in state and sent in messages.
template <class T>
concept typed = !requires { typename type<T>::statefun_unspecialised; } &&
                requires(const T& value, std::string& out, std::string_view bytes) {
                  { type<T>::name() } -> std::convertible_to<std::string_view>;
                  type<T>::encode(value, out);
                  { type<T>::decode(bytes) } -> std::same_as<T>;
                };

namespace detail {

/// Stops the compilation at one error that says how to make `T` typed (docs/types.md,
/// "Compile errors"). Constant-evaluated once per `T`, so each type is reported once; true for a typed `T`.
template <class T>
consteval bool report_untyped() {
  // Plain bools, not the concepts: a failed concept in a static_assert makes the compilers
  // explain its constraints, and that is the noise these messages replace.
  constexpr bool ok = typed<T>;
  constexpr bool protobuf = protobuf_interface<T>;
  constexpr bool arithmetic = std::is_arithmetic_v<T>;
  static_assert(ok || !protobuf,
                "statefun: this type is a protobuf message, and protobuf messages are statefun value types "
                "only with #include <statefun/protobuf.hpp> (before the code that sends or stores it)");
  static_assert(ok || !arithmetic,
                "statefun: this arithmetic type is not a StateFun type: the built-in ones are bool, "
                "std::int32_t, std::int64_t, float and double (and std::string); convert to one of those");
  static_assert(ok || protobuf || arithmetic,
                "statefun: this type has no statefun::type<T>, so it cannot be sent or stored: "
                "specialise statefun::type<T> (name, encode, decode: see <statefun/type.hpp>), or "
                "#include <statefun/json.hpp> and declare STATEFUN_JSON_TYPE(T, \"namespace/Name\") "
                "at global scope, or for a protobuf message #include <statefun/protobuf.hpp>");
  return true;
}

}  // namespace detail

/// Bytes that are not a valid encoding of the type they claim to be.
class decode_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A value read as a type whose type name differs from the one it carries.
class type_mismatch : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The type name of `T`, validated once per type.
template <class T>
[[nodiscard]] std::string_view type_name_of() {
  static const std::string_view name = [] {
    const std::string_view n = type<T>::name();
    type_name::check(n);
    return n;
  }();
  return name;
}

namespace detail {

/// Reads field 1 of a wrapper message with `read`, leniently: unknown fields are skipped and
/// the last occurrence wins, as protobuf parsers do.
template <class Read>
void read_wrapper(std::string_view bytes, wire_type expected, std::string_view type_name,
                  Read&& read) {
  wire_reader reader(bytes);
  wire_field field;
  while (reader.next(field)) {
    if (field.number == 1) {
      if (reader.expect(field, expected)) {
        read(reader);
      }
    } else {
      reader.skip(field);
    }
  }
  if (reader.failed()) {
    throw decode_error("statefun: malformed " + std::string(type_name) + " value: " +
                       make_error_code(reader.error()).message() + " at byte " +
                       std::to_string(reader.error_offset()));
  }
}

template <class Unsigned>
void write_fixed_wrapper(Unsigned bits, std::string& out) {
  // proto3 leaves a zero field out, so zero (but not -0.0) encodes as no bytes at all.
  if (bits != 0) {
    // Key and value in one append: this runs for every int or long a function stores.
    constexpr auto wire = sizeof(Unsigned) == 4 ? wire_type::fixed32 : wire_type::fixed64;
    char bytes[1 + sizeof(Unsigned)];
    bytes[0] = static_cast<char>((1u << 3) | static_cast<unsigned>(wire));
    for (std::size_t i = 0; i < sizeof(Unsigned); ++i) {
      bytes[1 + i] = static_cast<char>(static_cast<unsigned char>(bits >> (8 * i)));
    }
    out.append(bytes, sizeof bytes);
  }
}

template <class Unsigned>
Unsigned read_fixed_wrapper(std::string_view bytes, std::string_view type_name) {
  Unsigned bits = 0;
  // What every SDK writes: exactly field 1 once. Anything else takes the general path.
  if (bytes.size() == 1 + sizeof(Unsigned) && bytes[0] == (sizeof(Unsigned) == 4 ? '\x0D' : '\x09')) {
    for (std::size_t i = 0; i < sizeof(Unsigned); ++i) {
      bits |= static_cast<Unsigned>(static_cast<unsigned char>(bytes[1 + i])) << (8 * i);
    }
    return bits;
  }
  constexpr auto wire = sizeof(Unsigned) == 4 ? wire_type::fixed32 : wire_type::fixed64;
  read_wrapper(bytes, wire, type_name, [&](wire_reader& r) {
    if constexpr (sizeof(Unsigned) == 4) {
      r.read_fixed32(bits);
    } else {
      r.read_fixed64(bits);
    }
  });
  return bits;
}

}  // namespace detail

/// `io.statefun.types/bool`: BooleanWrapper (`08 01` for true, no bytes for false).
template <>
struct type<bool> {
  /// `io.statefun.types/bool`.
  static constexpr std::string_view name() noexcept { return "io.statefun.types/bool"; }
  /// Appends the BooleanWrapper of `value` to `out`.
  static void encode(bool value, std::string& out) {
    detail::wire_writer(out, detail::bool_field_size(1, value)).bool_field(1, value);
  }
  /// Reads a BooleanWrapper. @throws statefun::decode_error if the bytes are malformed.
  static bool decode(std::string_view bytes) {
    bool value = false;
    detail::read_wrapper(bytes, detail::wire_type::varint, name(),
                         [&](detail::wire_reader& r) { r.read_bool(value); });
    return value;
  }
};

/// `io.statefun.types/int`: IntWrapper, an `sfixed32` (`0d` + 4 bytes little-endian).
template <>
struct type<std::int32_t> {
  /// `io.statefun.types/int`.
  static constexpr std::string_view name() noexcept { return "io.statefun.types/int"; }
  /// Appends the IntWrapper of `value` to `out`.
  static void encode(std::int32_t value, std::string& out) {
    detail::write_fixed_wrapper(static_cast<std::uint32_t>(value), out);
  }
  /// Reads an IntWrapper. @throws statefun::decode_error if the bytes are malformed.
  static std::int32_t decode(std::string_view bytes) {
    return static_cast<std::int32_t>(detail::read_fixed_wrapper<std::uint32_t>(bytes, name()));
  }
};

/// `io.statefun.types/long`: LongWrapper, an `sfixed64` (`09` + 8 bytes little-endian).
template <>
struct type<std::int64_t> {
  /// `io.statefun.types/long`.
  static constexpr std::string_view name() noexcept { return "io.statefun.types/long"; }
  /// Appends the LongWrapper of `value` to `out`.
  static void encode(std::int64_t value, std::string& out) {
    detail::write_fixed_wrapper(static_cast<std::uint64_t>(value), out);
  }
  /// Reads a LongWrapper. @throws statefun::decode_error if the bytes are malformed.
  static std::int64_t decode(std::string_view bytes) {
    return static_cast<std::int64_t>(detail::read_fixed_wrapper<std::uint64_t>(bytes, name()));
  }
};

/// `io.statefun.types/float`: FloatWrapper (`0d` + IEEE-754 little-endian; -0.0 is kept).
template <>
struct type<float> {
  /// `io.statefun.types/float`.
  static constexpr std::string_view name() noexcept { return "io.statefun.types/float"; }
  /// Appends the FloatWrapper of `value` to `out`.
  static void encode(float value, std::string& out) {
    detail::write_fixed_wrapper(std::bit_cast<std::uint32_t>(value), out);
  }
  /// Reads a FloatWrapper. @throws statefun::decode_error if the bytes are malformed.
  static float decode(std::string_view bytes) {
    return std::bit_cast<float>(detail::read_fixed_wrapper<std::uint32_t>(bytes, name()));
  }
};

/// `io.statefun.types/double`: DoubleWrapper (`09` + IEEE-754 little-endian; -0.0 is kept).
template <>
struct type<double> {
  /// `io.statefun.types/double`.
  static constexpr std::string_view name() noexcept { return "io.statefun.types/double"; }
  /// Appends the DoubleWrapper of `value` to `out`.
  static void encode(double value, std::string& out) {
    detail::write_fixed_wrapper(std::bit_cast<std::uint64_t>(value), out);
  }
  /// Reads a DoubleWrapper. @throws statefun::decode_error if the bytes are malformed.
  static double decode(std::string_view bytes) {
    return std::bit_cast<double>(detail::read_fixed_wrapper<std::uint64_t>(bytes, name()));
  }
};

/// `io.statefun.types/string` read without a copy: the view points into the message it came
/// from and lives as long as that message. Use it for reading messages and for sending.
///
/// The wrapper's field is a protobuf `string`: UTF-8 only, both ways (the other SDKs' protobuf
/// parsers refuse anything else).
template <>
struct type<std::string_view> {
  /// `io.statefun.types/string`.
  static constexpr std::string_view name() noexcept { return "io.statefun.types/string"; }
  /// @throws std::invalid_argument if `value` is not valid UTF-8.
  static void encode(std::string_view value, std::string& out) {
    detail::require_utf8(value, "the io.statefun.types/string value");
    detail::wire_writer(out, detail::string_field_size(1, value.size())).string_field(1, value);
  }
  /// @throws statefun::decode_error if the bytes are malformed or the text is not UTF-8.
  static std::string_view decode(std::string_view bytes) {
    std::string_view value;
    detail::read_wrapper(bytes, detail::wire_type::length_delimited, name(),
                         [&](detail::wire_reader& r) { r.read_bytes(value); });
    if (!detail::is_valid_utf8(value)) {
      throw decode_error("statefun: malformed io.statefun.types/string value: not valid UTF-8 at byte " +
                         std::to_string(detail::first_invalid_utf8(value)) + " of the text");
    }
    return value;
  }
};

/// `io.statefun.types/string`: StringWrapper (`0a` + varint length + UTF-8).
template <>
struct type<std::string> {
  /// `io.statefun.types/string`.
  static constexpr std::string_view name() noexcept { return "io.statefun.types/string"; }
  /// Appends the StringWrapper of `value` to `out`. @throws std::invalid_argument if not UTF-8.
  static void encode(const std::string& value, std::string& out) {
    type<std::string_view>::encode(value, out);
  }
  /// Reads a StringWrapper. @throws statefun::decode_error if malformed or not UTF-8.
  static std::string decode(std::string_view bytes) {
    return std::string(type<std::string_view>::decode(bytes));
  }
};

}  // namespace statefun::inline v0
