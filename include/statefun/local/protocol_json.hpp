#pragma once

/// @file
/// The protocol's messages as readable JSON, both ways: a `ToFunction` or `FromFunction` decoded
/// by the codec becomes JSON with the field names of `request-reply.proto`, and such JSON
/// becomes canonical protobuf bytes again. Values of known types are shown decoded. Also the
/// command-line shorthand for one value (`long:42`, `example/User:json:{"name":"ann"}`) and for
/// an address (`example/greeter/ann`).
///
/// **Example**:
/// @code
/// statefun::codec::invocation_batch_view request;
/// if (request.decode(bytes)) {
///   std::cout << statefun::local::to_json(request).dump(2) << '\n';
/// }
/// // {"invocation": {"target": {"namespace": "vec", "type": "counter", "id": "u1"},
/// //                 "invocations": [{"argument": {"type": "io.statefun.types/string", "value": "hello"}}]}}
/// @endcode
///
/// Decoding then encoding gives back the exact bytes whenever they were canonical protobuf (every
/// SDK writes that): a value whose bytes would not come back from its decoded form is shown as
/// `base64` (or as `text`) instead, and an empty `expiration_spec {}` (Python and Go) is kept
/// apart from an absent one (Java and JavaScript).

#include <statefun/address.hpp>
#include <statefun/codec/from_function.hpp>
#include <statefun/codec/to_function.hpp>
#include <statefun/detail/fields.hpp>
#include <statefun/detail/wire.hpp>
#include <statefun/egress.hpp>
#include <statefun/local/records.hpp>
#include <statefun/type.hpp>
#include <statefun/type_name.hpp>

#include <nlohmann/json.hpp>

#include <array>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace statefun::inline v0::local {

namespace detail {

/// `value` as the codec sees it; valid while `value` is.
[[nodiscard]] inline codec::typed_value_view view_of(const typed_value& value) noexcept {
  return {value.type, value.has_value, value.value};
}

// --- Text and bytes ---------------------------------------------------------------------------

/// True if `text` is well-formed UTF-8 (no overlong forms, surrogates or code points past
/// U+10FFFF), as protobuf requires of `string` fields and JSON of its strings.
inline bool valid_utf8(std::string_view text) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* const end = p + text.size();
  while (p != end) {
    const unsigned lead = *p;
    if (lead < 0x80) {
      ++p;
      continue;
    }
    std::size_t follow = 0;
    std::uint32_t code = 0;
    std::uint32_t smallest = 0;
    if ((lead & 0xE0u) == 0xC0u) {
      follow = 1, code = lead & 0x1Fu, smallest = 0x80;
    } else if ((lead & 0xF0u) == 0xE0u) {
      follow = 2, code = lead & 0x0Fu, smallest = 0x800;
    } else if ((lead & 0xF8u) == 0xF0u) {
      follow = 3, code = lead & 0x07u, smallest = 0x10000;
    } else {
      return false;
    }
    if (static_cast<std::size_t>(end - p) <= follow) {
      return false;
    }
    for (std::size_t i = 1; i <= follow; ++i) {
      if ((p[i] & 0xC0u) != 0x80u) {
        return false;
      }
      code = (code << 6) | (p[i] & 0x3Fu);
    }
    if (code < smallest || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
      return false;
    }
    p += follow + 1;
  }
  return true;
}

/// UTF-8 a person can read: no control characters but tab and line breaks.
inline bool readable_text(std::string_view bytes) noexcept {
  for (const char c : bytes) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t' && c != '\n' && c != '\r') || u == 0x7F) {
      return false;
    }
  }
  return valid_utf8(bytes);
}

inline constexpr std::string_view base64_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// `bytes` in standard base64 (RFC 4648 §4), padded.
inline std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const auto n = (std::uint32_t{static_cast<unsigned char>(bytes[i])} << 16) |
                   (std::uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8) |
                   std::uint32_t{static_cast<unsigned char>(bytes[i + 2])};
    for (const int shift : {18, 12, 6, 0}) {
      out.push_back(base64_alphabet[(n >> shift) & 63u]);
    }
  }
  if (const std::size_t left = bytes.size() - i; left > 0) {
    std::uint32_t n = std::uint32_t{static_cast<unsigned char>(bytes[i])} << 16;
    if (left == 2) {
      n |= std::uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8;
    }
    out.push_back(base64_alphabet[(n >> 18) & 63u]);
    out.push_back(base64_alphabet[(n >> 12) & 63u]);
    out.push_back(left == 2 ? base64_alphabet[(n >> 6) & 63u] : '=');
    out.push_back('=');
  }
  return out;
}

/// Standard base64, padding optional; nothing else (no line breaks, no URL alphabet).
inline std::optional<std::string> base64_decode(std::string_view text) {
  std::size_t padding = 0;
  while (padding < 2 && text.ends_with('=')) {
    text.remove_suffix(1);
    ++padding;
  }
  if (text.size() % 4 == 1 || (padding > 0 && (text.size() + padding) % 4 != 0)) {
    return std::nullopt;
  }
  std::string out;
  out.reserve(text.size() / 4 * 3 + 2);
  std::uint32_t bits = 0;
  int count = 0;
  for (const char c : text) {
    const std::size_t digit = base64_alphabet.find(c);
    if (digit == std::string_view::npos) {
      return std::nullopt;
    }
    bits = (bits << 6) | static_cast<std::uint32_t>(digit);
    if (++count == 4) {
      out.push_back(static_cast<char>((bits >> 16) & 0xFFu));
      out.push_back(static_cast<char>((bits >> 8) & 0xFFu));
      out.push_back(static_cast<char>(bits & 0xFFu));
      bits = 0;
      count = 0;
    }
  }
  if (count == 2) {
    out.push_back(static_cast<char>((bits >> 4) & 0xFFu));
  } else if (count == 3) {
    out.push_back(static_cast<char>((bits >> 10) & 0xFFu));
    out.push_back(static_cast<char>((bits >> 2) & 0xFFu));
  }
  return out;
}

// --- Reading JSON, with the path of every value for error messages ----------------------------

/// "a string", "an object"...: a JSON value's kind, for messages.
inline std::string kind_of(const nlohmann::json& value) {
  const std::string kind = value.type_name();
  return (kind == "object" || kind == "array" ? "an " : "a ") + kind;
}

/**
 * One value of the input and its path (`invocation.invocations[2].argument`). Every accessor
 * checks the kind it expects and throws `std::invalid_argument` naming the path otherwise.
 */
class json_input {
 public:
  json_input(const nlohmann::json& value, std::string path) : value_(&value), path_(std::move(path)) {}

  [[nodiscard]] const nlohmann::json& value() const noexcept { return *value_; }
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

  [[noreturn]] void fail(std::string_view what) const {
    throw std::invalid_argument((path_.empty() ? std::string("top level") : path_) + ": " + std::string(what));
  }

  /// Requires an object whose keys are all in `known`: an unknown key is most likely a typo.
  const json_input& object(std::initializer_list<std::string_view> known) const {
    return object(std::span<const std::string_view>(known.begin(), known.size()));
  }

  const json_input& object(std::span<const std::string_view> known) const {
    if (!value_->is_object()) {
      fail("expected an object, got " + kind_of(*value_));
    }
    for (const auto& [key, ignored] : value_->items()) {
      bool found = false;
      for (const std::string_view k : known) {
        found = found || k == key;
      }
      if (!found) {
        std::string expected;
        for (const std::string_view k : known) {
          expected.append(expected.empty() ? "" : ", ").append(k);
        }
        fail("unknown field \"" + key + "\" (expected " + expected + ")");
      }
    }
    return *this;
  }

  /// The member `key` of an object, or nothing if it is absent or null (null means absent, as in
  /// protobuf's JSON mapping).
  [[nodiscard]] std::optional<json_input> find(std::string_view key) const {
    const auto it = value_->find(key);
    if (it == value_->end() || it->is_null()) {
      return std::nullopt;
    }
    return json_input(*it, child(key));
  }

  /// The member `key`, which must be there.
  [[nodiscard]] json_input at(std::string_view key) const {
    auto member = find(key);
    if (!member) {
      fail("missing field \"" + std::string(key) + "\"");
    }
    return std::move(*member);
  }

  [[nodiscard]] std::vector<json_input> items() const {
    if (!value_->is_array()) {
      fail("expected an array, got " + kind_of(*value_));
    }
    std::vector<json_input> out;
    out.reserve(value_->size());
    for (std::size_t i = 0; i < value_->size(); ++i) {
      out.emplace_back((*value_)[i], path_ + "[" + std::to_string(i) + "]");
    }
    return out;
  }

  [[nodiscard]] const std::string& string() const {
    if (!value_->is_string()) {
      fail("expected a string, got " + kind_of(*value_));
    }
    return value_->get_ref<const std::string&>();
  }

  [[nodiscard]] bool boolean() const {
    if (!value_->is_boolean()) {
      fail("expected true or false, got " + kind_of(*value_));
    }
    return value_->get<bool>();
  }

  /// An integer from `min` to `max` (a JSON number without fraction or exponent).
  [[nodiscard]] std::int64_t integer(std::int64_t min, std::int64_t max) const {
    if (!value_->is_number_integer()) {
      fail("expected an integer, got " + kind_of(*value_));
    }
    if (value_->is_number_unsigned()) {
      const auto u = value_->get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(max)) {
        fail(value_->dump() + " is out of range (" + std::to_string(min) + " to " + std::to_string(max) + ")");
      }
      return static_cast<std::int64_t>(u);
    }
    const auto v = value_->get<std::int64_t>();
    if (v < min || v > max) {
      fail(value_->dump() + " is out of range (" + std::to_string(min) + " to " + std::to_string(max) + ")");
    }
    return v;
  }

  /// A number, or "NaN", "Infinity" or "-Infinity" (protobuf's JSON mapping for the others).
  [[nodiscard]] double floating() const {
    if (value_->is_number()) {
      return value_->get<double>();
    }
    if (value_->is_string()) {
      const auto& s = value_->get_ref<const std::string&>();
      if (s == "NaN") {
        return std::numeric_limits<double>::quiet_NaN();
      }
      if (s == "Infinity") {
        return std::numeric_limits<double>::infinity();
      }
      if (s == "-Infinity") {
        return -std::numeric_limits<double>::infinity();
      }
    }
    fail("expected a number (or \"NaN\", \"Infinity\", \"-Infinity\"), got " +
         (value_->is_string() ? "\"" + value_->get<std::string>() + "\"" : kind_of(*value_)));
  }

 private:
  [[nodiscard]] std::string child(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }

  const nlohmann::json* value_;
  std::string path_;
};

/// `text` as a JSON string; throws naming `path` if it is not UTF-8 (JSON cannot hold it, and
/// the runtime's protobuf parser refuses such a `string` field too).
inline nlohmann::json utf8_string(std::string_view text, const std::string& path) {
  if (!valid_utf8(text)) {
    throw std::invalid_argument(path + ": not valid UTF-8 (a protobuf string must be)");
  }
  return std::string(text);
}

// --- Values of known types --------------------------------------------------------------------

inline constexpr std::string_view kafka_record_type = kafka_egress::record_type;
inline constexpr std::string_view kinesis_record_type = kinesis_egress::record_type;

/// One field of an egress record, in field order.
struct record_field {
  std::string_view name;
  std::uint32_t number;
};

inline constexpr std::array<record_field, 3> kafka_fields{{
    {"key", statefun::detail::fields::kafka_record::key},
    {"value_bytes", statefun::detail::fields::kafka_record::value_bytes},
    {"topic", statefun::detail::fields::kafka_record::topic},
}};
inline constexpr std::array<record_field, 4> kinesis_fields{{
    {"partition_key", statefun::detail::fields::kinesis_record::partition_key},
    {"value_bytes", statefun::detail::fields::kinesis_record::value_bytes},
    {"stream", statefun::detail::fields::kinesis_record::stream},
    {"explicit_hash_key", statefun::detail::fields::kinesis_record::explicit_hash_key},
}};

/// The fields of the record type `type_name`, or an empty span for any other type.
inline std::span<const record_field> record_fields_of(std::string_view type_name) noexcept {
  if (type_name == kafka_record_type) {
    return kafka_fields;
  }
  if (type_name == kinesis_record_type) {
    return kinesis_fields;
  }
  return {};
}

/// True for the six `io.statefun.types/...` wrapper types.
inline bool is_builtin_type(std::string_view type_name) noexcept {
  return type_name == type<bool>::name() || type_name == type<std::int32_t>::name() ||
         type_name == type<std::int64_t>::name() || type_name == type<float>::name() ||
         type_name == type<double>::name() || type_name == type<std::string>::name();
}

/// A float as the shortest decimal that reads back as the same float (0.1, not 0.100000001).
inline nlohmann::json float_json(float value) {
  if (std::isnan(value)) {
    return "NaN";
  }
  if (std::isinf(value)) {
    return value > 0 ? "Infinity" : "-Infinity";
  }
  char text[32];
  const auto printed = std::to_chars(std::begin(text), std::end(text), value);
  double widened = 0;
  std::from_chars(std::begin(text), printed.ptr, widened);
  return widened;
}

inline nlohmann::json double_json(double value) {
  if (std::isnan(value)) {
    return "NaN";
  }
  if (std::isinf(value)) {
    return value > 0 ? "Infinity" : "-Infinity";
  }
  return value;
}

/// Encodes the `value` of a typed value of type `type_name` (see `typed_value_from_json`).
inline std::string encode_value(std::string_view type_name, const json_input& value) {
  std::string out;
  if (type_name == type<bool>::name()) {
    type<bool>::encode(value.boolean(), out);
  } else if (type_name == type<std::int32_t>::name()) {
    using limits = std::numeric_limits<std::int32_t>;
    type<std::int32_t>::encode(static_cast<std::int32_t>(value.integer(limits::min(), limits::max())), out);
  } else if (type_name == type<std::int64_t>::name()) {
    using limits = std::numeric_limits<std::int64_t>;
    type<std::int64_t>::encode(value.integer(limits::min(), limits::max()), out);
  } else if (type_name == type<float>::name()) {
    const double v = value.floating();
    if (std::isfinite(v) && std::fabs(v) > std::numeric_limits<float>::max()) {
      value.fail(value.value().dump() + " is out of range for a float");
    }
    type<float>::encode(static_cast<float>(v), out);
  } else if (type_name == type<double>::name()) {
    type<double>::encode(value.floating(), out);
  } else if (type_name == type<std::string>::name()) {
    type<std::string>::encode(value.string(), out);
  } else if (const auto fields = record_fields_of(type_name); !fields.empty()) {
    std::vector<std::string_view> names;
    for (const auto& field : fields) {
      names.push_back(field.name);
    }
    value.object(names);
    std::vector<std::pair<std::uint32_t, std::string>> parts;
    for (const auto& field : fields) {
      const auto member = value.find(field.name);
      if (!member) {
        continue;
      }
      if (field.name == "value_bytes" && member->value().is_object()) {
        member->object({"base64"});
        const auto decoded = base64_decode(member->at("base64").string());
        if (!decoded) {
          member->at("base64").fail("not valid base64");
        }
        parts.emplace_back(field.number, *decoded);
      } else {
        parts.emplace_back(field.number, member->string());
      }
    }
    std::size_t size = 0;
    for (const auto& [number, bytes] : parts) {
      size += statefun::detail::string_field_size(number, bytes.size());
    }
    statefun::detail::wire_writer w(out, size);
    for (const auto& [number, bytes] : parts) {
      w.string_field(number, bytes);
    }
  } else {
    try {
      out = value.value().dump();
    } catch (const nlohmann::json::exception& e) {
      value.fail(std::string("cannot be written as JSON: ") + e.what());
    }
  }
  return out;
}

/// The fields of an egress record, if `bytes` are one in field order with string fields in
/// UTF-8; `value_bytes` as text when readable, else as `{"base64": ...}`.
inline std::optional<nlohmann::json> record_json(std::span<const record_field> fields, std::string_view bytes) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& field : fields) {
    out[std::string(field.name)] = "";
  }
  statefun::detail::wire_reader r(bytes);
  statefun::detail::wire_field key;
  while (r.next(key)) {
    const record_field* field = nullptr;
    for (const auto& f : fields) {
      field = f.number == key.number ? &f : field;
    }
    std::string_view payload;
    if (field == nullptr || key.type != statefun::detail::wire_type::length_delimited || !r.read_bytes(payload)) {
      return std::nullopt;
    }
    if (field->name == "value_bytes") {
      out["value_bytes"] = readable_text(payload) ? nlohmann::json(std::string(payload))
                                                  : nlohmann::json{{"base64", base64_encode(payload)}};
    } else if (valid_utf8(payload)) {
      out[std::string(field->name)] = std::string(payload);
    } else {
      return std::nullopt;
    }
  }
  if (r.failed()) {
    return std::nullopt;
  }
  return out;
}

/// The decoded form of a value of a known type, or nothing for raw bytes.
inline std::optional<nlohmann::json> decoded_value(std::string_view type_name, std::string_view bytes) {
  try {
    if (type_name == type<bool>::name()) {
      return type<bool>::decode(bytes);
    }
    if (type_name == type<std::int32_t>::name()) {
      return type<std::int32_t>::decode(bytes);
    }
    if (type_name == type<std::int64_t>::name()) {
      return type<std::int64_t>::decode(bytes);
    }
    if (type_name == type<float>::name()) {
      return float_json(type<float>::decode(bytes));
    }
    if (type_name == type<double>::name()) {
      return double_json(type<double>::decode(bytes));
    }
    if (type_name == type<std::string>::name()) {
      const std::string_view text = type<std::string_view>::decode(bytes);
      return valid_utf8(text) ? std::optional<nlohmann::json>(std::string(text)) : std::nullopt;
    }
  } catch (const decode_error&) {
    return std::nullopt;
  }
  if (const auto fields = record_fields_of(type_name); !fields.empty()) {
    return record_json(fields, bytes);
  }
  return std::nullopt;
}

/// `value` as JSON (see `to_json(const codec::typed_value_view&)`); `path` names it in errors.
inline nlohmann::json typed_value_json(const codec::typed_value_view& value, const std::string& path) {
  nlohmann::json out = nlohmann::json::object();
  if (!value.type_name.empty()) {
    out["type"] = utf8_string(value.type_name, path + ".type");
  }
  if (!value.has_value) {
    out["has_value"] = false;
    if (!value.value.empty()) {
      out["base64"] = base64_encode(value.value);
    }
    return out;
  }
  const bool typed = is_builtin_type(value.type_name) || !record_fields_of(value.type_name).empty();
  if (typed) {
    // Shown decoded only if that form gives back the very same bytes (canonical protobuf).
    if (auto decoded = decoded_value(value.type_name, value.value)) {
      try {
        if (encode_value(value.type_name, json_input(*decoded, path)) == value.value) {
          out["value"] = std::move(*decoded);
          return out;
        }
      } catch (const std::invalid_argument&) {
        // not representable after all: fall through to base64
      }
    }
  } else if (valid_utf8(value.value)) {
    // Any other type: JSON if it parses as JSON (json.hpp's types, and every SDK's JSON types).
    auto parsed = nlohmann::json::parse(value.value, nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_discarded()) {
      if (parsed.dump() == value.value) {
        out["value"] = std::move(parsed);
      } else {
        out["text"] = std::string(value.value);  // JSON spaced or ordered as another SDK writes it
      }
      return out;
    }
  }
  out["base64"] = base64_encode(value.value);
  return out;
}

/// Reads a typed value in the JSON form (see `typed_value_from_json`).
inline typed_value read_typed_value(const json_input& in) {
  in.object({"type", "has_value", "value", "text", "base64"});
  typed_value out;
  if (const auto type = in.find("type")) {
    out.type = type->string();
  }
  const auto value = in.find("value");
  const auto text = in.find("text");
  const auto base64 = in.find("base64");
  const int payloads = (value ? 1 : 0) + (text ? 1 : 0) + (base64 ? 1 : 0);
  if (payloads > 1) {
    in.fail("give the bytes once: \"value\", \"text\" or \"base64\"");
  }
  if (const auto has_value = in.find("has_value")) {
    out.has_value = has_value->boolean();
  } else if (payloads == 0) {
    in.fail("expected \"value\", \"text\" or \"base64\" (or \"has_value\": false for no value)");
  } else {
    out.has_value = true;
  }
  if (value) {
    out.value = encode_value(out.type, *value);
  } else if (text) {
    out.value = text->string();
  } else if (base64) {
    auto decoded = base64_decode(base64->string());
    if (!decoded) {
      base64->fail("not valid base64");
    }
    out.value = std::move(*decoded);
  }
  return out;
}

// --- Addresses and enums ----------------------------------------------------------------------

inline nlohmann::json address_json(const codec::address_view& a, const std::string& path) {
  nlohmann::json out = nlohmann::json::object();
  out["namespace"] = utf8_string(a.namespace_name, path + ".namespace");
  out["type"] = utf8_string(a.type, path + ".type");
  out["id"] = utf8_string(a.id, path + ".id");
  return out;
}

/// An address object; absent members are empty, as in protobuf.
inline codec::address_view read_address(const json_input& in) {
  in.object({"namespace", "type", "id"});
  codec::address_view out;
  const auto member = [&in](std::string_view key) {
    const auto m = in.find(key);
    return m ? std::string_view(m->string()) : std::string_view();
  };
  out.namespace_name = member("namespace");
  out.type = member("type");
  out.id = member("id");
  return out;
}

/// A string field, empty when absent.
inline std::string_view optional_string(const json_input& in, std::string_view key) {
  const auto m = in.find(key);
  return m ? std::string_view(m->string()) : std::string_view();
}

inline constexpr std::array<std::pair<std::string_view, codec::mutation_type>, 2> mutation_names{{
    {"DELETE", codec::mutation_type::remove},
    {"MODIFY", codec::mutation_type::modify},
}};
inline constexpr std::array<std::pair<std::string_view, codec::expire_mode>, 3> expire_mode_names{{
    {"NONE", codec::expire_mode::none},
    {"AFTER_WRITE", codec::expire_mode::after_write},
    {"AFTER_INVOKE", codec::expire_mode::after_invoke},
}};

/// An enum's name, or its number if it has none.
template <class Enum, std::size_t N>
nlohmann::json enum_json(Enum value, const std::array<std::pair<std::string_view, Enum>, N>& names) {
  for (const auto& [name, v] : names) {
    if (v == value) {
      return std::string(name);
    }
  }
  return static_cast<std::int32_t>(value);
}

/// An enum by name, or (unless `named_only`) by number.
template <class Enum, std::size_t N>
Enum read_enum(const json_input& in, const std::array<std::pair<std::string_view, Enum>, N>& names,
               bool named_only) {
  std::string expected;
  for (const auto& [name, v] : names) {
    if (in.value().is_string() && in.value().get_ref<const std::string&>() == name) {
      return v;
    }
    if (in.value().is_number_integer() && in.value().get<std::int64_t>() == static_cast<std::int32_t>(v)) {
      return v;
    }
    expected.append(expected.empty() ? "" : ", ").append(name);
  }
  if (!named_only && in.value().is_number_integer()) {
    using limits = std::numeric_limits<std::int32_t>;
    return static_cast<Enum>(in.integer(limits::min(), limits::max()));
  }
  in.fail("expected one of " + expected + ", got " + in.value().dump());
}

inline std::int64_t read_int64(const json_input& in) {
  using limits = std::numeric_limits<std::int64_t>;
  return in.integer(limits::min(), limits::max());
}

}  // namespace detail

// --- Typed values -----------------------------------------------------------------------------

/**
 * A `TypedValue` as JSON: `{"type": T}` plus exactly one of
 * - `"value"`: the decoded value, for
 *   - the built-in types `io.statefun.types/{bool,int,long,float,double,string}`: a boolean, an
 *     integer, a number (`"NaN"`, `"Infinity"` and `"-Infinity"` as strings) or a string;
 *   - Kafka and Kinesis egress records: an object with the record's fields (`topic`, `key`,
 *     `value_bytes` / `stream`, `partition_key`, `explicit_hash_key`, `value_bytes`), where
 *     `value_bytes` is a string when it is readable UTF-8 and `{"base64": ...}` otherwise;
 *   - any other type whose bytes are JSON exactly as `dump()` writes it (the JSON types of
 *     `json.hpp`): the JSON value itself;
 * - `"text"`: the bytes are this UTF-8 text (JSON that another SDK spaced differently);
 * - `"base64"`: the bytes, for everything else, and for built-in values whose bytes are not
 *   canonical (so that nothing is lost);
 *
 * and `"has_value": false` when the value is absent. The type is left out when it is empty.
 *
 * @throws std::invalid_argument if the type name is not UTF-8.
 */
[[nodiscard]] inline nlohmann::json to_json(const codec::typed_value_view& value) {
  return detail::typed_value_json(value, "value");
}

/// An owned typed value as JSON (see `to_json(const codec::typed_value_view&)`).
[[nodiscard]] inline nlohmann::json to_json(const typed_value& value) { return to_json(detail::view_of(value)); }

/**
 * An egress record as JSON: its typed value (see `to_json(const codec::typed_value_view&)`) and
 * `"egress"`, the egress id. A Kafka record reads
 * `{"type": "type.googleapis.com/io.statefun.sdk.egress.KafkaProducerRecord", "value": {"topic":
 * "seen", "key": "ann", "value_bytes": "2"}, "egress": "greeter/seen"}`; `statefun-local run`
 * prints one per line.
 */
[[nodiscard]] inline nlohmann::json to_json(const egress_record& record) {
  nlohmann::json json = to_json(record.value);
  json["egress"] = record.egress;
  return json;
}

/**
 * Reads the JSON form of a typed value (see `to_json(const codec::typed_value_view&)`). A
 * `"value"` of a type that is neither built in nor an egress record is written as compact JSON.
 * `has_value` is true unless given; without `value`, `text` or `base64` it must be given.
 *
 * @param value The JSON object.
 * @param path How error messages name `value` (for example `invocation.invocations[0].argument`).
 * @throws std::invalid_argument naming the path of the offending field.
 */
[[nodiscard]] inline typed_value typed_value_from_json(const nlohmann::json& value, std::string path = "value") {
  return detail::read_typed_value(detail::json_input(value, std::move(path)));
}

// --- ToFunction -------------------------------------------------------------------------------

/**
 * A `ToFunction` as JSON, with the field names of `request-reply.proto`:
 * @code
 * {"invocation": {
 *    "target": {"namespace": "vec", "type": "counter", "id": "u1"},
 *    "state": [{"state_name": "count", "state_value": {"type": "io.statefun.types/int", "value": 41}},
 *              {"state_name": "seen"}],                        // registered, no state_value
 *    "invocations": [{"caller": {...}, "argument": {"type": "io.statefun.types/string", "value": "hi"}}]}}
 * @endcode
 * Addresses are objects rather than `"ns/type/id"` strings: an id may hold `/`, and a lenient
 * decoder may have let one into a namespace or type too, so only separate fields are exact.
 * Empty lists and absent callers are left out.
 *
 * @throws std::invalid_argument if a string field is not UTF-8 (the message names the field).
 */
[[nodiscard]] inline nlohmann::json to_json(const codec::invocation_batch_view& request) {
  nlohmann::json batch = nlohmann::json::object();
  batch["target"] = detail::address_json(request.target, "invocation.target");
  if (!request.states.empty()) {
    nlohmann::json states = nlohmann::json::array();
    for (std::size_t i = 0; i < request.states.size(); ++i) {
      const auto& state = request.states[i];
      const std::string path = "invocation.state[" + std::to_string(i) + "]";
      nlohmann::json s = nlohmann::json::object();
      s["state_name"] = detail::utf8_string(state.name, path + ".state_name");
      if (state.has_state_value) {
        s["state_value"] = detail::typed_value_json(state.value, path + ".state_value");
      }
      states.push_back(std::move(s));
    }
    batch["state"] = std::move(states);
  }
  if (!request.invocations.empty()) {
    nlohmann::json invocations = nlohmann::json::array();
    for (std::size_t i = 0; i < request.invocations.size(); ++i) {
      const auto& invocation = request.invocations[i];
      const std::string path = "invocation.invocations[" + std::to_string(i) + "]";
      nlohmann::json in = nlohmann::json::object();
      if (invocation.caller) {
        in["caller"] = detail::address_json(*invocation.caller, path + ".caller");
      }
      in["argument"] = detail::typed_value_json(invocation.argument, path + ".argument");
      invocations.push_back(std::move(in));
    }
    batch["invocations"] = std::move(invocations);
  }
  nlohmann::json out = nlohmann::json::object();
  out["invocation"] = std::move(batch);
  return out;
}

/**
 * Encodes the JSON form of a `ToFunction` (see `to_json(const codec::invocation_batch_view&)`)
 * as canonical protobuf. `target` and each invocation's `argument` are required; a state
 * without `state_value` is sent as the runtime sends a registered state that holds no value.
 *
 * @throws std::invalid_argument naming the path of the offending field, for example
 *         `invocation.invocations[2].argument.value: expected an integer, got a string`.
 */
[[nodiscard]] inline std::string encode_to_function(const nlohmann::json& request) {
  const detail::json_input root(request, "");
  root.object({"invocation"});
  const auto invocation = root.at("invocation");
  invocation.object({"target", "state", "invocations"});

  std::deque<typed_value> values;  // what the views of `batch` point into
  codec::invocation_batch_view batch;
  batch.target = detail::read_address(invocation.at("target"));
  if (const auto states = invocation.find("state")) {
    for (const auto& item : states->items()) {
      item.object({"state_name", "state_value"});
      codec::state_view& state = batch.states.emplace_back();
      state.name = item.at("state_name").string();
      if (const auto value = item.find("state_value")) {
        state.has_state_value = true;
        state.value = detail::view_of(values.emplace_back(detail::read_typed_value(*value)));
      }
    }
  }
  if (const auto invocations = invocation.find("invocations")) {
    for (const auto& item : invocations->items()) {
      item.object({"caller", "argument"});
      codec::invocation_view& call = batch.invocations.emplace_back();
      if (const auto caller = item.find("caller")) {
        call.caller = detail::read_address(*caller);
      }
      call.argument = detail::view_of(values.emplace_back(detail::read_typed_value(item.at("argument"))));
    }
  }
  std::string out;
  batch.encode(out);
  return out;
}

// --- FromFunction -----------------------------------------------------------------------------

/**
 * A `FromFunction` as JSON, with the field names and enum names of `request-reply.proto`:
 * @code
 * {"invocation_result": {
 *    "state_mutations": [{"mutation_type": "MODIFY", "state_name": "count", "state_value": {...}},
 *                        {"mutation_type": "DELETE", "state_name": "seen"}],
 *    "outgoing_messages": [{"target": {...}, "argument": {...}}],
 *    "delayed_invocations": [{"delay_in_ms": 1500, "target": {...}, "argument": {...}},
 *                            {"is_cancellation_request": true, "cancellation_token": "tok-0"}],
 *    "outgoing_egresses": [{"egress_namespace": "vec", "egress_type": "kafka", "argument": {...}}]}}
 * {"incomplete_invocation_context": {"missing_values": [
 *    {"state_name": "seen", "type_typename": "io.statefun.types/int",
 *     "expiration_spec": {"mode": "AFTER_INVOKE", "expire_after_millis": 60000}}]}}
 * @endcode
 * An `expiration_spec` is shown when it was on the wire, empty ones included. A response with
 * no effects (no bytes at all, too) is `{"invocation_result": {}}`.
 *
 * @throws std::invalid_argument if a string field is not UTF-8 (the message names the field).
 */
[[nodiscard]] inline nlohmann::json to_json(const codec::from_function_view& response) {
  nlohmann::json out = nlohmann::json::object();
  if (response.incomplete) {
    nlohmann::json context = nlohmann::json::object();
    if (!response.missing_values.empty()) {
      nlohmann::json missing = nlohmann::json::array();
      for (std::size_t i = 0; i < response.missing_values.size(); ++i) {
        const auto& m = response.missing_values[i];
        const std::string path = "incomplete_invocation_context.missing_values[" + std::to_string(i) + "]";
        nlohmann::json spec = nlohmann::json::object();
        spec["state_name"] = detail::utf8_string(m.state_name, path + ".state_name");
        spec["type_typename"] = detail::utf8_string(m.type_name, path + ".type_typename");
        if (m.has_expiration_spec || m.mode != codec::expire_mode::none) {
          spec["expiration_spec"] = {{"mode", detail::enum_json(m.mode, detail::expire_mode_names)},
                                     {"expire_after_millis", m.expire_after_ms}};
        }
        missing.push_back(std::move(spec));
      }
      context["missing_values"] = std::move(missing);
    }
    out["incomplete_invocation_context"] = std::move(context);
    return out;
  }

  nlohmann::json result = nlohmann::json::object();
  const auto each = [&result](const char* field, const auto& items, const auto& render) {
    if (items.empty()) {
      return;
    }
    nlohmann::json list = nlohmann::json::array();
    for (std::size_t i = 0; i < items.size(); ++i) {
      list.push_back(render(items[i], "invocation_result." + std::string(field) + "[" + std::to_string(i) + "]"));
    }
    result[field] = std::move(list);
  };
  each("state_mutations", response.mutations, [](const codec::mutation_view& m, const std::string& path) {
    nlohmann::json j = nlohmann::json::object();
    j["mutation_type"] = detail::enum_json(m.type, detail::mutation_names);
    j["state_name"] = detail::utf8_string(m.state_name, path + ".state_name");
    if (m.type == codec::mutation_type::modify) {
      j["state_value"] = detail::typed_value_json(m.value, path + ".state_value");
    }
    return j;
  });
  each("outgoing_messages", response.messages, [](const codec::message_view& m, const std::string& path) {
    nlohmann::json j = nlohmann::json::object();
    j["target"] = detail::address_json(m.target, path + ".target");
    j["argument"] = detail::typed_value_json(m.argument, path + ".argument");
    return j;
  });
  each("delayed_invocations", response.delayed, [](const codec::delayed_view& d, const std::string& path) {
    nlohmann::json j = nlohmann::json::object();
    if (d.is_cancellation) {
      j["is_cancellation_request"] = true;
    }
    if (!d.is_cancellation || d.delay_ms != 0) {
      j["delay_in_ms"] = d.delay_ms;
    }
    if (!d.is_cancellation) {
      j["target"] = detail::address_json(d.target, path + ".target");
      j["argument"] = detail::typed_value_json(d.argument, path + ".argument");
    }
    if (d.is_cancellation || !d.cancellation_token.empty()) {
      j["cancellation_token"] = detail::utf8_string(d.cancellation_token, path + ".cancellation_token");
    }
    return j;
  });
  each("outgoing_egresses", response.egresses, [](const codec::egress_view& e, const std::string& path) {
    nlohmann::json j = nlohmann::json::object();
    j["egress_namespace"] = detail::utf8_string(e.egress_namespace, path + ".egress_namespace");
    j["egress_type"] = detail::utf8_string(e.egress_type, path + ".egress_type");
    j["argument"] = detail::typed_value_json(e.argument, path + ".argument");
    return j;
  });
  out["invocation_result"] = std::move(result);
  return out;
}

/**
 * Encodes the JSON form of a `FromFunction` (see `to_json(const codec::from_function_view&)`)
 * as canonical protobuf, through `codec::from_function_writer`. `{}` and an empty
 * `invocation_result` are written as no bytes, which the runtime reads as no effects.
 *
 * Fields the writer could not keep are refused rather than dropped: a `state_value` on a DELETE,
 * a `target` or `argument` on a cancellation, milliseconds with expiration mode NONE.
 *
 * @throws std::invalid_argument naming the path of the offending field.
 */
[[nodiscard]] inline std::string encode_from_function(const nlohmann::json& response) {
  const detail::json_input root(response, "");
  root.object({"invocation_result", "incomplete_invocation_context"});
  const auto result = root.find("invocation_result");
  const auto context = root.find("incomplete_invocation_context");
  if (result && context) {
    root.fail("give invocation_result or incomplete_invocation_context, not both (they are a oneof)");
  }
  std::string out;
  if (context) {
    context->object({"missing_values"});
    std::vector<codec::missing_value_view> missing;
    if (const auto list = context->find("missing_values")) {
      for (const auto& item : list->items()) {
        item.object({"state_name", "type_typename", "expiration_spec"});
        codec::missing_value_view& m = missing.emplace_back();
        m.state_name = item.at("state_name").string();
        m.type_name = item.at("type_typename").string();
        if (const auto spec = item.find("expiration_spec")) {
          spec->object({"mode", "expire_after_millis"});
          m.has_expiration_spec = true;
          if (const auto mode = spec->find("mode")) {
            m.mode = detail::read_enum(*mode, detail::expire_mode_names, false);
          }
          if (const auto millis = spec->find("expire_after_millis")) {
            m.expire_after_ms = detail::read_int64(*millis);
            if (m.mode == codec::expire_mode::none && m.expire_after_ms != 0) {
              millis->fail("must be 0 with mode NONE (the runtime ignores it, so it is not written)");
            }
          }
        }
      }
    }
    codec::from_function_writer::write_incomplete_context(missing, out);
    return out;
  }

  codec::from_function_writer writer;
  if (result) {
    result->object({"state_mutations", "outgoing_messages", "delayed_invocations", "outgoing_egresses"});
    const auto list = [&result](std::string_view key) {
      const auto l = result->find(key);
      return l ? l->items() : std::vector<detail::json_input>{};
    };
    std::deque<typed_value> values;  // each effect is encoded when added, so one at a time would do
    for (const auto& item : list("state_mutations")) {
      item.object({"mutation_type", "state_name", "state_value"});
      codec::mutation_view m;
      m.type = detail::read_enum(item.at("mutation_type"), detail::mutation_names, true);
      m.state_name = item.at("state_name").string();
      if (m.type == codec::mutation_type::modify) {
        m.value = detail::view_of(values.emplace_back(detail::read_typed_value(item.at("state_value"))));
      } else if (const auto value = item.find("state_value")) {
        value->fail("a DELETE mutation carries no value");
      }
      writer.add_mutation(m);
    }
    for (const auto& item : list("outgoing_messages")) {
      item.object({"target", "argument"});
      codec::message_view m;
      m.target = detail::read_address(item.at("target"));
      m.argument = detail::view_of(values.emplace_back(detail::read_typed_value(item.at("argument"))));
      writer.add_message(m);
    }
    for (const auto& item : list("delayed_invocations")) {
      item.object({"delay_in_ms", "target", "argument", "is_cancellation_request", "cancellation_token"});
      codec::delayed_view d;
      if (const auto cancel = item.find("is_cancellation_request")) {
        d.is_cancellation = cancel->boolean();
      }
      if (const auto delay = item.find("delay_in_ms")) {
        d.delay_ms = detail::read_int64(*delay);
      }
      d.cancellation_token = detail::optional_string(item, "cancellation_token");
      if (d.is_cancellation) {
        for (const char* key : {"target", "argument"}) {
          if (const auto extra = item.find(key)) {
            extra->fail("a cancellation request names only its cancellation_token");
          }
        }
      } else {
        d.target = detail::read_address(item.at("target"));
        d.argument = detail::view_of(values.emplace_back(detail::read_typed_value(item.at("argument"))));
      }
      writer.add_delayed(d);
    }
    for (const auto& item : list("outgoing_egresses")) {
      item.object({"egress_namespace", "egress_type", "argument"});
      codec::egress_view e;
      e.egress_namespace = item.at("egress_namespace").string();
      e.egress_type = item.at("egress_type").string();
      e.argument = detail::view_of(values.emplace_back(detail::read_typed_value(item.at("argument"))));
      writer.add_egress(e);
    }
  }
  writer.finish(out);
  return out;
}

// --- The command-line shorthand ---------------------------------------------------------------

/**
 * Reads the command-line shorthand for one value, `TYPE:VALUE`, split at the first `:` (a type
 * name never holds one; the value may):
 *
 * | TYPE | VALUE | bytes |
 * |---|---|---|
 * | `bool`, `int`, `long`, `float`, `double`, `string` (short for `io.statefun.types/...`), or that full name | a literal: `true`/`false`, a decimal integer, a decimal or `nan`/`inf`/`-inf`, any text | the wrapper message |
 * | any other `namespace/name` | `json:TEXT` | TEXT, which must be JSON (sent as given) |
 * | | `text:TEXT` | TEXT (UTF-8) |
 * | | `base64:DATA` | DATA decoded |
 * | | `@PATH` | the contents of the file PATH |
 *
 * An empty literal is the type's zero value (`float:` is 0, `string:` is ""), which protobuf
 * writes as no bytes. There is no short JSON type: a JSON value needs the type name the function
 * reads it as, so `json:{...}` alone is refused with that advice.
 *
 * **Example**: `long:42`, `string:a:b` (the string "a:b"), `io.statefun.types/int:-7`,
 * `example/User:json:{"name":"ann"}`, `example/Blob:base64:AAEC`, `example/Blob:@blob.bin`.
 *
 * @throws std::invalid_argument naming `text` and what is wrong with it.
 */
[[nodiscard]] inline typed_value parse_typed_value(std::string_view text) {
  const auto refuse = [text](std::string_view why) {
    return std::invalid_argument("'" + std::string(text) + "': " + std::string(why));
  };
  const std::size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    throw refuse("expected TYPE:VALUE, for example string:hello or long:42");
  }
  const std::string_view type_part = text.substr(0, colon);
  const std::string_view literal = text.substr(colon + 1);

  typed_value out;
  out.has_value = true;
  if (type_part.find('/') == std::string_view::npos) {
    static constexpr std::array<std::string_view, 6> aliases{"bool", "int", "long", "float", "double", "string"};
    bool known = false;
    for (const std::string_view alias : aliases) {
      known = known || alias == type_part;
    }
    if (type_part == "json") {
      throw refuse("a JSON value needs the type name the function reads it as: NAMESPACE/NAME:json:" +
                   std::string(literal) + " (for example example/User:json:{\"name\":\"ann\"})");
    }
    if (!known) {
      throw refuse("unknown type '" + std::string(type_part) +
                   "' (expected bool, int, long, float, double, string, or a type name namespace/name)");
    }
    out.type = "io.statefun.types/" + std::string(type_part);
  } else {
    if (const auto why = type_name::problem(type_part); !why.empty()) {
      throw refuse("the type name '" + std::string(type_part) + "' " + std::string(why));
    }
    out.type = std::string(type_part);
  }

  if (detail::is_builtin_type(out.type)) {
    const auto number = [&](auto zero, std::string_view expected) {
      auto value = zero;
      if (literal.empty()) {
        return value;
      }
      const auto [end, error] = std::from_chars(literal.data(), literal.data() + literal.size(), value);
      if (error == std::errc::result_out_of_range) {
        throw refuse("'" + std::string(literal) + "' is out of range for " + std::string(expected));
      }
      if (error != std::errc{} || end != literal.data() + literal.size()) {
        throw refuse("expected " + std::string(expected) + ", got '" + std::string(literal) + "'");
      }
      return value;
    };
    if (out.type == type<bool>::name()) {
      if (literal != "true" && literal != "false" && !literal.empty()) {
        throw refuse("expected true or false, got '" + std::string(literal) + "'");
      }
      type<bool>::encode(literal == "true", out.value);
    } else if (out.type == type<std::int32_t>::name()) {
      type<std::int32_t>::encode(number(std::int32_t{0}, "a 32-bit integer"), out.value);
    } else if (out.type == type<std::int64_t>::name()) {
      type<std::int64_t>::encode(number(std::int64_t{0}, "a 64-bit integer"), out.value);
    } else if (out.type == type<float>::name()) {
      type<float>::encode(number(0.0F, "a number"), out.value);
    } else if (out.type == type<double>::name()) {
      type<double>::encode(number(0.0, "a number"), out.value);
    } else {
      if (!detail::valid_utf8(literal)) {
        throw refuse("a string must be UTF-8");
      }
      type<std::string_view>::encode(literal, out.value);
    }
    return out;
  }

  if (literal.starts_with("json:")) {
    const std::string_view json = literal.substr(5);
    if (!nlohmann::json::accept(json)) {
      throw refuse("'" + std::string(json) + "' is not JSON");
    }
    out.value = std::string(json);
  } else if (literal.starts_with("text:")) {
    out.value = std::string(literal.substr(5));
  } else if (literal.starts_with("base64:")) {
    auto bytes = detail::base64_decode(literal.substr(7));
    if (!bytes) {
      throw refuse("'" + std::string(literal.substr(7)) + "' is not base64");
    }
    out.value = std::move(*bytes);
  } else if (literal.starts_with("@")) {
    const std::string path(literal.substr(1));
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      throw refuse("cannot read the file '" + path + "'");
    }
    out.value.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (in.bad()) {
      throw refuse("cannot read the file '" + path + "'");
    }
  } else {
    throw refuse("a value of type " + out.type + " is given as json:TEXT, text:TEXT, base64:DATA or @FILE");
  }
  return out;
}

/**
 * Reads an address written `namespace/type/id`. The function type's two parts hold no `/`, so
 * the split at the first two is unambiguous and the id keeps any further `/`.
 *
 * @throws std::invalid_argument naming `text` if a part is missing or empty.
 */
[[nodiscard]] inline address parse_address(std::string_view text) {
  const std::size_t first = text.find('/');
  const std::size_t second = first == std::string_view::npos ? first : text.find('/', first + 1);
  if (second == std::string_view::npos || first == 0 || second == first + 1 || second + 1 == text.size()) {
    throw std::invalid_argument("'" + std::string(text) +
                                "': expected namespace/type/id (three non-empty parts; the id may contain '/')");
  }
  return address{type_name(text.substr(0, second)), std::string(text.substr(second + 1))};
}

}  // namespace statefun::inline v0::local
