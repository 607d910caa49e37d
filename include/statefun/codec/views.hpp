#pragma once

/// @file
/// The building blocks of decoded protocol messages: views into the bytes they were decoded
/// from. A view is valid as long as those bytes are.

#include <statefun/detail/fields.hpp>
#include <statefun/detail/utf8.hpp>
#include <statefun/detail/wire.hpp>
#include <statefun/error.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace statefun::inline v0::codec {

/// `Address{namespace, type, id}`.
struct address_view {
  /// `namespace`.
  std::string_view namespace_name;
  /// `type`: the function type's name within the namespace.
  std::string_view type;
  /// `id`.
  std::string_view id;

  /// Absent and all-empty addresses mean the same: nobody.
  [[nodiscard]] bool empty() const noexcept {
    return namespace_name.empty() && type.empty() && id.empty();
  }
  /// Field-wise equality.
  friend bool operator==(const address_view&, const address_view&) = default;
};

/// `TypedValue{typename, has_value, value}`.
struct typed_value_view {
  /// `typename`.
  std::string_view type_name;
  /// `has_value`: false for a value that is absent (not the same as empty bytes).
  bool has_value = false;
  /// `value`: the encoded bytes.
  std::string_view value;

  /// Field-wise equality.
  friend bool operator==(const typed_value_view&, const typed_value_view&) = default;
};

/// The outcome of decoding: success, or the first problem and the byte offset it was found at.
struct decode_result {
  /// What failed; `errc{}` on success.
  errc code{};
  /// The byte offset in the input where the problem was found.
  std::size_t offset = 0;
  /// The field concerned, when known (a string that is not UTF-8), e.g. "target.id".
  const char* field = nullptr;

  /// True on success.
  explicit operator bool() const noexcept { return code == errc{}; }

  /// The same failure as a `statefun::error` (only meaningful when decoding failed).
  [[nodiscard]] error to_error() const {
    std::string where = field != nullptr ? std::string(field) + " at byte " : "at byte ";
    return error{code, where + std::to_string(offset), nullptr};
  }
};

namespace wire {

/// Finds the first of several strings (views into `bytes`) that is not UTF-8.
class utf8_check {
 public:
  /// Checks strings that are views into `bytes` (the offsets are reported relative to it).
  explicit utf8_check(std::string_view bytes) noexcept : bytes_(bytes) {}

  /// Checks `text`, the field `field`, unless an earlier one failed. @return still valid.
  [[gnu::always_inline]] bool operator()(std::string_view text, const char* field) noexcept {
    if (result_.field == nullptr && !statefun::detail::is_valid_utf8(text)) {
      result_ = {errc::invalid_utf8,
                 static_cast<std::size_t>(text.data() - bytes_.data()) + statefun::detail::first_invalid_utf8(text),
                 field};
    }
    return result_.field == nullptr;
  }

  /// Success, or the first invalid string: its field and the offset of its first bad byte.
  [[nodiscard]] const decode_result& result() const noexcept { return result_; }

 private:
  std::string_view bytes_;
  decode_result result_{};
};

}  // namespace wire

namespace wire {

/**
 * Walks the fields of the embedded message `payload` of `parent`. `each(reader, field)` reads a
 * field it knows, or returns false to have an unknown field skipped. A failure inside becomes
 * the failure of `parent`.
 */
template <class Each>
bool walk(detail::wire_reader& parent, std::string_view payload, Each&& each) {
  detail::wire_reader r = parent.nested(payload);
  detail::wire_field field;
  while (r.next(field)) {
    if (!each(r, field) && !r.failed()) {
      r.skip(field);
    }
  }
  return parent.absorb(r);
}

/// Walks the embedded message held by field `at` of `parent` (see `walk`).
template <class Each>
bool walk_field(detail::wire_reader& parent, const detail::wire_field& at, Each&& each) {
  std::string_view payload;
  return parent.accept(at, detail::wire_type::length_delimited) && parent.read_bytes(payload) &&
         walk(parent, payload, std::forward<Each>(each));
}

/**
 * The fast path for what every SDK writes: reads `payload` if its fields appear in field order,
 * each at most once, with one-byte keys (`keys`, in order) and one-byte lengths or varints.
 * `store(i, bytes)` keeps field i (for a varint, `bytes` is its one byte). Returns false as
 * soon as the payload looks any different; the caller then walks it from the start, and what
 * was stored is simply stored again (the last occurrence of a field wins).
 */
template <std::size_t N, class Store>
[[gnu::always_inline]] inline bool read_in_order(std::string_view payload, const unsigned char (&keys)[N],
                                                  Store&& store) {
  const auto* p = reinterpret_cast<const unsigned char*>(payload.data());
  const auto* const end = p + payload.size();
  for (std::size_t i = 0; i < N && p != end; ++i) {
    if (*p != keys[i]) {
      continue;  // field i is absent (proto3 leaves default values out)
    }
    if (end - p < 2 || p[1] >= 0x80) {
      return false;
    }
    if ((keys[i] & 7u) == 0) {  // a one-byte varint
      store(i, std::string_view(reinterpret_cast<const char*>(p + 1), 1));
      p += 2;
      continue;
    }
    const std::size_t length = p[1];
    if (length > static_cast<std::size_t>(end - p - 2)) {
      return false;
    }
    store(i, std::string_view(reinterpret_cast<const char*>(p + 2), length));
    p += 2 + length;
  }
  return p == end;
}

/// The key byte of field `number` (1 to 15) with wire type `type`.
constexpr unsigned char key_byte(std::uint32_t number, detail::wire_type type) noexcept {
  return static_cast<unsigned char>((number << 3) | static_cast<std::uint32_t>(type));
}

/// Reads a string or bytes field as a view. Always true: a failure is kept by the reader, and
/// a field with another wire type is skipped.
inline bool read_string(detail::wire_reader& r, const detail::wire_field& field, std::string_view& out) {
  if (r.accept(field, detail::wire_type::length_delimited)) {
    r.read_bytes(out);
  }
  return true;
}

/// Reads a bool, int32, int64 or enum field. Always true: a failure is kept by the reader, and
/// a field with another wire type is skipped.
template <class Value>
bool read_varint(detail::wire_reader& r, const detail::wire_field& field, Value& out) {
  if (!r.accept(field, detail::wire_type::varint)) {
    return true;
  }
  if constexpr (std::is_same_v<Value, bool>) {
    r.read_bool(out);
  } else if constexpr (sizeof(Value) == 8) {
    std::int64_t v = 0;
    r.read_int64(v);
    out = static_cast<Value>(v);
  } else {
    std::int32_t v = 0;
    r.read_int32(v);
    out = static_cast<Value>(v);
  }
  return true;
}

/// Reads an `Address` payload, merging into `out` (protobuf's rule for a singular message field
/// that occurs more than once).
inline bool read_payload(detail::wire_reader& parent, std::string_view payload, address_view& out) {
  namespace f = detail::fields::address;
  constexpr auto bytes = detail::wire_type::length_delimited;
  static constexpr unsigned char keys[] = {key_byte(f::namespace_name, bytes), key_byte(f::type, bytes),
                                           key_byte(f::id, bytes)};
  if (read_in_order(payload, keys, [&out](std::size_t i, std::string_view v) {
        (i == 0 ? out.namespace_name : i == 1 ? out.type : out.id) = v;
      })) {
    return true;
  }
  return walk(parent, payload, [&out](detail::wire_reader& r, const detail::wire_field& field) {
    switch (field.number) {
      case f::namespace_name: return read_string(r, field, out.namespace_name);
      case f::type: return read_string(r, field, out.type);
      case f::id: return read_string(r, field, out.id);
      default: return false;
    }
  });
}

/// Reads a `TypedValue` payload, merging into `out`.
inline bool read_payload(detail::wire_reader& parent, std::string_view payload, typed_value_view& out) {
  namespace f = detail::fields::typed_value;
  constexpr auto bytes = detail::wire_type::length_delimited;
  static constexpr unsigned char keys[] = {key_byte(f::type_name, bytes),
                                           key_byte(f::has_value, detail::wire_type::varint),
                                           key_byte(f::value, bytes)};
  if (read_in_order(payload, keys, [&out](std::size_t i, std::string_view v) {
        if (i == 1) {
          out.has_value = v[0] != 0;
        } else {
          (i == 0 ? out.type_name : out.value) = v;
        }
      })) {
    return true;
  }
  return walk(parent, payload, [&out](detail::wire_reader& r, const detail::wire_field& field) {
    switch (field.number) {
      case f::type_name: return read_string(r, field, out.type_name);
      case f::has_value: return read_varint(r, field, out.has_value);
      case f::value: return read_string(r, field, out.value);
      default: return false;
    }
  });
}

/// Reads the `Address` or `TypedValue` held by field `at` of `parent`, merging into `out`.
/// False when the field has another wire type (it is skipped) or `parent` failed.
template <class View>
bool read_message(detail::wire_reader& parent, const detail::wire_field& at, View& out) {
  std::string_view payload;
  return parent.accept(at, detail::wire_type::length_delimited) && parent.read_bytes(payload) &&
         read_payload(parent, payload, out);
}

/// The encoded size of `a`'s fields (without a tag or length prefix).
[[nodiscard]] inline std::size_t size(const address_view& a) noexcept {
  namespace f = detail::fields::address;
  return detail::string_field_size(f::namespace_name, a.namespace_name.size()) +
         detail::string_field_size(f::type, a.type.size()) +
         detail::string_field_size(f::id, a.id.size());
}

/// The encoded size of `v`'s fields (without a tag or length prefix).
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
