#pragma once

/// @file
/// Egress records: to any egress (`egress_to`), to Kafka (`kafka_egress`) and to Kinesis
/// (`kinesis_egress`), encoded exactly as the runtime's Kafka and Kinesis egresses read them.

#include <statefun/detail/encoded_value.hpp>
#include <statefun/detail/fields.hpp>
#include <statefun/detail/utf8.hpp>
#include <statefun/detail/wire.hpp>
#include <statefun/type_name.hpp>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace statefun::inline v0 {

/// A record ready for `context::send_egress`. It owns its data.
class egress_message {
 public:
  /// A record of an encoded value for the egress `egress`; the builders make these.
  egress_message(type_name egress, detail::encoded_value value)
      : egress_(std::move(egress)), value_(std::move(value)) {}

  /// The egress identifier (`namespace/name`) as bound in module.yaml.
  [[nodiscard]] const type_name& egress() const noexcept { return egress_; }
  /// The record's type name (for Kafka and Kinesis, their protobuf record types).
  [[nodiscard]] std::string_view value_type() const noexcept { return value_.type(); }
  /// The record's encoded bytes.
  [[nodiscard]] std::string_view value() const noexcept { return value_.bytes(); }

 private:
  type_name egress_;
  detail::encoded_value value_;
};

/// The first half of `egress_to(id).value(v)`: a record to any egress, as a typed value.
class egress_builder {
 public:
  /// Starts a record to the egress `egress`; `egress_to` is the usual way.
  explicit egress_builder(type_name egress) : egress_(std::move(egress)) {}

  /**
   * The record is `v`, encoded with its `statefun::type<V>`.
   * @throws std::invalid_argument if `v` cannot be encoded (a string that is not UTF-8).
   */
  template <detail::value_argument V>
  [[nodiscard]] egress_message value(const V& v) && {
    return {std::move(egress_), detail::encoded_value::of(v)};
  }

  /// The record is `bytes`, already encoded, under the type name `value_type`; sent unchanged.
  [[nodiscard]] egress_message raw_value(const type_name& value_type, std::string bytes) && {
    return {std::move(egress_), detail::encoded_value::raw(value_type, std::move(bytes))};
  }

 private:
  type_name egress_;
};

/// Starts a record to the egress `egress` (for example a user-defined or custom I/O egress).
[[nodiscard]] inline egress_builder egress_to(type_name egress) {
  return egress_builder(std::move(egress));
}

namespace detail {

/// Raw bytes for a record's payload, taken as they are.
using byte_span = std::span<const std::byte>;

template <class V>
concept record_value = !std::is_null_pointer_v<V>;  // the rest goes through statefun::type

/// Appends `value` as Kafka's own serializers would: strings and bytes exactly as given (the
/// record's value is protobuf `bytes`: no UTF-8 check), int32/int64/float/double big-endian,
/// and any other typed value in its StateFun encoding.
template <record_value V>
void append_record_value(const V& value, std::string& out) {
  auto big_endian = [&out](auto bits) {
    for (int shift = 8 * (static_cast<int>(sizeof(bits)) - 1); shift >= 0; shift -= 8) {
      out.push_back(static_cast<char>(static_cast<unsigned char>(bits >> shift)));
    }
  };
  if constexpr (std::is_convertible_v<const V&, std::string_view>) {
    out.append(std::string_view(value));
  } else if constexpr (std::is_convertible_v<const V&, byte_span>) {
    const byte_span bytes(value);
    out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  } else if constexpr (std::is_same_v<V, std::int32_t>) {
    big_endian(static_cast<std::uint32_t>(value));
  } else if constexpr (std::is_same_v<V, std::int64_t>) {
    big_endian(static_cast<std::uint64_t>(value));
  } else if constexpr (std::is_same_v<V, float>) {
    big_endian(std::bit_cast<std::uint32_t>(value));
  } else if constexpr (std::is_same_v<V, double>) {
    big_endian(std::bit_cast<std::uint64_t>(value));
  } else {
    type<sent_as_t<V>>::encode(value, out);
  }
}

/// Throws `std::invalid_argument` naming `what` and the egress unless `value` is valid UTF-8:
/// the record's `string` fields must be, or the runtime cannot read the response.
inline void require_utf8_field(std::string_view value, const char* what, const type_name& egress) {
  require_utf8(value, [what, &egress] { return std::string(what) + " of a record to egress '" + egress.str() + "'"; });
}

inline void require_non_empty(std::string_view value, const char* what, const type_name& egress) {
  if (value.empty()) {
    throw std::invalid_argument("statefun: " + std::string(what) + " of a record to egress '" +
                                egress.str() + "' must not be empty");
  }
}

}  // namespace detail

/**
 * A record for a Kafka egress (`io.statefun.kafka.v1/egress`): topic, optional key, value.
 *
 * The topic and the key are protobuf `string`s: they must be UTF-8, and a setter refuses
 * anything else. The value is `bytes`: it is sent exactly as given (see `append_record_value`).
 *
 * **Example**:
 * @code
 * ctx.send_egress(statefun::kafka_egress{"example/greets"}.topic("seen").key(user).value(count));
 * @endcode
 */
class kafka_egress {
 public:
  /// Starts a record to the Kafka egress `egress` (an `io.statefun.kafka.v1/egress` id).
  explicit kafka_egress(type_name egress) : egress_(std::move(egress)) {}

  /// @throws std::invalid_argument if `topic` is not valid UTF-8.
  [[nodiscard]] kafka_egress&& topic(std::string topic) && {
    detail::require_utf8_field(topic, "the Kafka topic", egress_);
    topic_ = std::move(topic);
    return std::move(*this);
  }
  /// The record key as UTF-8; an empty key means a null key.
  /// @throws std::invalid_argument if `key` is not valid UTF-8.
  [[nodiscard]] kafka_egress&& key(std::string key) && {
    detail::require_utf8_field(key, "the Kafka key", egress_);
    key_ = std::move(key);
    return std::move(*this);
  }

  /**
   * The record, with `v` as its value (see `append_record_value` for the encodings).
   * @throws std::invalid_argument if no topic was given.
   */
  template <detail::record_value V>
  [[nodiscard]] egress_message value(const V& v) && {
    namespace f = detail::fields::kafka_record;
    detail::require_non_empty(topic_, "the Kafka topic", egress_);
    std::string value_bytes;
    detail::append_record_value(v, value_bytes);
    std::string record;
    detail::wire_writer w(record, detail::string_field_size(f::key, key_.size()) +
                                      detail::string_field_size(f::value_bytes, value_bytes.size()) +
                                      detail::string_field_size(f::topic, topic_.size()));
    w.string_field(f::key, key_);
    w.string_field(f::value_bytes, value_bytes);
    w.string_field(f::topic, topic_);
    return {std::move(egress_), detail::encoded_value::with_static_type(record_type, std::move(record))};
  }

  /// The type name the runtime's Kafka egress requires of its records.
  static constexpr std::string_view record_type =
      "type.googleapis.com/io.statefun.sdk.egress.KafkaProducerRecord";

 private:
  type_name egress_;
  std::string topic_;
  std::string key_;
};

/**
 * A record for a Kinesis egress (`io.statefun.kinesis.v1/egress`): stream, partition key,
 * optional explicit hash key, value.
 *
 * The stream and both keys are protobuf `string`s: they must be UTF-8, and a setter refuses
 * anything else. The value is `bytes`: it is sent exactly as given.
 */
class kinesis_egress {
 public:
  /// Starts a record to the Kinesis egress `egress` (an `io.statefun.kinesis.v1/egress` id).
  explicit kinesis_egress(type_name egress) : egress_(std::move(egress)) {}

  /// @throws std::invalid_argument if `stream` is not valid UTF-8.
  [[nodiscard]] kinesis_egress&& stream(std::string stream) && {
    detail::require_utf8_field(stream, "the Kinesis stream", egress_);
    stream_ = std::move(stream);
    return std::move(*this);
  }
  /// @throws std::invalid_argument if `key` is not valid UTF-8.
  [[nodiscard]] kinesis_egress&& partition_key(std::string key) && {
    detail::require_utf8_field(key, "the Kinesis partition key", egress_);
    partition_key_ = std::move(key);
    return std::move(*this);
  }
  /// @throws std::invalid_argument if `key` is not valid UTF-8.
  [[nodiscard]] kinesis_egress&& explicit_hash_key(std::string key) && {
    detail::require_utf8_field(key, "the Kinesis explicit hash key", egress_);
    explicit_hash_key_ = std::move(key);
    return std::move(*this);
  }

  /**
   * The record, with `v` as its value (encoded as for Kafka).
   * @throws std::invalid_argument if the stream or the partition key is empty.
   */
  template <detail::record_value V>
  [[nodiscard]] egress_message value(const V& v) && {
    namespace f = detail::fields::kinesis_record;
    detail::require_non_empty(stream_, "the Kinesis stream", egress_);
    detail::require_non_empty(partition_key_, "the Kinesis partition key", egress_);
    std::string value_bytes;
    detail::append_record_value(v, value_bytes);
    std::string record;
    detail::wire_writer w(record, detail::string_field_size(f::partition_key, partition_key_.size()) +
                                      detail::string_field_size(f::value_bytes, value_bytes.size()) +
                                      detail::string_field_size(f::stream, stream_.size()) +
                                      detail::string_field_size(f::explicit_hash_key, explicit_hash_key_.size()));
    w.string_field(f::partition_key, partition_key_);
    w.string_field(f::value_bytes, value_bytes);
    w.string_field(f::stream, stream_);
    w.string_field(f::explicit_hash_key, explicit_hash_key_);
    return {std::move(egress_), detail::encoded_value::with_static_type(record_type, std::move(record))};
  }

  /// The type name the runtime's Kinesis egress requires of its records.
  static constexpr std::string_view record_type =
      "type.googleapis.com/io.statefun.sdk.egress.KinesisEgressRecord";

 private:
  type_name egress_;
  std::string stream_;
  std::string partition_key_;
  std::string explicit_hash_key_;
};

}  // namespace statefun::inline v0
