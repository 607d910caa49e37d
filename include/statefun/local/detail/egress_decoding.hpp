#pragma once

/// @file
/// Reads the records of the generic Kafka and Kinesis egresses, as the real runtime's egress
/// serialisers do (docs/runtime_rules.md §2.11, rule 21).

#include <statefun/codec/views.hpp>
#include <statefun/detail/fields.hpp>
#include <statefun/detail/utf8.hpp>
#include <statefun/detail/wire.hpp>
#include <statefun/local/records.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace statefun::inline v0::local::detail {

/// A `KafkaProducerRecord`, or nothing if `bytes` do not parse as one (protobuf-java's rules:
/// its `string` fields must be UTF-8).
inline std::optional<kafka_record> decode_kafka_record(std::string_view bytes) {
  namespace f = statefun::detail::fields::kafka_record;
  std::string_view key, value, topic;
  statefun::detail::wire_reader r(bytes);
  statefun::detail::wire_field field;
  while (r.next(field)) {
    switch (field.number) {
      case f::key: codec::wire::read_string(r, field, key); break;
      case f::value_bytes: codec::wire::read_string(r, field, value); break;
      case f::topic: codec::wire::read_string(r, field, topic); break;
      default: r.skip(field);
    }
  }
  if (r.failed() || !statefun::detail::is_valid_utf8(key) || !statefun::detail::is_valid_utf8(topic)) {
    return std::nullopt;
  }
  return kafka_record{std::string(topic), key.empty() ? std::nullopt : std::optional<std::string>(key),
                      std::string(value)};
}

/// A `KinesisEgressRecord`, or nothing if `bytes` do not parse as one (its `string` fields must
/// be UTF-8).
inline std::optional<kinesis_record> decode_kinesis_record(std::string_view bytes) {
  namespace f = statefun::detail::fields::kinesis_record;
  std::string_view partition_key, value, stream, hash_key;
  statefun::detail::wire_reader r(bytes);
  statefun::detail::wire_field field;
  while (r.next(field)) {
    switch (field.number) {
      case f::partition_key: codec::wire::read_string(r, field, partition_key); break;
      case f::value_bytes: codec::wire::read_string(r, field, value); break;
      case f::stream: codec::wire::read_string(r, field, stream); break;
      case f::explicit_hash_key: codec::wire::read_string(r, field, hash_key); break;
      default: r.skip(field);
    }
  }
  if (r.failed() || !statefun::detail::is_valid_utf8(partition_key) || !statefun::detail::is_valid_utf8(stream) ||
      !statefun::detail::is_valid_utf8(hash_key)) {
    return std::nullopt;
  }
  return kinesis_record{std::string(stream), std::string(partition_key), std::string(value), std::string(hash_key)};
}

}  // namespace statefun::inline v0::local::detail
