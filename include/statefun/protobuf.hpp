#pragma once

/// @file
/// Protobuf message value types: every Google protobuf message (full or lite runtime) is typed
/// once this header is included, under `type.googleapis.com/<full message name>` as the
/// official SDKs name them. This header does not include protobuf itself: it recognises a
/// message by its interface.

#include <statefun/type.hpp>

#include <concepts>
#include <string>
#include <string_view>

namespace statefun::inline v0 {

/// The part of `google::protobuf::MessageLite` that a value type needs.
template <class M>
concept protobuf_message = detail::protobuf_interface<M>;

/// The value type of protobuf message `M`.
template <protobuf_message M>
struct protobuf_type {
  /// `type.googleapis.com/` and the message's full name, as the other SDKs name protobuf values.
  static std::string_view name() {
    static const std::string name = "type.googleapis.com/" + std::string(M{}.GetTypeName());
    return name;
  }
  /// Appends the serialised message. @throws std::invalid_argument if it cannot be serialised.
  static void encode(const M& message, std::string& out) {
    if (!message.AppendToString(&out)) {
      throw std::invalid_argument("statefun: cannot serialise " + std::string(name()) +
                                  " (are required fields missing?)");
    }
  }
  /// @throws statefun::decode_error if `bytes` do not parse as `M`.
  static M decode(std::string_view bytes) {
    M message;
    if (!message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
      throw decode_error("statefun: malformed " + std::string(name()) + " value");
    }
    return message;
  }
};

/// Every protobuf message is a value type.
template <protobuf_message M>
struct type<M> : protobuf_type<M> {};

}  // namespace statefun::inline v0
