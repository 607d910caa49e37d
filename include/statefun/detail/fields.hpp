#pragma once

// Field numbers of the request-reply protocol and of the egress records, taken from the
// nanopb-generated headers so that proto/*.proto stay the single source of truth.

#include <statefun/detail/proto/kafka-egress.pb.h>
#include <statefun/detail/proto/kinesis-egress.pb.h>
#include <statefun/detail/proto/request-reply.pb.h>

#include <cstdint>

namespace statefun::inline v0::detail::fields {

// NOLINTBEGIN(readability-identifier-naming): one block mirrors the .proto
namespace address {
inline constexpr std::uint32_t namespace_name = io_statefun_sdk_reqreply_Address_namespace__tag;
inline constexpr std::uint32_t type = io_statefun_sdk_reqreply_Address_type_tag;
inline constexpr std::uint32_t id = io_statefun_sdk_reqreply_Address_id_tag;
}  // namespace address

namespace typed_value {
inline constexpr std::uint32_t type_name = io_statefun_sdk_reqreply_TypedValue_typename__tag;
inline constexpr std::uint32_t has_value = io_statefun_sdk_reqreply_TypedValue_has_value_tag;
inline constexpr std::uint32_t value = io_statefun_sdk_reqreply_TypedValue_value_tag;
}  // namespace typed_value

namespace to_function {
inline constexpr std::uint32_t invocation = io_statefun_sdk_reqreply_ToFunction_invocation_tag;
}
namespace persisted_value {
inline constexpr std::uint32_t state_name = io_statefun_sdk_reqreply_ToFunction_PersistedValue_state_name_tag;
inline constexpr std::uint32_t state_value = io_statefun_sdk_reqreply_ToFunction_PersistedValue_state_value_tag;
}  // namespace persisted_value
namespace batch {
inline constexpr std::uint32_t target = io_statefun_sdk_reqreply_ToFunction_InvocationBatchRequest_target_tag;
inline constexpr std::uint32_t state = io_statefun_sdk_reqreply_ToFunction_InvocationBatchRequest_state_tag;
inline constexpr std::uint32_t invocations = io_statefun_sdk_reqreply_ToFunction_InvocationBatchRequest_invocations_tag;
}  // namespace batch
namespace invocation {
inline constexpr std::uint32_t caller = io_statefun_sdk_reqreply_ToFunction_Invocation_caller_tag;
inline constexpr std::uint32_t argument = io_statefun_sdk_reqreply_ToFunction_Invocation_argument_tag;
}  // namespace invocation

namespace from_function {
inline constexpr std::uint32_t invocation_result = io_statefun_sdk_reqreply_FromFunction_invocation_result_tag;
inline constexpr std::uint32_t incomplete_context = io_statefun_sdk_reqreply_FromFunction_incomplete_invocation_context_tag;
}  // namespace from_function
namespace response {
inline constexpr std::uint32_t state_mutations = io_statefun_sdk_reqreply_FromFunction_InvocationResponse_state_mutations_tag;
inline constexpr std::uint32_t outgoing_messages = io_statefun_sdk_reqreply_FromFunction_InvocationResponse_outgoing_messages_tag;
inline constexpr std::uint32_t delayed_invocations = io_statefun_sdk_reqreply_FromFunction_InvocationResponse_delayed_invocations_tag;
inline constexpr std::uint32_t outgoing_egresses = io_statefun_sdk_reqreply_FromFunction_InvocationResponse_outgoing_egresses_tag;
}  // namespace response
namespace mutation {
inline constexpr std::uint32_t mutation_type = io_statefun_sdk_reqreply_FromFunction_PersistedValueMutation_mutation_type_tag;
inline constexpr std::uint32_t state_name = io_statefun_sdk_reqreply_FromFunction_PersistedValueMutation_state_name_tag;
inline constexpr std::uint32_t state_value = io_statefun_sdk_reqreply_FromFunction_PersistedValueMutation_state_value_tag;
}  // namespace mutation
namespace outgoing {
inline constexpr std::uint32_t target = io_statefun_sdk_reqreply_FromFunction_Invocation_target_tag;
inline constexpr std::uint32_t argument = io_statefun_sdk_reqreply_FromFunction_Invocation_argument_tag;
}  // namespace outgoing
namespace delayed {
inline constexpr std::uint32_t delay_in_ms = io_statefun_sdk_reqreply_FromFunction_DelayedInvocation_delay_in_ms_tag;
inline constexpr std::uint32_t target = io_statefun_sdk_reqreply_FromFunction_DelayedInvocation_target_tag;
inline constexpr std::uint32_t argument = io_statefun_sdk_reqreply_FromFunction_DelayedInvocation_argument_tag;
inline constexpr std::uint32_t is_cancellation_request = io_statefun_sdk_reqreply_FromFunction_DelayedInvocation_is_cancellation_request_tag;
inline constexpr std::uint32_t cancellation_token = io_statefun_sdk_reqreply_FromFunction_DelayedInvocation_cancellation_token_tag;
}  // namespace delayed
namespace egress {
inline constexpr std::uint32_t egress_namespace = io_statefun_sdk_reqreply_FromFunction_EgressMessage_egress_namespace_tag;
inline constexpr std::uint32_t egress_type = io_statefun_sdk_reqreply_FromFunction_EgressMessage_egress_type_tag;
inline constexpr std::uint32_t argument = io_statefun_sdk_reqreply_FromFunction_EgressMessage_argument_tag;
}  // namespace egress
namespace expiration_spec {
inline constexpr std::uint32_t mode = io_statefun_sdk_reqreply_FromFunction_ExpirationSpec_mode_tag;
inline constexpr std::uint32_t expire_after_millis = io_statefun_sdk_reqreply_FromFunction_ExpirationSpec_expire_after_millis_tag;
}  // namespace expiration_spec
namespace value_spec {
inline constexpr std::uint32_t state_name = io_statefun_sdk_reqreply_FromFunction_PersistedValueSpec_state_name_tag;
inline constexpr std::uint32_t expiration_spec = io_statefun_sdk_reqreply_FromFunction_PersistedValueSpec_expiration_spec_tag;
inline constexpr std::uint32_t type_typename = io_statefun_sdk_reqreply_FromFunction_PersistedValueSpec_type_typename_tag;
}  // namespace value_spec
namespace incomplete_context {
inline constexpr std::uint32_t missing_values = io_statefun_sdk_reqreply_FromFunction_IncompleteInvocationContext_missing_values_tag;
}
namespace kafka_record {
inline constexpr std::uint32_t key = io_statefun_sdk_egress_KafkaProducerRecord_key_tag;
inline constexpr std::uint32_t value_bytes = io_statefun_sdk_egress_KafkaProducerRecord_value_bytes_tag;
inline constexpr std::uint32_t topic = io_statefun_sdk_egress_KafkaProducerRecord_topic_tag;
}  // namespace kafka_record
namespace kinesis_record {
inline constexpr std::uint32_t partition_key = io_statefun_sdk_egress_KinesisEgressRecord_partition_key_tag;
inline constexpr std::uint32_t value_bytes = io_statefun_sdk_egress_KinesisEgressRecord_value_bytes_tag;
inline constexpr std::uint32_t stream = io_statefun_sdk_egress_KinesisEgressRecord_stream_tag;
inline constexpr std::uint32_t explicit_hash_key = io_statefun_sdk_egress_KinesisEgressRecord_explicit_hash_key_tag;
}  // namespace kinesis_record
// NOLINTEND(readability-identifier-naming)

}  // namespace statefun::inline v0::detail::fields
