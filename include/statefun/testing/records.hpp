#pragma once

/// @file
/// What a function sent, as a test reads it: messages, delayed messages and egress records
/// (Kafka and Kinesis records decoded).

#include <statefun/address.hpp>
#include <statefun/config.hpp>
#include <statefun/error.hpp>
#include <statefun/testing/typed_value.hpp>
#include <statefun/type.hpp>

#include <bit>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace statefun::inline v0::testing {

/// A message sent now (`send`, `reply`, or a durable function's call).
struct sent_message {
  /// Where it goes.
  address target;
  /// What it carries.
  typed_value value;

  /// The value decoded as `T` (see `typed_value::as`).
  template <typed T>
  [[nodiscard]] T as() const {
    return value.as<T>();
  }
  /// True when it carries a `T`.
  template <typed T>
  [[nodiscard]] bool is() const {
    return value.is<T>();
  }
};

/// A message sent with `send_after`.
struct delayed_message {
  /// Where it goes.
  address target;
  /// After how long.
  std::chrono::milliseconds delay{};
  /// Its cancellation token; empty when it was sent without one.
  std::string token;
  /// What it carries.
  typed_value value;

  /// The value decoded as `T` (see `typed_value::as`).
  template <typed T>
  [[nodiscard]] T as() const {
    return value.as<T>();
  }
};

namespace detail {

/// Reads record bytes written by `append_record_value`: strings and bytes as they are,
/// int32/int64/float/double big-endian, any other type in its StateFun encoding.
template <typed T>
T record_value_as(std::string_view bytes) {
  auto big_endian = [bytes]<class Bits>(Bits) {
    if (bytes.size() != sizeof(Bits)) {
      throw decode_error("statefun::testing: a record value of " + std::to_string(bytes.size()) +
                         " bytes read as a " + std::to_string(sizeof(Bits)) + "-byte number");
    }
    Bits bits = 0;
    for (const char c : bytes) {
      bits = static_cast<Bits>((bits << 8) | static_cast<unsigned char>(c));
    }
    return bits;
  };
  if constexpr (std::is_same_v<T, std::string>) {
    return std::string(bytes);
  } else if constexpr (std::is_same_v<T, std::int32_t>) {
    return static_cast<std::int32_t>(big_endian(std::uint32_t{}));
  } else if constexpr (std::is_same_v<T, std::int64_t>) {
    return static_cast<std::int64_t>(big_endian(std::uint64_t{}));
  } else if constexpr (std::is_same_v<T, float>) {
    return std::bit_cast<float>(big_endian(std::uint32_t{}));
  } else if constexpr (std::is_same_v<T, double>) {
    return std::bit_cast<double>(big_endian(std::uint64_t{}));
  } else {
    return type<T>::decode(bytes);
  }
}

}  // namespace detail

/// A record for a Kafka egress (`kafka_egress`), decoded.
struct kafka_record {
  /// The topic.
  std::string topic;
  /// The key; nothing for a keyless record.
  std::optional<std::string> key;
  /// The value's bytes, exactly as the egress writes them.
  std::string value;

  /// The value read back as `T`, the way `kafka_egress::value` wrote it (strings as they are,
  /// numbers big-endian, other types in their StateFun encoding).
  template <typed T>
  [[nodiscard]] T value_as() const {
    return detail::record_value_as<T>(value);
  }
};

/// A record for a Kinesis egress (`kinesis_egress`), decoded.
struct kinesis_record {
  /// The stream.
  std::string stream;
  /// The partition key.
  std::string partition_key;
  /// The explicit hash key; empty when not set.
  std::string explicit_hash_key;
  /// The value's bytes, exactly as the egress writes them.
  std::string value;

  /// The value read back as `T` (as `kafka_record::value_as`).
  template <typed T>
  [[nodiscard]] T value_as() const {
    return detail::record_value_as<T>(value);
  }
};

/// A record sent to an egress.
struct egress_record {
  /// The egress id, `namespace/name`.
  std::string egress;
  /// The record as sent (for `egress_to(...).value(v)`: `v`).
  typed_value value;
  /// The record decoded, when it is a Kafka record.
  std::optional<kafka_record> kafka;
  /// The record decoded, when it is a Kinesis record.
  std::optional<kinesis_record> kinesis;

  /// The record's value decoded as `T` (see `typed_value::as`).
  template <typed T>
  [[nodiscard]] T as() const {
    return value.as<T>();
  }
};

}  // namespace statefun::inline v0::testing
