#pragma once

/// @file
/// `ToFunction`, the runtime's request: decoded into views without copying, and encoded (for the
/// local runtime, tools and tests).

#include <statefun/codec/views.hpp>

#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace statefun::inline v0::codec {

/// `ToFunction.PersistedValue`: one registered state and, if it holds one, its value.
struct state_view {
  /// `state_name`.
  std::string_view name;
  /// False when the runtime left `state_value` out (the state holds no value).
  bool has_state_value = false;
  /// `state_value`, when `has_state_value`.
  typed_value_view value;

  /// True when the state holds a value: `state_value` is there with `has_value` set.
  [[nodiscard]] bool holds_value() const noexcept { return has_state_value && value.has_value; }
  /// Field-wise equality.
  friend bool operator==(const state_view&, const state_view&) = default;
};

/// `ToFunction.Invocation`: one message to the target.
struct invocation_view {
  /// Absent for messages from an ingress (an all-empty caller is treated as absent).
  std::optional<address_view> caller;
  /// `argument`: the message.
  typed_value_view argument;

  /// Field-wise equality.
  friend bool operator==(const invocation_view&, const invocation_view&) = default;
};

/**
 * `ToFunction{invocation: InvocationBatchRequest}`, decoded into views over the request bytes.
 *
 * Decoding reuses the vectors' storage, so a long-lived `invocation_batch_view` decodes request
 * after request without allocating.
 */
struct invocation_batch_view {
  /// `target`: the address the batch is for.
  address_view target;
  /// `state`: every state registered for the function type.
  std::vector<state_view> states;
  /// `invocations`, in the order they are to run.
  std::vector<invocation_view> invocations;

  /**
   * Decodes a `ToFunction` from `bytes`. On success every view points into `bytes`.
   *
   * Unknown fields are skipped, and so are known fields with an unexpected wire type (as
   * protobuf parsers do); anything malformed (truncated, a bad varint, a group, a length past
   * the end) is reported, never read past. A `ToFunction` with no invocation batch, or a batch
   * whose target lacks a namespace or type, is refused, and so is one with a `string` field
   * (addresses, state names, type names) that is not UTF-8 (`errc::invalid_utf8`, naming the
   * field), as protobuf-java would refuse to parse it. Ids may be empty.
   */
  [[nodiscard]] decode_result decode(std::string_view bytes) {
    target = {};
    states.clear();
    invocations.clear();
    detail::wire_reader reader(bytes);
    detail::wire_field field;
    bool has_batch = false;
    while (reader.next(field)) {
      if (field.number == detail::fields::to_function::invocation) {
        std::string_view payload;
        if (reader.accept(field, detail::wire_type::length_delimited) && reader.read_bytes(payload)) {
          has_batch = true;
          read_batch(reader, payload);
        }
      } else {
        reader.skip(field);
      }
    }
    if (reader.failed()) {
      return {reader.error(), reader.error_offset()};
    }
    if (!has_batch) {
      return {errc::missing_invocation_batch, 0};
    }
    if (target.namespace_name.empty() || target.type.empty()) {
      return {errc::missing_target, 0};
    }
    for (auto& invocation : invocations) {
      if (invocation.caller && invocation.caller->empty()) {
        invocation.caller.reset();
      }
    }
    return check_utf8(bytes);
  }

  /// Appends this batch, encoded as a `ToFunction`, to `out`.
  void encode(std::string& out) const {
    namespace f = detail::fields;
    const std::size_t size = batch_size();
    detail::wire_writer w(out, detail::delimited_size(f::to_function::invocation, size));
    w.message_header(f::to_function::invocation, size);
    wire::write(w, f::batch::target, target);
    for (const auto& state : states) {
      w.message_header(f::batch::state, state_size(state));
      w.string_field(f::persisted_value::state_name, state.name);
      if (state.has_state_value) {
        wire::write(w, f::persisted_value::state_value, state.value);
      }
    }
    for (const auto& invocation : invocations) {
      w.message_header(f::batch::invocations, invocation_size(invocation));
      if (invocation.caller) {
        wire::write(w, f::invocation::caller, *invocation.caller);
      }
      wire::write(w, f::invocation::argument, invocation.argument);
    }
  }

  /// Views into a temporary string would dangle: keep the bytes alive, then decode them.
  template <class S>
    requires std::same_as<S, std::string>
  decode_result decode(S&&) = delete;

  /// Field-wise equality.
  friend bool operator==(const invocation_batch_view&, const invocation_batch_view&) = default;

 private:
  void read_batch(detail::wire_reader& parent, std::string_view payload) {
    namespace f = detail::fields;
    wire::walk(parent, payload, [this](detail::wire_reader& r, const detail::wire_field& field) {
      switch (field.number) {
        case f::batch::target: return wire::read_message(r, field, target), true;
        // (Another wire type than a message's: skipped by `walk` as an unknown field.)
        case f::batch::state: return is_message(field) && read_state(r, states.emplace_back());
        case f::batch::invocations: return is_message(field) && read_invocation(r, invocations.emplace_back());
        default: return false;
      }
    });
  }

  static bool is_message(const detail::wire_field& field) noexcept {
    return field.type == detail::wire_type::length_delimited;
  }

  /// Reads a `PersistedValue` (its key just read by `parent`). Always true: a failure is kept
  /// by `parent`.
  static bool read_state(detail::wire_reader& parent, state_view& out) {
    namespace f = detail::fields::persisted_value;
    std::string_view payload;
    if (!parent.read_bytes(payload)) {
      return true;  // `parent` has failed and keeps why
    }
    constexpr auto bytes = detail::wire_type::length_delimited;
    static constexpr unsigned char keys[] = {wire::key_byte(f::state_name, bytes),
                                             wire::key_byte(f::state_value, bytes)};
    if (wire::read_in_order(payload, keys, [&parent, &out](std::size_t i, std::string_view v) {
          if (i == 0) {
            out.name = v;
          } else {
            out.has_state_value = wire::read_payload(parent, v, out.value);
          }
        })) {
      return true;
    }
    return wire::walk(parent, payload, [&out](detail::wire_reader& r, const detail::wire_field& field) {
      switch (field.number) {
        case f::state_name: return wire::read_string(r, field, out.name);
        case f::state_value:
          if (wire::read_message(r, field, out.value)) {
            out.has_state_value = true;
          }
          return true;
        default: return false;
      }
    });
  }

  /// Reads an `Invocation` (its key just read by `parent`). Always true: a failure is kept by
  /// `parent`.
  static bool read_invocation(detail::wire_reader& parent, invocation_view& out) {
    namespace f = detail::fields::invocation;
    std::string_view payload;
    if (!parent.read_bytes(payload)) {
      return true;  // `parent` has failed and keeps why
    }
    constexpr auto bytes = detail::wire_type::length_delimited;
    static constexpr unsigned char keys[] = {wire::key_byte(f::caller, bytes), wire::key_byte(f::argument, bytes)};
    if (wire::read_in_order(payload, keys, [&parent, &out](std::size_t i, std::string_view v) {
          if (i == 0) {
            wire::read_payload(parent, v, out.caller ? *out.caller : out.caller.emplace());
          } else {
            wire::read_payload(parent, v, out.argument);
          }
        })) {
      return true;
    }
    return wire::walk(parent, payload, [&out](detail::wire_reader& r, const detail::wire_field& field) {
      switch (field.number) {
        case f::caller: return wire::read_message(r, field, out.caller ? *out.caller : out.caller.emplace()), true;
        case f::argument: return wire::read_message(r, field, out.argument), true;
        default: return false;
      }
    });
  }

  /// Every `string` of the batch is UTF-8, or the first one that is not (protobuf-java refuses
  /// such a message; so do we, rather than echo a caller's id into a response it cannot read).
  [[nodiscard]] decode_result check_utf8(std::string_view bytes) const noexcept {
    // All of them at once, branch-free: nearly every request is all ASCII.
    using statefun::detail::high_bits;
    std::uint64_t bits = high_bits(target.namespace_name) | high_bits(target.type) | high_bits(target.id);
    for (const state_view& state : states) {
      bits |= high_bits(state.name) | high_bits(state.value.type_name);
    }
    for (const invocation_view& invocation : invocations) {
      if (invocation.caller) {
        bits |= high_bits(invocation.caller->namespace_name) | high_bits(invocation.caller->type) |
                high_bits(invocation.caller->id);
      }
      bits |= high_bits(invocation.argument.type_name);
    }
    return bits == 0 ? decode_result{} : find_invalid_utf8(bytes);
  }

  /// The first `string` that is not UTF-8, checked one by one, with its field.
  [[nodiscard, gnu::noinline]] decode_result find_invalid_utf8(std::string_view bytes) const noexcept {
    wire::utf8_check utf8(bytes);
    utf8(target.namespace_name, "target.namespace") && utf8(target.type, "target.type") && utf8(target.id, "target.id");
    for (const state_view& state : states) {
      utf8(state.name, "state.state_name") && utf8(state.value.type_name, "state.state_value.typename");
    }
    for (const invocation_view& invocation : invocations) {
      if (invocation.caller) {
        utf8(invocation.caller->namespace_name, "invocation.caller.namespace") &&
            utf8(invocation.caller->type, "invocation.caller.type") && utf8(invocation.caller->id, "invocation.caller.id");
      }
      utf8(invocation.argument.type_name, "invocation.argument.typename");
    }
    return utf8.result();
  }

  static std::size_t state_size(const state_view& state) noexcept {
    namespace f = detail::fields::persisted_value;
    return detail::string_field_size(f::state_name, state.name.size()) +
           (state.has_state_value ? wire::field_size(f::state_value, state.value) : 0);
  }

  static std::size_t invocation_size(const invocation_view& invocation) noexcept {
    namespace f = detail::fields::invocation;
    return (invocation.caller ? wire::field_size(f::caller, *invocation.caller) : 0) +
           wire::field_size(f::argument, invocation.argument);
  }

  [[nodiscard]] std::size_t batch_size() const noexcept {
    namespace f = detail::fields::batch;
    std::size_t size = wire::field_size(f::target, target);
    for (const auto& state : states) {
      size += detail::delimited_size(f::state, state_size(state));
    }
    for (const auto& invocation : invocations) {
      size += detail::delimited_size(f::invocations, invocation_size(invocation));
    }
    return size;
  }
};

}  // namespace statefun::inline v0::codec
