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

#include <cassert>
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
  [[gnu::always_inline]] bool next(wire_field& field) noexcept {
    // A failure moves pos_ to end_ (absorb included), so this one test covers both.
    if (pos_ == end_) {
      return false;
    }
    // One-byte keys (field numbers 1 to 15) are every key of this protocol.
    const auto byte = static_cast<unsigned char>(*pos_);
    const unsigned type = byte & 7u;
    if (byte < 0x80 && byte >= 8 && ((0x27u >> type) & 1u) != 0) {
      key_at_ = pos_++;
      field.number = byte >> 3;
      field.type = static_cast<wire_type>(type);
      return true;
    }
    // Two-byte keys (field numbers 16 to 2047, such as ToFunction.invocation = 100).
    if (byte >= 0x80 && end_ - pos_ >= 2 && static_cast<unsigned char>(pos_[1]) < 0x80 &&
        ((0x27u >> type) & 1u) != 0) {
      const unsigned number = ((byte & 0x7Fu) | (static_cast<unsigned char>(pos_[1]) << 7u)) >> 3;
      if (number != 0) {  // a non-canonical zero (80 00) takes the slow path and fails there
        field.number = number;
        field.type = static_cast<wire_type>(type);
        key_at_ = pos_;
        pos_ += 2;
        return true;
      }
    }
    return next_slow(field);
  }

  [[gnu::noinline]] bool next_slow(wire_field& field) noexcept {
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
  /// read) has wire type `expected`. (For formats of our own, such as the durable journal.)
  [[gnu::always_inline]] bool expect(const wire_field& field, wire_type expected) noexcept {
    return field.type == expected || fail(errc::wrong_wire_type, key_at_);
  }

  /**
   * True when `field` (the key just read) has wire type `expected`. Otherwise skips its payload
   * and returns false: protobuf parsers treat a known field with another wire type as an
   * unknown field (a malformed payload still fails the reader).
   */
  [[gnu::always_inline]] bool accept(const wire_field& field, wire_type expected) noexcept {
    if (field.type == expected) {
      return true;
    }
    skip(field);
    return false;
  }

  [[gnu::always_inline]] bool read_varint(std::uint64_t& value) noexcept {
    // One-byte varints (tags, booleans, short lengths) are nearly all we see.
    if (pos_ != end_ && static_cast<unsigned char>(*pos_) < 0x80) {
      value = static_cast<unsigned char>(*pos_++);
      return true;
    }
    return read_varint_slow(value);
  }

  [[gnu::noinline]] bool read_varint_slow(std::uint64_t& value) noexcept {
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
  [[gnu::always_inline]] bool read_bytes(std::string_view& value) noexcept {
    if (pos_ != end_) {
      const auto length = static_cast<unsigned char>(*pos_);
      if (length < 0x80 && length < end_ - pos_) {
        value = std::string_view(pos_ + 1, length);
        pos_ += 1 + length;
        return true;
      }
    }
    return read_bytes_slow(value);
  }

  [[gnu::noinline]] bool read_bytes_slow(std::string_view& value) noexcept {
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
      pos_ = end_;
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

/**
 * Writes canonical proto3 (fields holding their default value are left out) at the end of a
 * `std::string`.
 *
 * The caller announces how many bytes it will write, computed with the `*_size` functions:
 * protobuf puts every length before its payload, so the sizes are needed anyway, and knowing
 * the total lets the writer grow the string once and then write with plain stores.
 */
class wire_writer {
 public:
  wire_writer(std::string& out, std::size_t size) : pos_(grow(out, size)), end_(pos_ + size) {}
  wire_writer(const wire_writer&) = delete;
  wire_writer& operator=(const wire_writer&) = delete;
  /// Every byte announced was written, no more and no fewer.
  ~wire_writer() { assert(pos_ == end_); }

  void varint(std::uint64_t value) noexcept {
    while (value >= 0x80) {
      *pos_++ = static_cast<char>(static_cast<unsigned char>(value) | 0x80u);
      value >>= 7;
    }
    *pos_++ = static_cast<char>(value);
  }

  void key(std::uint32_t number, wire_type type) noexcept {
    varint((static_cast<std::uint64_t>(number) << 3) | static_cast<std::uint64_t>(type));
  }

  /// Starts an embedded message of `size` bytes; the caller writes exactly that much next.
  void message_header(std::uint32_t number, std::size_t size) noexcept {
    key(number, wire_type::length_delimited);
    varint(size);
  }

  void raw(std::string_view bytes) noexcept {
    if (!bytes.empty()) {
      std::memcpy(pos_, bytes.data(), bytes.size());
      pos_ += bytes.size();
    }
  }

  /// A length-delimited field written even when empty (embedded messages, present values).
  void delimited(std::uint32_t number, std::string_view payload) noexcept {
    message_header(number, payload.size());
    raw(payload);
  }

  /// A proto3 string/bytes field: left out when empty.
  void string_field(std::uint32_t number, std::string_view value) noexcept {
    if (!value.empty()) {
      delimited(number, value);
    }
  }

  /// A proto3 bool field: left out when false.
  void bool_field(std::uint32_t number, bool value) noexcept {
    if (value) {
      key(number, wire_type::varint);
      *pos_++ = 1;
    }
  }

  /// A proto3 int64/int32/enum field: left out when zero; negatives take ten bytes.
  void int_field(std::uint32_t number, std::int64_t value) noexcept {
    if (value != 0) {
      key(number, wire_type::varint);
      varint(static_cast<std::uint64_t>(value));
    }
  }

  void fixed32_field(std::uint32_t number, std::uint32_t value) noexcept {
    key(number, wire_type::fixed32);
    little_endian(value);
  }

  void fixed64_field(std::uint32_t number, std::uint64_t value) noexcept {
    key(number, wire_type::fixed64);
    little_endian(value);
  }

 private:
  static char* grow(std::string& out, std::size_t size) {
    const std::size_t old = out.size();
    out.resize(old + size);
    return out.data() + old;
  }

  template <class Unsigned>
  void little_endian(Unsigned value) noexcept {
    for (std::size_t i = 0; i < sizeof(Unsigned); ++i) {
      *pos_++ = static_cast<char>(static_cast<unsigned char>(value >> (8 * i)));
    }
  }

  char* pos_;
  char* end_;
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
