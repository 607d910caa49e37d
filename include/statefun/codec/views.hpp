#pragma once

/// @file
/// The building blocks of decoded protocol messages: views into the bytes they were decoded
/// from. A view is valid as long as those bytes are.

#include <statefun/detail/fields.hpp>
#include <statefun/detail/wire.hpp>
#include <statefun/error.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace statefun::inline v0::codec {

/// `Address{namespace, type, id}`.
struct address_view {
  std::string_view namespace_name;
  std::string_view type;
  std::string_view id;

  /// Absent and all-empty addresses mean the same: nobody.
  [[nodiscard]] bool empty() const noexcept {
    return namespace_name.empty() && type.empty() && id.empty();
  }
  friend bool operator==(const address_view&, const address_view&) = default;
};

/// `TypedValue{typename, has_value, value}`.
struct typed_value_view {
  std::string_view type_name;
  bool has_value = false;
  std::string_view value;

  friend bool operator==(const typed_value_view&, const typed_value_view&) = default;
};

/// The outcome of decoding: success, or the first problem and the byte offset it was found at.
struct decode_result {
  errc code{};
  std::size_t offset = 0;

  explicit operator bool() const noexcept { return code == errc{}; }

  /// The same failure as a `statefun::error` (only meaningful when decoding failed).
  [[nodiscard]] error to_error() const {
    return error{code, "at byte " + std::to_string(offset), nullptr};
  }
};

namespace wire {

/// Reads an `Address` payload into `out`, merging into what is there (protobuf semantics for a
/// repeated occurrence of a singular message field).
inline bool read(detail::wire_reader& parent, std::string_view payload, address_view& out) {
  namespace f = detail::fields::address;
  detail::wire_reader r = parent.nested(payload);
  detail::wire_field field;
  while (r.next(field)) {
    switch (field.number) {
      case f::namespace_name:
        if (r.expect(field, detail::wire_type::length_delimited)) {
          r.read_bytes(out.namespace_name);
        }
        break;
      case f::type:
        if (r.expect(field, detail::wire_type::length_delimited)) {
          r.read_bytes(out.type);
        }
        break;
      case f::id:
        if (r.expect(field, detail::wire_type::length_delimited)) {
          r.read_bytes(out.id);
        }
        break;
      default:
        r.skip(field);
    }
  }
  return parent.absorb(r);
}

/// Reads a `TypedValue` payload into `out`, merging into what is there.
inline bool read(detail::wire_reader& parent, std::string_view payload, typed_value_view& out) {
  namespace f = detail::fields::typed_value;
  detail::wire_reader r = parent.nested(payload);
  detail::wire_field field;
  while (r.next(field)) {
    switch (field.number) {
      case f::type_name:
        if (r.expect(field, detail::wire_type::length_delimited)) {
          r.read_bytes(out.type_name);
        }
        break;
      case f::has_value:
        if (r.expect(field, detail::wire_type::varint)) {
          r.read_bool(out.has_value);
        }
        break;
      case f::value:
        if (r.expect(field, detail::wire_type::length_delimited)) {
          r.read_bytes(out.value);
        }
        break;
      default:
        r.skip(field);
    }
  }
  return parent.absorb(r);
}

/// Reads the payload of an embedded-message field of `parent` into `out`.
template <class View>
bool read_message(detail::wire_reader& parent, const detail::wire_field& field, View& out) {
  std::string_view payload;
  return parent.expect(field, detail::wire_type::length_delimited) && parent.read_bytes(payload) &&
         read(parent, payload, out);
}

[[nodiscard]] inline std::size_t size(const address_view& a) noexcept {
  namespace f = detail::fields::address;
  return detail::string_field_size(f::namespace_name, a.namespace_name.size()) +
         detail::string_field_size(f::type, a.type.size()) +
         detail::string_field_size(f::id, a.id.size());
}

[[nodiscard]] inline std::size_t size(const typed_value_view& v) noexcept {
  namespace f = detail::fields::typed_value;
  return detail::string_field_size(f::type_name, v.type_name.size()) +
         detail::bool_field_size(f::has_value, v.has_value) +
         detail::string_field_size(f::value, v.value.size());
}

/// Writes `a` as embedded message field `number`.
inline void write(detail::wire_writer& w, std::uint32_t number, const address_view& a) {
  namespace f = detail::fields::address;
  w.message_header(number, size(a));
  w.string_field(f::namespace_name, a.namespace_name);
  w.string_field(f::type, a.type);
  w.string_field(f::id, a.id);
}

/// Writes `v` as embedded message field `number`.
inline void write(detail::wire_writer& w, std::uint32_t number, const typed_value_view& v) {
  namespace f = detail::fields::typed_value;
  w.message_header(number, size(v));
  w.string_field(f::type_name, v.type_name);
  w.bool_field(f::has_value, v.has_value);
  w.string_field(f::value, v.value);
}

/// Bytes taken by `view` written as embedded message field `number`.
template <class View>
[[nodiscard]] std::size_t field_size(std::uint32_t number, const View& view) noexcept {
  return detail::delimited_size(number, size(view));
}

}  // namespace wire
}  // namespace statefun::inline v0::codec
