#pragma once

// Protobuf wire format, read and written inline.
//
// Why not nanopb's pb_decode()? Its generic, table-driven decoder cannot hand out views without a
// callback per string field, and it costs more instructions for one ToFunction than our whole
// request budget (bench/README.md has the figures). The message structure is small and frozen,
// so the codec walks it directly with these primitives; field numbers come from the
// nanopb-generated headers, and nanopb's decoder serves as the independent reference in the
// tests and the fuzzer.

#include <statefun/error.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace statefun::inline v0::detail {

/// The wire types proto3 can produce; groups (3 and 4) are refused on reading.
enum class wire_type : std::uint8_t {
  varint = 0,
  fixed64 = 1,
  length_delimited = 2,
  fixed32 = 5,
};

/// A field's key: its number and how its payload is encoded.
struct wire_field {
  std::uint32_t number = 0;
  wire_type type = wire_type::varint;
};

/// Reads one protobuf message from a byte range it does not own.
///
/// Every read checks bounds. The first failure is kept (`error()`, `error_offset()`) and every
/// later read fails, so a decoder can test once at the end of a loop.
class wire_reader {
 public:
  /// @param bytes the message.
  /// @param origin where offsets in error reports count from (the outermost message).
  explicit wire_reader(std::string_view bytes, const char* origin = nullptr) noexcept
      : pos_(bytes.data()),
        end_(bytes.data() + bytes.size()),
        origin_(origin != nullptr ? origin : bytes.data()) {}

  [[nodiscard]] bool failed() const noexcept { return error_ != errc{}; }
  [[nodiscard]] errc error() const noexcept { return error_; }
  /// The byte offset (from the origin) where the first failure was found.
  [[nodiscard]] std::size_t error_offset() const noexcept { return error_offset_; }
  [[nodiscard]] const char* origin() const noexcept { return origin_; }

  /// Reads the next key. Returns false at the end of the message or on a failure.
  bool next(wire_field& field) noexcept {
    if (pos_ == end_ || failed()) {
      return false;
    }
    const char* const key_at = pos_;
    std::uint64_t key = 0;
    if (!read_varint(key)) {
      return false;
    }
    if (key > 0xFFFF'FFFFu) {
      return fail(errc::malformed_varint, key_at);
    }
    const auto type = static_cast<std::uint8_t>(key & 7u);
    field.number = static_cast<std::uint32_t>(key >> 3);
    if (field.number == 0) {
      return fail(errc::invalid_field_number, key_at);
    }
    if (type != 0 && type != 1 && type != 2 && type != 5) {
      return fail(errc::wrong_wire_type, key_at);
    }
    field.type = static_cast<wire_type>(type);
    key_at_ = key_at;
    return true;
  }

  /// Fails with `wrong_wire_type`, reported at the field's key, unless `field` (the key just
  /// read) has wire type `expected`.
  bool expect(const wire_field& field, wire_type expected) noexcept {
    return field.type == expected || fail(errc::wrong_wire_type, key_at_);
  }

  bool read_varint(std::uint64_t& value) noexcept {
    // One-byte varints (tags, booleans, short lengths) are nearly all we see.
    if (pos_ != end_ && static_cast<unsigned char>(*pos_) < 0x80) {
      value = static_cast<unsigned char>(*pos_++);
      return true;
    }
    const char* const start = pos_;
    std::uint64_t result = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
      if (pos_ == end_) {
        return fail(errc::truncated, start);
      }
      const auto byte = static_cast<unsigned char>(*pos_++);
      // The tenth byte holds only the top bit of a 64-bit value.
      if (shift == 63 && byte > 1) {
        return fail(errc::malformed_varint, start);
      }
      result |= static_cast<std::uint64_t>(byte & 0x7Fu) << shift;
      if (byte < 0x80) {
        value = result;
        return true;
      }
    }
    return fail(errc::malformed_varint, start);
  }

  bool read_bool(bool& value) noexcept {
    std::uint64_t raw = 0;
    if (!read_varint(raw)) {
      return false;
    }
    value = raw != 0;
    return true;
  }

  /// Reads a varint field holding a proto3 `int32` or enum (negative values take ten bytes).
  bool read_int32(std::int32_t& value) noexcept {
    std::uint64_t raw = 0;
    if (!read_varint(raw)) {
      return false;
    }
    value = static_cast<std::int32_t>(static_cast<std::uint32_t>(raw));
    return true;
  }

  bool read_int64(std::int64_t& value) noexcept {
    std::uint64_t raw = 0;
    if (!read_varint(raw)) {
      return false;
    }
    value = static_cast<std::int64_t>(raw);
    return true;
  }

  /// Reads a length-delimited payload as a view into the message.
  bool read_bytes(std::string_view& value) noexcept {
    const char* const start = pos_;
    std::uint64_t length = 0;
    if (!read_varint(length)) {
      return false;
    }
    if (length > static_cast<std::uint64_t>(end_ - pos_)) {
      return fail(errc::length_past_end, start);
    }
    value = std::string_view(pos_, static_cast<std::size_t>(length));
    pos_ += length;
    return true;
  }

  bool read_fixed32(std::uint32_t& value) noexcept { return read_fixed(value); }
  bool read_fixed64(std::uint64_t& value) noexcept { return read_fixed(value); }

  /// A reader over a length-delimited payload, reporting offsets from the same origin.
  [[nodiscard]] wire_reader nested(std::string_view payload) const noexcept {
    return wire_reader(payload, origin_);
  }

  /// Takes over the failure of a nested reader, if it had one.
  bool absorb(const wire_reader& nested) noexcept {
    if (nested.failed() && !failed()) {
      error_ = nested.error_;
      error_offset_ = nested.error_offset_;
    }
    return !failed();
  }

  /// Skips the payload of an unknown field.
  bool skip(const wire_field& field) noexcept {
    switch (field.type) {
      case wire_type::varint: {
        std::uint64_t ignored = 0;
        return read_varint(ignored);
      }
      case wire_type::fixed64:
        return advance(8);
      case wire_type::length_delimited: {
        std::string_view ignored;
        return read_bytes(ignored);
      }
      case wire_type::fixed32:
        return advance(4);
    }
    return fail(errc::wrong_wire_type, pos_);
  }

 private:
  template <class Unsigned>
  bool read_fixed(Unsigned& value) noexcept {
    if (static_cast<std::size_t>(end_ - pos_) < sizeof(Unsigned)) {
      return fail(errc::truncated, pos_);
    }
    // Protobuf fixed-width values are little-endian, as is every platform we build for;
    // assemble byte by byte anyway so a big-endian build stays correct.
    Unsigned result = 0;
    for (std::size_t i = 0; i < sizeof(Unsigned); ++i) {
      result |= static_cast<Unsigned>(static_cast<unsigned char>(pos_[i])) << (8 * i);
    }
    value = result;
    pos_ += sizeof(Unsigned);
    return true;
  }

  bool advance(std::size_t count) noexcept {
    if (static_cast<std::size_t>(end_ - pos_) < count) {
      return fail(errc::truncated, pos_);
    }
    pos_ += count;
    return true;
  }

  bool fail(errc code, const char* at) noexcept {
    if (!failed()) {
      error_ = code;
      error_offset_ = static_cast<std::size_t>(at - origin_);
    }
    pos_ = end_;
    return false;
  }

  const char* pos_;
  const char* end_;
  const char* origin_;
  const char* key_at_ = nullptr;  // where the last key read starts, for error offsets
  errc error_{};
  std::size_t error_offset_ = 0;
};

/// Bytes taken by `value` as a varint.
constexpr std::size_t varint_size(std::uint64_t value) noexcept {
  std::size_t size = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++size;
  }
  return size;
}

/// Bytes taken by the key of field `number`.
constexpr std::size_t key_size(std::uint32_t number) noexcept {
  return varint_size(static_cast<std::uint64_t>(number) << 3);
}

/// Bytes taken by a length-delimited field of `length` payload bytes, written even when empty.
constexpr std::size_t delimited_size(std::uint32_t number, std::size_t length) noexcept {
  return key_size(number) + varint_size(length) + length;
}

/// Bytes taken by a proto3 string/bytes field, which is left out when empty.
constexpr std::size_t string_field_size(std::uint32_t number, std::size_t length) noexcept {
  return length == 0 ? 0 : delimited_size(number, length);
}

/// Appends canonical proto3 to a `std::string`: fields holding their default value are left out.
class wire_writer {
 public:
  explicit wire_writer(std::string& out) noexcept : out_(&out) {}

  void varint(std::uint64_t value) {
    char buffer[10];
    std::size_t size = 0;
    while (value >= 0x80) {
      buffer[size++] = static_cast<char>(static_cast<unsigned char>(value) | 0x80u);
      value >>= 7;
    }
    buffer[size++] = static_cast<char>(value);
    out_->append(buffer, size);
  }

  void key(std::uint32_t number, wire_type type) {
    varint((static_cast<std::uint64_t>(number) << 3) | static_cast<std::uint64_t>(type));
  }

  /// Starts an embedded message of `size` bytes; the caller writes exactly that much next.
  void message_header(std::uint32_t number, std::size_t size) {
    key(number, wire_type::length_delimited);
    varint(size);
  }

  /// A length-delimited field written even when empty (embedded messages, present values).
  void delimited(std::uint32_t number, std::string_view payload) {
    message_header(number, payload.size());
    out_->append(payload);
  }

  /// A proto3 string/bytes field: left out when empty.
  void string_field(std::uint32_t number, std::string_view value) {
    if (!value.empty()) {
      delimited(number, value);
    }
  }

  /// A proto3 bool field: left out when false.
  void bool_field(std::uint32_t number, bool value) {
    if (value) {
      key(number, wire_type::varint);
      out_->push_back(1);
    }
  }

  /// A proto3 int64/int32/enum field: left out when zero; negatives take ten bytes.
  void int_field(std::uint32_t number, std::int64_t value) {
    if (value != 0) {
      key(number, wire_type::varint);
      varint(static_cast<std::uint64_t>(value));
    }
  }

  void fixed32_field(std::uint32_t number, std::uint32_t value) {
    key(number, wire_type::fixed32);
    append_little_endian(value);
  }

  void fixed64_field(std::uint32_t number, std::uint64_t value) {
    key(number, wire_type::fixed64);
    append_little_endian(value);
  }

  void raw(std::string_view bytes) { out_->append(bytes); }

 private:
  template <class Unsigned>
  void append_little_endian(Unsigned value) {
    char buffer[sizeof(Unsigned)];
    for (std::size_t i = 0; i < sizeof(Unsigned); ++i) {
      buffer[i] = static_cast<char>(static_cast<unsigned char>(value >> (8 * i)));
    }
    out_->append(buffer, sizeof(Unsigned));
  }

  std::string* out_;
};

/// Bytes taken by a proto3 int64/int32/enum field (left out when zero).
constexpr std::size_t int_field_size(std::uint32_t number, std::int64_t value) noexcept {
  return value == 0 ? 0 : key_size(number) + varint_size(static_cast<std::uint64_t>(value));
}

/// Bytes taken by a proto3 bool field (left out when false).
constexpr std::size_t bool_field_size(std::uint32_t number, bool value) noexcept {
  return value ? key_size(number) + 1 : 0;
}

}  // namespace statefun::inline v0::detail
