#pragma once

// nanopb's generic, table-driven decoder and encoder run on the generated structs of
// include/statefun/detail/proto/: the independent reference for the hand-written codec in
// include/statefun/codec/. Used by test/*_test.cpp and fuzz/*.cpp.
//
// The generated code is built with FT_POINTER (every string, bytes and submessage is malloc'ed),
// so the program must define PB_ENABLE_MALLOC (as Debian's libprotobuf-nanopb.a was) and link
// the generated .pb.c files compiled as C. nanopb's headers carry their own extern "C" guards.
//
// What nanopb (0.4.7) does differently from protobuf proper, and so from our codec. The
// differential fuzzer excuses exactly these; the test "The fuzzer's quirk finder flags exactly the
// documented nanopb differences" in to_function_test.cpp pins each one.
//   - A singular or oneof submessage that occurs twice REPLACES the first (nanopb frees the old
//     allocation); protobuf, and our codec, MERGE the two field by field.
//   - A string is a NUL-terminated char*: a string holding a NUL byte reads as its prefix.
//   - A bool is decoded as a 32-bit varint, so a bool whose varint does not fit 32 bits is an
//     error ("varint overflow"); protobuf reads any 64-bit varint and tests it against zero.
//   - A length-delimited bool is taken for a packed one: nanopb reads the length as the value
//     and the payload as further fields. We refuse it (wrong_wire_type).
//   - Unknown varints are skipped without a length limit, and a key beyond 32 bits in
//     sign-extended form is accepted; our codec refuses both (malformed_varint).
//   - pb_size_t is 16 bits (Debian builds without PB_FIELD_32BIT): at most 65535 entries per
//     repeated field and 65535 bytes per bytes field.
//   - ExpireMode is generated as an unsigned enum: a negative mode is "integer too large".

#ifndef PB_ENABLE_MALLOC
#error "nanopb_reference.hpp needs PB_ENABLE_MALLOC (FT_POINTER fields)"
#endif

#include <statefun/codec/from_function.hpp>
#include <statefun/codec/to_function.hpp>

#include <pb.h>
#include <pb_decode.h>
#include <pb_encode.h>
#include <statefun/detail/proto/request-reply.pb.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace statefun::test::nanopb {

using to_function_msg = io_statefun_sdk_reqreply_ToFunction;
using from_function_msg = io_statefun_sdk_reqreply_FromFunction;

/// The descriptor of a generated message type.
template <class Message>
const pb_msgdesc_t* descriptor() noexcept;
template <>
inline const pb_msgdesc_t* descriptor<to_function_msg>() noexcept {
  return io_statefun_sdk_reqreply_ToFunction_fields;
}
template <>
inline const pb_msgdesc_t* descriptor<from_function_msg>() noexcept {
  return io_statefun_sdk_reqreply_FromFunction_fields;
}

/// A message decoded by pb_decode(), released (pb_release) when it goes out of scope.
template <class Message>
class decoded {
 public:
  /// Decodes `bytes`; `ok()` says whether nanopb accepted them, `error()` why not.
  explicit decoded(std::string_view bytes) {
    pb_istream_t stream =
        pb_istream_from_buffer(reinterpret_cast<const pb_byte_t*>(bytes.data()), bytes.size());
    ok_ = pb_decode(&stream, descriptor<Message>(), &message_);
    if (!ok_) {
      error_ = PB_GET_ERROR(&stream);
    }
  }
  decoded(const decoded&) = delete;
  decoded& operator=(const decoded&) = delete;
  ~decoded() {
    // pb_decode() already released a message it failed on; releasing twice is harmless since
    // pb_release() resets every pointer it frees.
    pb_release(descriptor<Message>(), &message_);
  }

  [[nodiscard]] bool ok() const noexcept { return ok_; }
  [[nodiscard]] const std::string& error() const noexcept { return error_; }
  [[nodiscard]] const Message& get() const noexcept { return message_; }
  const Message* operator->() const noexcept { return &message_; }

 private:
  Message message_{};
  bool ok_ = false;
  std::string error_;
};

using decoded_to_function = decoded<to_function_msg>;
using decoded_from_function = decoded<from_function_msg>;

/// Encodes `message` with pb_encode(); nullopt when nanopb refuses it.
template <class Message>
std::optional<std::string> encode(const Message& message) {
  std::size_t size = 0;
  if (!pb_get_encoded_size(&size, descriptor<Message>(), &message)) {
    return std::nullopt;
  }
  std::string out(size, '\0');
  pb_ostream_t stream = pb_ostream_from_buffer(reinterpret_cast<pb_byte_t*>(out.data()), out.size());
  if (!pb_encode(&stream, descriptor<Message>(), &message) || stream.bytes_written != size) {
    return std::nullopt;
  }
  return out;
}

// --- Reading the generated structs ---------------------------------------------------------------

/// A nanopb string: absent (NULL) and empty read the same, as in proto3.
inline std::string_view str(const char* s) noexcept { return s != nullptr ? std::string_view(s) : std::string_view(); }

/// A nanopb bytes field.
inline std::string_view bytes(const pb_bytes_array_t* b) noexcept {
  return b != nullptr ? std::string_view(reinterpret_cast<const char*>(b->bytes), b->size)
                      : std::string_view();
}

inline codec::address_view view(const io_statefun_sdk_reqreply_Address& a) noexcept {
  return {str(a.namespace_), str(a.type), str(a.id)};
}

inline codec::typed_value_view view(const io_statefun_sdk_reqreply_TypedValue& v) noexcept {
  return {str(v.typename_), v.has_value, bytes(v.value)};
}

/// nanopb's ToFunction as our views (pointing into nanopb's allocations), applying the
/// protocol's one semantic rule the codec applies too: an all-empty caller is no caller.
/// nullopt when the oneof holds no invocation batch.
inline std::optional<codec::invocation_batch_view> batch_view(const to_function_msg& m) {
  if (m.which_request != io_statefun_sdk_reqreply_ToFunction_invocation_tag || m.request.invocation == nullptr) {
    return std::nullopt;
  }
  const auto& batch = *m.request.invocation;
  codec::invocation_batch_view out;
  if (batch.target != nullptr) {
    out.target = view(*batch.target);
  }
  for (pb_size_t i = 0; i < batch.state_count; ++i) {
    const auto& s = batch.state[i];
    codec::state_view state;
    state.name = str(s.state_name);
    state.has_state_value = s.state_value != nullptr;
    if (s.state_value != nullptr) {
      state.value = view(*s.state_value);
    }
    out.states.push_back(state);
  }
  for (pb_size_t i = 0; i < batch.invocations_count; ++i) {
    const auto& inv = batch.invocations[i];
    codec::invocation_view invocation;
    if (inv.caller != nullptr && !view(*inv.caller).empty()) {
      invocation.caller = view(*inv.caller);
    }
    if (inv.argument != nullptr) {
      invocation.argument = view(*inv.argument);
    }
    out.invocations.push_back(invocation);
  }
  return out;
}

/// The value nanopb stored in a C enum field. nanopb stores whatever number arrived, which C++
/// may not load through the enum type (UBSan's -fsanitize=enum), so read the bytes.
template <class Enum>
std::int32_t enum_value(const Enum& e) noexcept {
  static_assert(sizeof(Enum) == sizeof(std::int32_t));
  std::int32_t v = 0;
  std::memcpy(&v, &e, sizeof v);
  return v;
}

/// nanopb's FromFunction as our views (pointing into nanopb's allocations). An absent oneof
/// reads as an invocation result with no effects, as in `from_function_view::decode`.
inline codec::from_function_view response_view(const from_function_msg& m) {
  codec::from_function_view out;
  if (m.which_response == io_statefun_sdk_reqreply_FromFunction_incomplete_invocation_context_tag) {
    out.incomplete = true;
    const auto* ctx = m.response.incomplete_invocation_context;
    for (pb_size_t i = 0; ctx != nullptr && i < ctx->missing_values_count; ++i) {
      const auto& spec = ctx->missing_values[i];
      codec::missing_value_view v;
      v.state_name = str(spec.state_name);
      v.type_name = str(spec.type_typename);
      if (spec.expiration_spec != nullptr) {
        v.mode = static_cast<codec::expire_mode>(enum_value(spec.expiration_spec->mode));
        v.expire_after_ms = spec.expiration_spec->expire_after_millis;
      }
      out.missing_values.push_back(v);
    }
    return out;
  }
  const auto* r = m.which_response == io_statefun_sdk_reqreply_FromFunction_invocation_result_tag
                      ? m.response.invocation_result
                      : nullptr;
  if (r == nullptr) {
    return out;
  }
  for (pb_size_t i = 0; i < r->state_mutations_count; ++i) {
    const auto& s = r->state_mutations[i];
    codec::mutation_view v;
    v.type = static_cast<codec::mutation_type>(enum_value(s.mutation_type));
    v.state_name = str(s.state_name);
    if (s.state_value != nullptr) {
      v.value = view(*s.state_value);
    }
    out.mutations.push_back(v);
  }
  for (pb_size_t i = 0; i < r->outgoing_messages_count; ++i) {
    const auto& s = r->outgoing_messages[i];
    codec::message_view v;
    if (s.target != nullptr) {
      v.target = view(*s.target);
    }
    if (s.argument != nullptr) {
      v.argument = view(*s.argument);
    }
    out.messages.push_back(v);
  }
  for (pb_size_t i = 0; i < r->delayed_invocations_count; ++i) {
    const auto& s = r->delayed_invocations[i];
    codec::delayed_view v;
    v.is_cancellation = s.is_cancellation_request;
    v.delay_ms = s.delay_in_ms;
    if (s.target != nullptr) {
      v.target = view(*s.target);
    }
    if (s.argument != nullptr) {
      v.argument = view(*s.argument);
    }
    v.cancellation_token = str(s.cancellation_token);
    out.delayed.push_back(v);
  }
  for (pb_size_t i = 0; i < r->outgoing_egresses_count; ++i) {
    const auto& s = r->outgoing_egresses[i];
    codec::egress_view v;
    v.egress_namespace = str(s.egress_namespace);
    v.egress_type = str(s.egress_type);
    if (s.argument != nullptr) {
      v.argument = view(*s.argument);
    }
    out.egresses.push_back(v);
  }
  return out;
}

// --- Building the generated structs (for pb_encode) ----------------------------------------------

/// Owns the memory of structs built for pb_encode(); never pb_release() them.
class arena {
 public:
  arena() = default;
  arena(const arena&) = delete;
  arena& operator=(const arena&) = delete;
  ~arena() {
    for (void* p : blocks_) {
      std::free(p);  // NOLINT(cppcoreguidelines-no-malloc): nanopb's structs are C
    }
  }

  /// A zero-initialized T.
  template <class T>
  T* make(std::size_t count = 1) {
    return static_cast<T*>(allocate(sizeof(T) * (count == 0 ? 1 : count)));
  }

  /// A proto3 string: NULL when empty, so that pb_encode() leaves it out as protobuf would.
  char* string(std::string_view s) {
    if (s.empty()) {
      return nullptr;
    }
    auto* p = static_cast<char*>(allocate(s.size() + 1));
    std::memcpy(p, s.data(), s.size());
    return p;
  }

  /// A proto3 bytes field: NULL when empty.
  pb_bytes_array_t* bytes(std::string_view s) {
    if (s.empty()) {
      return nullptr;
    }
    if (s.size() > PB_SIZE_MAX) {
      throw std::length_error("nanopb bytes fields hold at most PB_SIZE_MAX bytes");
    }
    auto* p = static_cast<pb_bytes_array_t*>(allocate(PB_BYTES_ARRAY_T_ALLOCSIZE(s.size())));
    p->size = static_cast<pb_size_t>(s.size());
    std::memcpy(p->bytes, s.data(), s.size());
    return p;
  }

  io_statefun_sdk_reqreply_Address* address(const codec::address_view& a) {
    auto* p = make<io_statefun_sdk_reqreply_Address>();
    p->namespace_ = string(a.namespace_name);
    p->type = string(a.type);
    p->id = string(a.id);
    return p;
  }

  io_statefun_sdk_reqreply_TypedValue* typed_value(const codec::typed_value_view& v) {
    auto* p = make<io_statefun_sdk_reqreply_TypedValue>();
    p->typename_ = string(v.type_name);
    p->has_value = v.has_value;
    p->value = bytes(v.value);
    return p;
  }

  /// `batch` as a ToFunction (the caller and argument are always present, as our encoder writes
  /// them; an absent state value stays absent).
  to_function_msg to_function(const codec::invocation_batch_view& batch) {
    auto* b = make<io_statefun_sdk_reqreply_ToFunction_InvocationBatchRequest>();
    b->target = address(batch.target);
    b->state_count = static_cast<pb_size_t>(batch.states.size());
    b->state = make<io_statefun_sdk_reqreply_ToFunction_PersistedValue>(batch.states.size());
    for (std::size_t i = 0; i < batch.states.size(); ++i) {
      b->state[i].state_name = string(batch.states[i].name);
      b->state[i].state_value = batch.states[i].has_state_value ? typed_value(batch.states[i].value) : nullptr;
    }
    b->invocations_count = static_cast<pb_size_t>(batch.invocations.size());
    b->invocations = make<io_statefun_sdk_reqreply_ToFunction_Invocation>(batch.invocations.size());
    for (std::size_t i = 0; i < batch.invocations.size(); ++i) {
      const auto& inv = batch.invocations[i];
      b->invocations[i].caller = inv.caller ? address(*inv.caller) : nullptr;
      b->invocations[i].argument = typed_value(inv.argument);
    }
    to_function_msg m{};
    m.which_request = io_statefun_sdk_reqreply_ToFunction_invocation_tag;
    m.request.invocation = b;
    return m;
  }

 private:
  void* allocate(std::size_t size) {
    void* p = std::calloc(1, size);  // NOLINT(cppcoreguidelines-no-malloc)
    if (p == nullptr) {
      throw std::bad_alloc();
    }
    blocks_.push_back(p);
    return p;
  }

  std::deque<void*> blocks_;
};

// --- Walking the wire with nanopb's own primitives -----------------------------------------------

/// The keys (field numbers) of the top-level fields of `bytes`, in order, read with
/// pb_decode_tag / pb_skip_field; nullopt if nanopb cannot walk them.
inline std::optional<std::vector<std::uint32_t>> field_numbers(std::string_view bytes) {
  pb_istream_t stream =
      pb_istream_from_buffer(reinterpret_cast<const pb_byte_t*>(bytes.data()), bytes.size());
  std::vector<std::uint32_t> out;
  while (stream.bytes_left > 0) {
    pb_wire_type_t type{};
    std::uint32_t tag = 0;
    bool eof = false;
    if (!pb_decode_tag(&stream, &type, &tag, &eof) || !pb_skip_field(&stream, type)) {
      return std::nullopt;
    }
    out.push_back(tag);
  }
  return out;
}

/// The payload of the first field `number` (length-delimited) of `bytes`, read with nanopb.
inline std::optional<std::string_view> field_payload(std::string_view bytes, std::uint32_t number) {
  pb_istream_t stream =
      pb_istream_from_buffer(reinterpret_cast<const pb_byte_t*>(bytes.data()), bytes.size());
  while (stream.bytes_left > 0) {
    pb_wire_type_t type{};
    std::uint32_t tag = 0;
    bool eof = false;
    if (!pb_decode_tag(&stream, &type, &tag, &eof)) {
      return std::nullopt;
    }
    if (tag == number && type == PB_WT_STRING) {
      std::uint32_t length = 0;
      if (!pb_decode_varint32(&stream, &length) || length > stream.bytes_left) {
        return std::nullopt;
      }
      const std::size_t at = bytes.size() - stream.bytes_left;
      return bytes.substr(at, length);
    }
    if (!pb_skip_field(&stream, type)) {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

// --- Where nanopb and protobuf part ways --------------------------------------------------------

/// The inputs on which nanopb's reading of a ToFunction legitimately differs from protobuf's
/// (and so from our codec's). The differential fuzzer asserts agreement only outside them.
struct to_function_quirks {
  /// A singular message field (the batch, target, state_value, caller or argument) occurs more
  /// than once in one message: protobuf merges the occurrences, nanopb keeps the last one.
  bool repeated_submessage = false;
  /// `has_value` is a varint that nanopb's 32-bit varint reader refuses ("varint overflow");
  /// protobuf reads a bool as any 64-bit varint.
  bool wide_bool = false;
  /// `has_value` arrives length-delimited: nanopb takes that for a packed bool and misreads the
  /// length as the value; protobuf (and we) skip it as an unknown field.
  bool packed_bool = false;
  /// A known field arrives with another wire type than its own: nanopb refuses it ("wrong wire
  /// type"), protobuf (and we) skip it as an unknown field.
  bool mistyped = false;
  /// A key that does not fit 32 bits, or an unknown varint longer than ten bytes or whose tenth
  /// byte is above 1: nanopb skips or sign-extends these, we refuse them (malformed_varint).
  bool long_varint = false;
};

namespace detail {

enum class to_function_part { to_function, batch, state, invocation, typed_value, address };

/// Reads a varint without judging it: false when the bytes end first. `bytes` counts how many
/// it took; `wide` is set when it does not fit 64 bits (more than ten bytes, or a tenth byte
/// above 1).
inline bool raw_varint(std::string_view& in, std::uint64_t& value, std::size_t& bytes, bool& wide) noexcept {
  value = 0;
  bytes = 0;
  wide = false;
  for (;;) {
    if (bytes == in.size()) {
      return false;
    }
    const auto byte = static_cast<unsigned char>(in[bytes]);
    if (bytes < 9) {
      value |= static_cast<std::uint64_t>(byte & 0x7Fu) << (7 * bytes);
    } else if (bytes == 9) {
      wide = wide || byte > 1;
      value |= static_cast<std::uint64_t>(byte & 0x01u) << 63;
    } else {
      wide = true;
    }
    ++bytes;
    if (byte < 0x80) {
      in.remove_prefix(bytes);
      return true;
    }
  }
}

/// Walks one message of the ToFunction schema, noting quirks; stops at the first structural
/// problem (every decoder refuses those). Recursion follows the schema only (at most five levels).
inline void find_quirks(std::string_view in, to_function_part part, to_function_quirks& q) {
  using p = to_function_part;
  int seen[4] = {0, 0, 0, 0};  // occurrences of singular message fields 1..3 (index 0: field 100)
  while (!in.empty()) {
    std::uint64_t key = 0;
    std::size_t length = 0;
    bool wide = false;
    if (!raw_varint(in, key, length, wide)) {
      return;
    }
    if (wide || key > 0xFFFF'FFFFu) {
      q.long_varint = true;
      return;
    }
    const auto number = static_cast<std::uint32_t>(key >> 3);
    const auto type = static_cast<unsigned>(key & 7u);
    if (number == 0) {
      return;
    }
    const bool is_has_value = part == p::typed_value && number == 2;
    // Every known field is a message or a string (length-delimited), except has_value.
    const bool known = (part == p::to_function && number == 100) ||
                       (part != p::to_function && number >= 1 &&
                        number <= (part == p::state || part == p::invocation ? 2u : 3u));
    if (known && type != (is_has_value ? 0u : 2u)) {
      q.mistyped = true;
    }
    switch (type) {
      case 0: {
        const std::string_view at = in;
        std::uint64_t value = 0;
        if (!raw_varint(in, value, length, wide)) {
          return;
        }
        if (is_has_value) {
          pb_istream_t s = pb_istream_from_buffer(reinterpret_cast<const pb_byte_t*>(at.data()), length);
          std::uint32_t narrow = 0;
          q.wide_bool = q.wide_bool || !pb_decode_varint32(&s, &narrow);
        } else if (wide) {
          q.long_varint = true;
        }
        break;
      }
      case 1:
      case 5: {
        const std::size_t size = type == 1 ? 8 : 4;
        if (in.size() < size) {
          return;
        }
        in.remove_prefix(size);
        break;
      }
      case 2: {
        std::uint64_t size = 0;
        if (!raw_varint(in, size, length, wide) || size > in.size()) {
          return;
        }
        const std::string_view payload = in.substr(0, static_cast<std::size_t>(size));
        in.remove_prefix(static_cast<std::size_t>(size));
        if (is_has_value) {
          q.packed_bool = true;
          return;
        }
        std::optional<p> child;
        bool singular = false;
        switch (part) {
          case p::to_function:
            if (number == 100) {
              child = p::batch;
              singular = true;
            }
            break;
          case p::batch:
            if (number == 1) {
              child = p::address;
              singular = true;
            } else if (number == 2) {
              child = p::state;
            } else if (number == 3) {
              child = p::invocation;
            }
            break;
          case p::state:
            if (number == 2) {
              child = p::typed_value;
              singular = true;
            }
            break;
          case p::invocation:
            if (number == 1 || number == 2) {
              child = number == 1 ? p::address : p::typed_value;
              singular = true;
            }
            break;
          default:
            break;
        }
        if (child) {
          if (singular && ++seen[number == 100 ? 0 : number] > 1) {
            q.repeated_submessage = true;
          }
          find_quirks(payload, *child, q);
        }
        break;
      }
      default:
        return;
    }
  }
}

}  // namespace detail

/// The quirks of `bytes` read as a ToFunction.
inline to_function_quirks find_quirks(std::string_view bytes) {
  to_function_quirks q;
  detail::find_quirks(bytes, detail::to_function_part::to_function, q);
  return q;
}

// --- Printing views (for failure messages) --------------------------------------------------------

inline std::string quoted(std::string_view s) {
  std::string out = "\"";
  static constexpr char digits[] = "0123456789abcdef";
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7F && c != '"' && c != '\\') {
      out += c;
    } else {
      out += "\\x";
      out += digits[u >> 4];
      out += digits[u & 15];
    }
  }
  return out + "\"";
}

inline std::string describe(const codec::address_view& a) {
  return "{" + quoted(a.namespace_name) + " " + quoted(a.type) + " " + quoted(a.id) + "}";
}

inline std::string describe(const codec::typed_value_view& v) {
  return "{" + quoted(v.type_name) + (v.has_value ? " has_value " : " no_value ") + quoted(v.value) + "}";
}

inline std::string describe(const codec::invocation_batch_view& b) {
  std::string out = "target " + describe(b.target) + "\n";
  for (const auto& s : b.states) {
    out += "state " + quoted(s.name) + (s.has_state_value ? " " + describe(s.value) : " (no state_value)") + "\n";
  }
  for (const auto& i : b.invocations) {
    out += "invocation caller " + (i.caller ? describe(*i.caller) : "(none)") + " argument " +
           describe(i.argument) + "\n";
  }
  return out;
}

inline std::string describe(const codec::from_function_view& r) {
  std::string out = r.incomplete ? "incomplete_invocation_context\n" : "invocation_result\n";
  for (const auto& m : r.mutations) {
    out += "mutation " + std::to_string(static_cast<int>(m.type)) + " " + quoted(m.state_name) + " " +
           describe(m.value) + "\n";
  }
  for (const auto& m : r.messages) {
    out += "message " + describe(m.target) + " " + describe(m.argument) + "\n";
  }
  for (const auto& d : r.delayed) {
    out += std::string("delayed ") + (d.is_cancellation ? "cancel " : "") + std::to_string(d.delay_ms) +
           "ms " + describe(d.target) + " " + describe(d.argument) + " token " + quoted(d.cancellation_token) + "\n";
  }
  for (const auto& e : r.egresses) {
    out += "egress " + quoted(e.egress_namespace) + " " + quoted(e.egress_type) + " " + describe(e.argument) + "\n";
  }
  for (const auto& m : r.missing_values) {
    out += "missing " + quoted(m.state_name) + " " + quoted(m.type_name) + " mode " +
           std::to_string(static_cast<int>(m.mode)) + " " + std::to_string(m.expire_after_ms) + "ms\n";
  }
  return out;
}

}  // namespace statefun::test::nanopb
