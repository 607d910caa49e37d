#pragma once

/// @file
/// What goes into and comes out of the local runtime: owned typed values and egress records.

#include <statefun/config.hpp>
#include <statefun/type.hpp>
#include <statefun/type_name.hpp>

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace statefun::inline v0::local {

/// A `TypedValue` that owns its bytes.
struct typed_value {
  /// The type name.
  std::string type{};
  /// The encoded bytes.
  std::string value{};
  /// False for an absent value.
  bool has_value = true;

  /// `v` encoded as its StateFun type.
  template <typed T>
  [[nodiscard]] static typed_value of(const T& v) {
    typed_value out{std::string(statefun::type<T>::name()), {}, true};
    statefun::type<T>::encode(v, out.value);
    return out;
  }

  /// True when the value is a `T` (same type name).
  template <typed T>
  [[nodiscard]] bool is() const noexcept {
    return has_value && type == statefun::type<T>::name();
  }

  /**
   * The value decoded as a `T`.
   * @throws std::invalid_argument if it is not a `T`; `statefun::decode_error` if it does not decode.
   */
  template <typed T>
  [[nodiscard]] T as() const {
    if (!is<T>()) {
      throw std::invalid_argument("statefun::local: a value of type '" + type + "' read as '" +
                                  std::string(statefun::type<T>::name()) + "'");
    }
    return statefun::type<T>::decode(value);
  }

  /// Field-wise equality.
  friend bool operator==(const typed_value&, const typed_value&) = default;
};

/// A `KafkaProducerRecord`, as a Kafka egress writes it to its topic.
struct kafka_record {
  /// The Kafka topic.
  std::string topic{};
  std::optional<std::string> key{};  ///< absent for a keyless record (an empty key on the wire)
  /// The record's value bytes.
  std::string value{};
  /// Field-wise equality.
  friend bool operator==(const kafka_record&, const kafka_record&) = default;
};

/// A `KinesisEgressRecord`, as a Kinesis egress writes it to its stream.
struct kinesis_record {
  /// The Kinesis stream.
  std::string stream{};
  /// The partition key.
  std::string partition_key{};
  /// The record's value bytes.
  std::string value{};
  std::string explicit_hash_key{};  ///< empty: not set
  /// Field-wise equality.
  friend bool operator==(const kinesis_record&, const kinesis_record&) = default;
};

/// One record an egress published.
struct egress_record {
  std::string egress{};  ///< the egress id, `namespace/name`
  typed_value value{};   ///< exactly as the function sent it
  std::optional<kafka_record> kafka{};      ///< decoded, for a Kafka egress
  std::optional<kinesis_record> kinesis{};  ///< decoded, for a Kinesis egress
};

}  // namespace statefun::inline v0::local
