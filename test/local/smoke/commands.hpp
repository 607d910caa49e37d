#pragma once

// The command protocol of StateFun's smoke end-to-end test (docs/runtime_rules.md §4.1, commands.proto
// next to this file) as plain structs, with `statefun::type` specialisations that read and write
// real protobuf wire format: what the JVM driver and the Java, Go and JS interpreters exchange.
//
// A `Command` oneof is a `std::variant` whose index is the oneof's field number (index 0,
// `std::monostate`, is "not set"). Encoding is canonical proto3 (defaults left out; an empty
// nested `Commands` is left out too, which reads back the same); decoding is as lenient as
// protobuf's: unknown fields are skipped, repeated `Commands` fields are merged.

#include <statefun/detail/wire.hpp>
#include <statefun/type.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace statefun::test::smoke {

struct command;

/// `Commands`: a list interpreted in order.
struct commands {
  std::vector<command> list;
};

/// `Command`: one of seven commands.
struct command {
  /// state += 1.
  struct increment_state {};
  /// Send `commands` to instance `target`.
  struct send {
    std::int32_t target = 0;
    smoke::commands commands;
  };
  /// The same, delayed; cancellable when `cancellation_token` is not empty.
  struct send_after {
    std::int32_t target = 0;
    smoke::commands commands;
    std::string cancellation_token;
  };
  /// A record to the discard egress.
  struct send_egress {};
  /// Complete an asynchronous operation (a failing one if `failure`), then run `resolved_commands`.
  struct async_operation {
    bool failure = false;
    smoke::commands resolved_commands;
  };
  /// Report the state, and what the driver expects of it, to the verification egress.
  struct verify {
    std::int64_t expected = 0;
  };
  /// Cancel the delayed message `cancellation_token` (`target` is informative only).
  struct cancel_send_after {
    std::int32_t target = 0;
    std::string cancellation_token;
  };

  using choice = std::variant<std::monostate, increment_state, send, send_after, send_egress, async_operation,
                              verify, cancel_send_after>;
  choice value;
};

/// `SourceCommand`: what the driver sends to instance `target`.
struct source_command {
  std::int32_t target = 0;
  smoke::commands commands;
};

/// `VerificationResult`: an instance's answer to `Verify`.
struct verification_result {
  std::int32_t id = 0;
  std::int64_t expected = 0;
  std::int64_t actual = 0;
  friend bool operator==(const verification_result&, const verification_result&) = default;
};

namespace wire {

namespace sd = statefun::detail;

inline void put_int(std::string& out, std::uint32_t field, std::int64_t value) {
  sd::wire_writer(out, sd::int_field_size(field, value)).int_field(field, value);
}

inline void put_bool(std::string& out, std::uint32_t field, bool value) {
  sd::wire_writer(out, sd::bool_field_size(field, value)).bool_field(field, value);
}

inline void put_string(std::string& out, std::uint32_t field, std::string_view value) {
  sd::wire_writer(out, sd::string_field_size(field, value.size())).string_field(field, value);
}

/// An embedded message, written even when empty (a oneof case is present by being there).
inline void put_message(std::string& out, std::uint32_t field, std::string_view payload) {
  sd::wire_writer(out, sd::delimited_size(field, payload.size())).delimited(field, payload);
}

inline void encode(const commands& value, std::string& out);

/// A nested `Commands`: left out when empty.
inline void put_commands(std::string& out, std::uint32_t field, const commands& value) {
  if (!value.list.empty()) {
    std::string payload;
    encode(value, payload);
    put_message(out, field, payload);
  }
}

inline void encode_case(const std::monostate&, std::string&) {}
inline void encode_case(const command::increment_state&, std::string&) {}
inline void encode_case(const command::send_egress&, std::string&) {}
inline void encode_case(const command::send& c, std::string& out) {
  put_int(out, 1, c.target);
  put_commands(out, 2, c.commands);
}
inline void encode_case(const command::send_after& c, std::string& out) {
  put_int(out, 1, c.target);
  put_commands(out, 2, c.commands);
  put_string(out, 3, c.cancellation_token);
}
inline void encode_case(const command::async_operation& c, std::string& out) {
  put_bool(out, 1, c.failure);
  put_commands(out, 2, c.resolved_commands);
}
inline void encode_case(const command::verify& c, std::string& out) { put_int(out, 1, c.expected); }
inline void encode_case(const command::cancel_send_after& c, std::string& out) {
  put_int(out, 1, c.target);
  put_string(out, 2, c.cancellation_token);
}

inline void encode(const command& value, std::string& out) {
  if (value.value.index() == 0) {
    return;  // no case set: an empty Command
  }
  std::string payload;
  std::visit([&payload](const auto& c) { encode_case(c, payload); }, value.value);
  put_message(out, static_cast<std::uint32_t>(value.value.index()), payload);
}

inline void encode(const commands& value, std::string& out) {
  for (const command& c : value.list) {
    std::string payload;
    encode(c, payload);
    put_message(out, 1, payload);
  }
}

inline void encode(const source_command& value, std::string& out) {
  put_int(out, 1, value.target);
  put_commands(out, 2, value.commands);
}

inline void encode(const verification_result& value, std::string& out) {
  put_int(out, 1, value.id);
  put_int(out, 2, value.expected);
  put_int(out, 3, value.actual);
}

/**
 * Reads message `what` from `bytes`, calling `on_field(reader, field)` for each field; it
 * returns false for a field it does not know, which is then skipped.
 * @throws statefun::decode_error for malformed bytes.
 */
template <class OnField>
void read_message(std::string_view bytes, std::string_view what, OnField&& on_field) {
  sd::wire_reader reader(bytes);
  sd::wire_field field;
  while (reader.next(field)) {
    if (!on_field(reader, field)) {
      reader.skip(field);
    }
  }
  if (reader.failed()) {
    throw statefun::decode_error("smoke: malformed " + std::string(what) + ": " +
                                 make_error_code(reader.error()).message() + " at byte " +
                                 std::to_string(reader.error_offset()));
  }
}

// Each reads one field's payload into `value`; a failure stays in the reader.
inline bool read(sd::wire_reader& r, const sd::wire_field& f, std::int32_t& value) {
  return r.expect(f, sd::wire_type::varint) && r.read_int32(value);
}
inline bool read(sd::wire_reader& r, const sd::wire_field& f, std::int64_t& value) {
  return r.expect(f, sd::wire_type::varint) && r.read_int64(value);
}
inline bool read(sd::wire_reader& r, const sd::wire_field& f, bool& value) {
  return r.expect(f, sd::wire_type::varint) && r.read_bool(value);
}
inline bool read(sd::wire_reader& r, const sd::wire_field& f, std::string& value) {
  std::string_view bytes;
  if (r.expect(f, sd::wire_type::length_delimited) && r.read_bytes(bytes)) {
    value.assign(bytes);
    return true;
  }
  return false;
}
inline bool read_payload(sd::wire_reader& r, const sd::wire_field& f, std::string_view& payload) {
  return r.expect(f, sd::wire_type::length_delimited) && r.read_bytes(payload);
}

inline commands decode_commands(std::string_view bytes);

/// A nested `Commands`, merged into `value` as protobuf merges a repeated field.
inline bool read(sd::wire_reader& r, const sd::wire_field& f, commands& value) {
  std::string_view payload;
  if (!read_payload(r, f, payload)) {
    return false;
  }
  commands more = decode_commands(payload);
  for (command& c : more.list) {
    value.list.push_back(std::move(c));
  }
  return true;
}

/// Reads the fields of a message into the members it names: `fields(f.number)` returns the
/// member for a field number, or null for an unknown field.
template <class Fields>
void read_fields(std::string_view bytes, std::string_view what, Fields&& fields) {
  read_message(bytes, what, [&fields](sd::wire_reader& r, const sd::wire_field& f) {
    return std::visit(
        [&](auto member) {
          if constexpr (std::is_same_v<decltype(member), std::nullptr_t>) {
            return false;
          } else {
            read(r, f, *member);  // a failure stays in the reader, which reports it
            return true;
          }
        },
        fields(f.number));
  });
}

/// A member pointer for `read_fields`, or nothing.
template <class... Members>
using field_ref = std::variant<std::nullptr_t, Members*...>;

/// The case of a `Command` whose field number is `number` (1 to 7), read from `payload`.
inline command::choice decode_case(std::uint32_t number, std::string_view payload) {
  switch (number) {
    case 1:
      read_message(payload, "Command.IncrementState", [](auto&, auto&) { return false; });
      return command::increment_state{};
    case 2: {
      command::send c;
      read_fields(payload, "Command.Send", [&c](std::uint32_t n) -> field_ref<std::int32_t, commands> {
        switch (n) {
          case 1: return &c.target;
          case 2: return &c.commands;
          default: return nullptr;
        }
      });
      return c;
    }
    case 3: {
      command::send_after c;
      read_fields(payload, "Command.SendAfter",
                  [&c](std::uint32_t n) -> field_ref<std::int32_t, commands, std::string> {
                    switch (n) {
                      case 1: return &c.target;
                      case 2: return &c.commands;
                      case 3: return &c.cancellation_token;
                      default: return nullptr;
                    }
                  });
      return c;
    }
    case 4:
      read_message(payload, "Command.SendEgress", [](auto&, auto&) { return false; });
      return command::send_egress{};
    case 5: {
      command::async_operation c;
      read_fields(payload, "Command.AsyncOperation", [&c](std::uint32_t n) -> field_ref<bool, commands> {
        switch (n) {
          case 1: return &c.failure;
          case 2: return &c.resolved_commands;
          default: return nullptr;
        }
      });
      return c;
    }
    case 6: {
      command::verify c;
      read_fields(payload, "Command.Verify", [&c](std::uint32_t n) -> field_ref<std::int64_t> {
        return n == 1 ? field_ref<std::int64_t>(&c.expected) : nullptr;
      });
      return c;
    }
    default: {
      command::cancel_send_after c;
      read_fields(payload, "Command.CancelSendAfter", [&c](std::uint32_t n) -> field_ref<std::int32_t, std::string> {
        switch (n) {
          case 1: return &c.target;
          case 2: return &c.cancellation_token;
          default: return nullptr;
        }
      });
      return c;
    }
  }
}

inline command decode_command(std::string_view bytes) {
  command c;
  read_message(bytes, "Command", [&c](sd::wire_reader& r, const sd::wire_field& f) {
    if (f.number < 1 || f.number > 7) {
      return false;
    }
    if (std::string_view payload; read_payload(r, f, payload)) {
      c.value = decode_case(f.number, payload);  // the last case on the wire wins, as in a oneof
    }
    return true;
  });
  return c;
}

inline commands decode_commands(std::string_view bytes) {
  commands c;
  read_message(bytes, "Commands", [&c](sd::wire_reader& r, const sd::wire_field& f) {
    if (f.number != 1) {
      return false;
    }
    if (std::string_view payload; read_payload(r, f, payload)) {
      c.list.push_back(decode_command(payload));
    }
    return true;
  });
  return c;
}

inline source_command decode_source_command(std::string_view bytes) {
  source_command s;
  read_fields(bytes, "SourceCommand", [&s](std::uint32_t n) -> field_ref<std::int32_t, commands> {
    switch (n) {
      case 1: return &s.target;
      case 2: return &s.commands;
      default: return nullptr;
    }
  });
  return s;
}

inline verification_result decode_verification_result(std::string_view bytes) {
  verification_result v;
  read_fields(bytes, "VerificationResult", [&v](std::uint32_t n) -> field_ref<std::int32_t, std::int64_t> {
    switch (n) {
      case 1: return &v.id;
      case 2: return &v.expected;
      case 3: return &v.actual;
      default: return nullptr;
    }
  });
  return v;
}

}  // namespace wire

/// The names of docs/runtime_rules.md §4.1 (`smoke-driver/Constants.java`, `Types.java`).
namespace names {
inline constexpr std::string_view function_type = "statefun.smoke.e2e/command-interpreter-fn";
inline constexpr std::string_view discard_sink = "statefun.smoke.e2e/discard-sink";
inline constexpr std::string_view verification_sink = "statefun.smoke.e2e/verification-sink";
}  // namespace names

}  // namespace statefun::test::smoke

template <>
struct statefun::type<statefun::test::smoke::source_command> {
  static constexpr std::string_view name() noexcept { return "statefun.smoke.e2e/source-command"; }
  static void encode(const statefun::test::smoke::source_command& value, std::string& out) {
    statefun::test::smoke::wire::encode(value, out);
  }
  static statefun::test::smoke::source_command decode(std::string_view bytes) {
    return statefun::test::smoke::wire::decode_source_command(bytes);
  }
};

template <>
struct statefun::type<statefun::test::smoke::commands> {
  static constexpr std::string_view name() noexcept { return "statefun.smoke.e2e/commands"; }
  static void encode(const statefun::test::smoke::commands& value, std::string& out) {
    statefun::test::smoke::wire::encode(value, out);
  }
  static statefun::test::smoke::commands decode(std::string_view bytes) {
    return statefun::test::smoke::wire::decode_commands(bytes);
  }
};

template <>
struct statefun::type<statefun::test::smoke::verification_result> {
  static constexpr std::string_view name() noexcept { return "statefun.smoke.e2e/verification-result"; }
  static void encode(const statefun::test::smoke::verification_result& value, std::string& out) {
    statefun::test::smoke::wire::encode(value, out);
  }
  static statefun::test::smoke::verification_result decode(std::string_view bytes) {
    return statefun::test::smoke::wire::decode_verification_result(bytes);
  }
};
