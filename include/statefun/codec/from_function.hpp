#pragma once

/// @file
/// `FromFunction`, the function's answer: written section by section as effects happen, and
/// decoded into views (for the local runtime, tools and tests).

#include <statefun/codec/views.hpp>

#include <concepts>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace statefun::inline v0::codec {

/// `PersistedValueMutation.MutationType`.
enum class mutation_type : std::int32_t { remove = 0, modify = 1 };

/// `ExpirationSpec.ExpireMode`.
enum class expire_mode : std::int32_t { none = 0, after_write = 1, after_invoke = 2 };

/// `PersistedValueMutation`.
struct mutation_view {
  /// `mutation_type`: delete or modify.
  mutation_type type = mutation_type::remove;
  /// `state_name`.
  std::string_view state_name;
  /// `state_value`: the new value (for `modify`).
  typed_value_view value;
  /// Field-wise equality.
  friend bool operator==(const mutation_view&, const mutation_view&) = default;
};

/// `FromFunction.Invocation`: a message to send now.
struct message_view {
  /// `target`: the receiver.
  address_view target;
  /// `argument`: the message.
  typed_value_view argument;
  /// Field-wise equality.
  friend bool operator==(const message_view&, const message_view&) = default;
};

/// `DelayedInvocation`: a message to send later, or the cancellation of one.
struct delayed_view {
  /// `is_cancellation_request`: cancel the message with `cancellation_token` instead.
  bool is_cancellation = false;
  /// `delay_in_ms`.
  std::int64_t delay_ms = 0;
  /// `target`: the receiver (not set for a cancellation).
  address_view target;
  /// `argument`: the message (not set for a cancellation).
  typed_value_view argument;
  /// `cancellation_token`; empty for none.
  std::string_view cancellation_token;
  /// Field-wise equality.
  friend bool operator==(const delayed_view&, const delayed_view&) = default;
};

/// `EgressMessage`.
struct egress_view {
  /// `egress_namespace`: the egress id's namespace.
  std::string_view egress_namespace;
  /// `egress_type`: the egress id's name.
  std::string_view egress_type;
  /// `argument`: the record.
  typed_value_view argument;
  /// Field-wise equality.
  friend bool operator==(const egress_view&, const egress_view&) = default;
};

/// `PersistedValueSpec`: a state the function declares and the request lacked.
struct missing_value_view {
  /// `state_name`.
  std::string_view state_name;
  /// `type_typename`.
  std::string_view type_name;
  /// `expiration_spec.mode`.
  expire_mode mode = expire_mode::none;
  /// `expiration_spec.expire_after_millis`.
  std::int64_t expire_after_ms = 0;
  /// The `expiration_spec` field is there even though `mode` is `none`: the Python and Go SDKs
  /// write an empty spec where Java and JS leave it out. Kept so that tools can write back the
  /// exact bytes they read; both forms mean the same.
  bool has_expiration_spec = false;

  /// Compares what the runtime reads, so an empty `expiration_spec` equals an absent one.
  friend bool operator==(const missing_value_view& a, const missing_value_view& b) noexcept {
    return a.state_name == b.state_name && a.type_name == b.type_name && a.mode == b.mode &&
           a.expire_after_ms == b.expire_after_ms;
  }
};

/**
 * Collects the effects of one batch and writes them as a canonical `FromFunction`.
 *
 * Each effect is encoded the moment it is added, into one buffer per response field, so the
 * final response is those buffers in field order. The buffers keep their capacity across
 * `clear()`, so a long-lived writer answers request after request without allocating.
 */
class from_function_writer {
 public:
  /// Forgets every effect added (keeps the buffers' capacity).
  void clear() noexcept {
    mutations_.clear();
    messages_.clear();
    delayed_.clear();
    egresses_.clear();
  }

  /// True when no effect has been added since construction or `clear()`.
  [[nodiscard]] bool empty() const noexcept {
    return mutations_.empty() && messages_.empty() && delayed_.empty() && egresses_.empty();
  }

  /// Adds a state mutation (`state_mutations`), in call order.
  void add_mutation(const mutation_view& m) {
    namespace f = detail::fields::mutation;
    const bool modify = m.type == mutation_type::modify;
    const std::size_t size =
        detail::int_field_size(f::mutation_type, static_cast<std::int32_t>(m.type)) +
        detail::string_field_size(f::state_name, m.state_name.size()) +
        (modify ? wire::field_size(f::state_value, m.value) : 0);
    detail::wire_writer w(mutations_, detail::delimited_size(detail::fields::response::state_mutations, size));
    w.message_header(detail::fields::response::state_mutations, size);
    w.int_field(f::mutation_type, static_cast<std::int32_t>(m.type));
    w.string_field(f::state_name, m.state_name);
    if (modify) {
      wire::write(w, f::state_value, m.value);
    }
  }

  /// Adds a message to send now (`outgoing_messages`), in call order.
  void add_message(const message_view& m) {
    namespace f = detail::fields::outgoing;
    const std::size_t size = wire::field_size(f::target, m.target) + wire::field_size(f::argument, m.argument);
    detail::wire_writer w(messages_, detail::delimited_size(detail::fields::response::outgoing_messages, size));
    w.message_header(detail::fields::response::outgoing_messages, size);
    wire::write(w, f::target, m.target);
    wire::write(w, f::argument, m.argument);
  }

  /// A delayed message or a cancellation, kept in call order with the others.
  void add_delayed(const delayed_view& d) {
    namespace f = detail::fields::delayed;
    std::size_t size = detail::int_field_size(f::delay_in_ms, d.delay_ms) +
                       detail::bool_field_size(f::is_cancellation_request, d.is_cancellation) +
                       detail::string_field_size(f::cancellation_token, d.cancellation_token.size());
    if (!d.is_cancellation) {
      size += wire::field_size(f::target, d.target) + wire::field_size(f::argument, d.argument);
    }
    detail::wire_writer w(delayed_, detail::delimited_size(detail::fields::response::delayed_invocations, size));
    w.message_header(detail::fields::response::delayed_invocations, size);
    w.int_field(f::delay_in_ms, d.delay_ms);
    if (!d.is_cancellation) {
      wire::write(w, f::target, d.target);
      wire::write(w, f::argument, d.argument);
    }
    w.bool_field(f::is_cancellation_request, d.is_cancellation);
    w.string_field(f::cancellation_token, d.cancellation_token);
  }

  /// Adds an egress record (`outgoing_egresses`), in call order.
  void add_egress(const egress_view& e) {
    namespace f = detail::fields::egress;
    const std::size_t size = detail::string_field_size(f::egress_namespace, e.egress_namespace.size()) +
                             detail::string_field_size(f::egress_type, e.egress_type.size()) +
                             wire::field_size(f::argument, e.argument);
    detail::wire_writer w(egresses_, detail::delimited_size(detail::fields::response::outgoing_egresses, size));
    w.message_header(detail::fields::response::outgoing_egresses, size);
    w.string_field(f::egress_namespace, e.egress_namespace);
    w.string_field(f::egress_type, e.egress_type);
    wire::write(w, f::argument, e.argument);
  }

  /// Writes `FromFunction{invocation_result}` to `out` (replacing its contents); a batch with
  /// no effects is written as no bytes at all, which the runtime reads the same way.
  void finish(std::string& out) const {
    out.clear();
    if (empty()) {
      return;
    }
    const std::size_t size = mutations_.size() + messages_.size() + delayed_.size() + egresses_.size();
    detail::wire_writer w(out, detail::delimited_size(detail::fields::from_function::invocation_result, size));
    w.message_header(detail::fields::from_function::invocation_result, size);
    for (const std::string* part : {&mutations_, &messages_, &delayed_, &egresses_}) {
      if (!part->empty()) {
        w.raw(*part);
      }
    }
  }

  /// Writes `FromFunction{incomplete_invocation_context}` listing `missing` in order to `out`
  /// (replacing its contents). A spec with mode `none` is written without an expiration spec,
  /// or with an empty one if `has_expiration_spec` asks for it (milliseconds mean nothing then).
  static void write_incomplete_context(std::span<const missing_value_view> missing, std::string& out) {
    namespace f = detail::fields;
    auto has_spec = [](const missing_value_view& m) { return m.mode != expire_mode::none || m.has_expiration_spec; };
    auto millis = [](const missing_value_view& m) { return m.mode == expire_mode::none ? 0 : m.expire_after_ms; };
    auto expiration_size = [&](const missing_value_view& m) {
      return detail::int_field_size(f::expiration_spec::mode, static_cast<std::int32_t>(m.mode)) +
             detail::int_field_size(f::expiration_spec::expire_after_millis, millis(m));
    };
    auto spec_size = [&](const missing_value_view& m) {
      return detail::string_field_size(f::value_spec::state_name, m.state_name.size()) +
             (has_spec(m) ? detail::delimited_size(f::value_spec::expiration_spec, expiration_size(m)) : 0) +
             detail::string_field_size(f::value_spec::type_typename, m.type_name.size());
    };
    std::size_t size = 0;
    for (const auto& m : missing) {
      size += detail::delimited_size(f::incomplete_context::missing_values, spec_size(m));
    }
    out.clear();
    detail::wire_writer w(out, detail::delimited_size(f::from_function::incomplete_context, size));
    w.message_header(f::from_function::incomplete_context, size);
    for (const auto& m : missing) {
      w.message_header(f::incomplete_context::missing_values, spec_size(m));
      w.string_field(f::value_spec::state_name, m.state_name);
      if (has_spec(m)) {
        w.message_header(f::value_spec::expiration_spec, expiration_size(m));
        w.int_field(f::expiration_spec::mode, static_cast<std::int32_t>(m.mode));
        w.int_field(f::expiration_spec::expire_after_millis, millis(m));
      }
      w.string_field(f::value_spec::type_typename, m.type_name);
    }
  }

 private:
  std::string mutations_;
  std::string messages_;
  std::string delayed_;
  std::string egresses_;
};

/**
 * A `FromFunction` decoded into views over its bytes. No bytes, or an absent response, decode
 * as an invocation result with no effects, as the runtime reads them. As protobuf-java (the
 * runtime's parser) does, known fields with an unexpected wire type are skipped, and a `string`
 * that is not UTF-8 is refused (`errc::invalid_utf8`, naming the field).
 */
struct from_function_view {
  /// True for `incomplete_invocation_context`; then only `missing_values` is filled.
  bool incomplete = false;
  /// `state_mutations`, in order.
  std::vector<mutation_view> mutations;
  /// `outgoing_messages`, in order.
  std::vector<message_view> messages;
  /// `delayed_invocations` (sends and cancellations), in order.
  std::vector<delayed_view> delayed;
  /// `outgoing_egresses`, in order.
  std::vector<egress_view> egresses;
  /// `incomplete_invocation_context.missing_values`.
  std::vector<missing_value_view> missing_values;

  /// Decodes `bytes` (which must outlive this view) in place of the current contents.
  [[nodiscard]] decode_result decode(std::string_view bytes) {
    incomplete = false;
    clear_effects();
    missing_values.clear();
    namespace f = detail::fields;
    detail::wire_reader reader(bytes);
    detail::wire_field field;
    while (reader.next(field)) {
      std::string_view payload;
      if (field.number == f::from_function::invocation_result) {
        if (reader.accept(field, detail::wire_type::length_delimited) && reader.read_bytes(payload)) {
          if (incomplete) {  // a oneof member replaces the other, as protobuf parsers do
            incomplete = false;
            missing_values.clear();
          }
          read_result(reader, payload);
        }
      } else if (field.number == f::from_function::incomplete_context) {
        if (reader.accept(field, detail::wire_type::length_delimited) && reader.read_bytes(payload)) {
          if (!incomplete) {
            incomplete = true;
            clear_effects();
          }
          read_incomplete(reader, payload);
        }
      } else {
        reader.skip(field);
      }
    }
    if (reader.failed()) {
      return {reader.error(), reader.error_offset()};
    }
    for (const auto& m : mutations) {
      if (m.type != mutation_type::remove && m.type != mutation_type::modify) {
        return {errc::invalid_mutation_type, 0};
      }
    }
    return check_utf8(bytes);
  }

  /// Views into a temporary string would dangle: keep the bytes alive, then decode them.
  template <class S>
    requires std::same_as<S, std::string>
  decode_result decode(S&&) = delete;

  /// Field-wise equality.
  friend bool operator==(const from_function_view&, const from_function_view&) = default;

 private:
  /// Every `string` of the response is UTF-8, or the first one that is not: the runtime's
  /// protobuf-java refuses such a response (and retries the batch until the job fails).
  [[nodiscard]] decode_result check_utf8(std::string_view bytes) const noexcept {
    wire::utf8_check utf8(bytes);
    auto address = [&utf8](const address_view& a, const char* ns, const char* type, const char* id) {
      return utf8(a.namespace_name, ns) && utf8(a.type, type) && utf8(a.id, id);
    };
    for (const auto& m : mutations) {
      utf8(m.state_name, "state_mutations.state_name") && utf8(m.value.type_name, "state_mutations.state_value.typename");
    }
    for (const auto& m : messages) {
      address(m.target, "outgoing_messages.target.namespace", "outgoing_messages.target.type",
              "outgoing_messages.target.id") &&
          utf8(m.argument.type_name, "outgoing_messages.argument.typename");
    }
    for (const auto& d : delayed) {
      address(d.target, "delayed_invocations.target.namespace", "delayed_invocations.target.type",
              "delayed_invocations.target.id") &&
          utf8(d.argument.type_name, "delayed_invocations.argument.typename") &&
          utf8(d.cancellation_token, "delayed_invocations.cancellation_token");
    }
    for (const auto& e : egresses) {
      utf8(e.egress_namespace, "outgoing_egresses.egress_namespace") &&
          utf8(e.egress_type, "outgoing_egresses.egress_type") &&
          utf8(e.argument.type_name, "outgoing_egresses.argument.typename");
    }
    for (const auto& m : missing_values) {
      utf8(m.state_name, "missing_values.state_name") && utf8(m.type_name, "missing_values.type_typename");
    }
    return utf8.result();
  }

  void clear_effects() noexcept {
    mutations.clear();
    messages.clear();
    delayed.clear();
    egresses.clear();
  }

  void read_result(detail::wire_reader& parent, std::string_view payload) {
    namespace f = detail::fields;
    wire::walk(parent, payload, [&](detail::wire_reader& r, const detail::wire_field& field) {
      if (field.type != detail::wire_type::length_delimited) {
        return false;  // every field here is a message: skipped as an unknown field
      }
      switch (field.number) {
        case f::response::state_mutations: {
          auto& m = mutations.emplace_back();
          wire::walk_field(r, field, [&](detail::wire_reader& s, const detail::wire_field& g) {
            switch (g.number) {
              case f::mutation::mutation_type: return wire::read_varint(s, g, m.type);
              case f::mutation::state_name: return wire::read_string(s, g, m.state_name);
              case f::mutation::state_value: return wire::read_message(s, g, m.value), true;
              default: return false;
            }
          });
          return true;
        }
        case f::response::outgoing_messages: {
          auto& m = messages.emplace_back();
          wire::walk_field(r, field, [&](detail::wire_reader& s, const detail::wire_field& g) {
            switch (g.number) {
              case f::outgoing::target: return wire::read_message(s, g, m.target), true;
              case f::outgoing::argument: return wire::read_message(s, g, m.argument), true;
              default: return false;
            }
          });
          return true;
        }
        case f::response::delayed_invocations: {
          auto& d = delayed.emplace_back();
          wire::walk_field(r, field, [&](detail::wire_reader& s, const detail::wire_field& g) {
            switch (g.number) {
              case f::delayed::delay_in_ms: return wire::read_varint(s, g, d.delay_ms);
              case f::delayed::target: return wire::read_message(s, g, d.target), true;
              case f::delayed::argument: return wire::read_message(s, g, d.argument), true;
              case f::delayed::is_cancellation_request: return wire::read_varint(s, g, d.is_cancellation);
              case f::delayed::cancellation_token: return wire::read_string(s, g, d.cancellation_token);
              default: return false;
            }
          });
          return true;
        }
        case f::response::outgoing_egresses: {
          auto& e = egresses.emplace_back();
          wire::walk_field(r, field, [&](detail::wire_reader& s, const detail::wire_field& g) {
            switch (g.number) {
              case f::egress::egress_namespace: return wire::read_string(s, g, e.egress_namespace);
              case f::egress::egress_type: return wire::read_string(s, g, e.egress_type);
              case f::egress::argument: return wire::read_message(s, g, e.argument), true;
              default: return false;
            }
          });
          return true;
        }
        default:
          return false;
      }
    });
  }

  void read_incomplete(detail::wire_reader& parent, std::string_view payload) {
    namespace f = detail::fields;
    wire::walk(parent, payload, [&](detail::wire_reader& r, const detail::wire_field& field) {
      if (field.number != f::incomplete_context::missing_values ||
          field.type != detail::wire_type::length_delimited) {
        return false;
      }
      auto& m = missing_values.emplace_back();
      wire::walk_field(r, field, [&](detail::wire_reader& s, const detail::wire_field& g) {
        switch (g.number) {
          case f::value_spec::state_name: return wire::read_string(s, g, m.state_name);
          case f::value_spec::type_typename: return wire::read_string(s, g, m.type_name);
          case f::value_spec::expiration_spec:
            m.has_expiration_spec = m.has_expiration_spec || g.type == detail::wire_type::length_delimited;
            wire::walk_field(s, g, [&](detail::wire_reader& t, const detail::wire_field& h) {
              switch (h.number) {
                case f::expiration_spec::mode: return wire::read_varint(t, h, m.mode);
                case f::expiration_spec::expire_after_millis: return wire::read_varint(t, h, m.expire_after_ms);
                default: return false;
              }
            });
            return true;
          default: return false;
        }
      });
      return true;
    });
  }
};

}  // namespace statefun::inline v0::codec
