#pragma once

/// @file
/// The journal of a durable function instance: what its flow has done so far, kept in a reserved
/// state and rewritten by every batch. docs/durable.md describes the model; this file holds the
/// data and its encoding (protobuf wire format, written by hand like the protocol codec).

#include <statefun/detail/wire.hpp>
#include <statefun/durable_options.hpp>  // journal_state_name, journal_type_name
#include <statefun/error.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace statefun::inline v0::detail {

/// The message a flow sends itself for a sleep or a call's timeout.
inline constexpr std::string_view wake_type_name = "io.statefun_cpp.durable/wake";

/// A message as a flow received it: who sent it (`""` for an ingress) and its typed value.
struct journal_message {
  std::string caller;  ///< an address key (see `address_key`), or empty for an ingress
  std::string type;
  std::string value;
  bool has_value = true;

  friend bool operator==(const journal_message&, const journal_message&) = default;
};

/// One await of a flow, in the order the flow issued them.
struct journal_step {
  enum class kind : std::uint8_t { call = 1, sleep = 2, run = 3, next_message = 4 };
  enum class status : std::uint8_t {
    pending = 0,    ///< issued, not completed
    done = 1,       ///< completed with `result` (a value of `result_type`)
    failed = 2,     ///< completed with an error; `result` says why
    timed_out = 3,  ///< a call whose timeout fired first
    abandoned = 4,  ///< lost a `first()`: its completion, should one come, is dropped
  };

  kind what = kind::call;
  /// A call's target (an address key) or a run's name; empty for a sleep.
  std::string subject;
  /// A sleep's duration, or a call's timeout (0: none).
  std::int64_t millis = 0;
  status state = status::pending;
  /// The order in which completions arrived (1, 2, ...); 0 while not completed.
  std::uint32_t completed_as = 0;
  std::string result_type;
  std::string result;

  [[nodiscard]] bool completed() const noexcept { return completed_as != 0; }
};

/// A state's value when the flow started, kept once the flow first writes it: replay starts
/// from these, so the replayed code reads what the original run read.
struct journal_undo {
  std::string state;
  bool present = false;
  std::string value;
};

/// The flow in progress at an address.
struct journal_flow {
  std::uint64_t id = 0;
  journal_message trigger;
  std::vector<journal_step> steps;
  std::uint32_t completions = 0;
  std::vector<journal_undo> undo;
};

/// A call sent and not answered yet: replies are matched to these in order, per callee.
struct journal_outstanding {
  std::string callee;  ///< an address key
  std::uint64_t flow = 0;
  std::uint32_t step = 0;
  std::string reply_type;
  bool abandoned = false;  ///< its flow no longer waits: the reply is dropped
};

struct journal {
  std::uint64_t next_flow = 1;
  std::optional<journal_flow> flow;
  /// Messages that arrived while the flow was suspended, in arrival order.
  std::vector<journal_message> queue;
  std::vector<journal_outstanding> outstanding;

  [[nodiscard]] bool empty() const noexcept { return !flow && queue.empty() && outstanding.empty(); }
};

// --- Encoding ----------------------------------------------------------------------------------

namespace journal_codec {

// The encoder uses the protocol codec's writer: sizes first (protobuf puts every length before
// its payload), then one pass of plain stores into a string grown once.

inline std::size_t uint_size(std::uint32_t number, std::uint64_t value) noexcept {
  return int_field_size(number, static_cast<std::int64_t>(value));
}

inline std::size_t message_size(const journal_message& m) noexcept {
  return string_field_size(1, m.caller.size()) + delimited_size(2, m.type.size()) +
         string_field_size(3, m.value.size()) + bool_field_size(4, !m.has_value);
}

inline std::size_t step_size(const journal_step& s) noexcept {
  return uint_size(1, static_cast<std::uint64_t>(s.what)) + string_field_size(2, s.subject.size()) +
         uint_size(3, static_cast<std::uint64_t>(s.millis)) + uint_size(4, static_cast<std::uint64_t>(s.state)) +
         uint_size(5, s.completed_as) + string_field_size(6, s.result_type.size()) +
         string_field_size(7, s.result.size());
}

inline std::size_t undo_size(const journal_undo& u) noexcept {
  return delimited_size(1, u.state.size()) + bool_field_size(2, u.present) + string_field_size(3, u.value.size());
}

inline std::size_t flow_size(const journal_flow& flow) noexcept {
  std::size_t size = uint_size(1, flow.id) + delimited_size(2, message_size(flow.trigger)) + uint_size(4, flow.completions);
  for (const journal_step& s : flow.steps) {
    size += delimited_size(3, step_size(s));
  }
  for (const journal_undo& u : flow.undo) {
    size += delimited_size(5, undo_size(u));
  }
  return size;
}

inline std::size_t outstanding_size(const journal_outstanding& o) noexcept {
  return delimited_size(1, o.callee.size()) + uint_size(2, o.flow) + uint_size(3, o.step) +
         delimited_size(4, o.reply_type.size()) + bool_field_size(5, o.abandoned);
}

inline void write_uint(wire_writer& w, std::uint32_t number, std::uint64_t value) noexcept {
  w.int_field(number, static_cast<std::int64_t>(value));
}

inline void write_message(wire_writer& w, std::uint32_t number, const journal_message& m) noexcept {
  w.message_header(number, message_size(m));
  w.string_field(1, m.caller);
  w.delimited(2, m.type);
  w.string_field(3, m.value);
  w.bool_field(4, !m.has_value);
}

inline void write_flow(wire_writer& w, const journal_flow& flow) noexcept {
  w.message_header(2, flow_size(flow));
  write_uint(w, 1, flow.id);
  write_message(w, 2, flow.trigger);
  for (const journal_step& s : flow.steps) {
    w.message_header(3, step_size(s));
    write_uint(w, 1, static_cast<std::uint64_t>(s.what));
    w.string_field(2, s.subject);
    write_uint(w, 3, static_cast<std::uint64_t>(s.millis));
    write_uint(w, 4, static_cast<std::uint64_t>(s.state));
    write_uint(w, 5, s.completed_as);
    w.string_field(6, s.result_type);
    w.string_field(7, s.result);
  }
  write_uint(w, 4, flow.completions);
  for (const journal_undo& u : flow.undo) {
    w.message_header(5, undo_size(u));
    w.delimited(1, u.state);
    w.bool_field(2, u.present);
    w.string_field(3, u.value);
  }
}

/// The journal's bytes (empty for an empty journal: the state is then removed).
inline std::string encode(const journal& j) {
  std::string out;
  if (j.empty()) {
    return out;
  }
  // next_flow is written even when 0: an absent field reads as the default, 1.
  std::size_t size = key_size(1) + varint_size(j.next_flow);
  if (j.flow) {
    size += delimited_size(2, flow_size(*j.flow));
  }
  for (const journal_message& m : j.queue) {
    size += delimited_size(3, message_size(m));
  }
  for (const journal_outstanding& o : j.outstanding) {
    size += delimited_size(4, outstanding_size(o));
  }
  wire_writer w(out, size);
  w.key(1, wire_type::varint);
  w.varint(j.next_flow);
  if (j.flow) {
    write_flow(w, *j.flow);
  }
  for (const journal_message& m : j.queue) {
    write_message(w, 3, m);
  }
  for (const journal_outstanding& o : j.outstanding) {
    w.message_header(4, outstanding_size(o));
    w.delimited(1, o.callee);
    write_uint(w, 2, o.flow);
    write_uint(w, 3, o.step);
    w.delimited(4, o.reply_type);
    w.bool_field(5, o.abandoned);
  }
  return out;
}

/// Reads the fields of one embedded message with `on_field(field, reader)`; false on bad bytes.
template <class OnField>
bool read_fields(std::string_view bytes, OnField&& on_field) {
  wire_reader reader(bytes);
  wire_field field;
  while (reader.next(field)) {
    if (!on_field(field, reader)) {
      return false;
    }
  }
  return !reader.failed();
}

inline bool read_uint(wire_reader& r, const wire_field& f, std::uint64_t& value) {
  return r.expect(f, wire_type::varint) && r.read_varint(value);
}

inline bool read_string(wire_reader& r, const wire_field& f, std::string& value) {
  std::string_view view;
  if (!r.expect(f, wire_type::length_delimited) || !r.read_bytes(view)) {
    return false;
  }
  value.assign(view);
  return true;
}

inline bool read_view(wire_reader& r, const wire_field& f, std::string_view& value) {
  return r.expect(f, wire_type::length_delimited) && r.read_bytes(value);
}

inline bool decode_message(std::string_view bytes, journal_message& m) {
  return read_fields(bytes, [&](const wire_field& f, wire_reader& r) {
    std::uint64_t n = 0;
    switch (f.number) {
      case 1: return read_string(r, f, m.caller);
      case 2: return read_string(r, f, m.type);
      case 3: return read_string(r, f, m.value);
      case 4: return read_uint(r, f, n) && ((m.has_value = n == 0), true);
      default: return r.skip(f);
    }
  });
}

inline bool decode_step(std::string_view bytes, journal_step& s) {
  return read_fields(bytes, [&](const wire_field& f, wire_reader& r) {
    std::uint64_t n = 0;
    switch (f.number) {
      case 1:
        return read_uint(r, f, n) && n >= 1 && n <= 4 && ((s.what = static_cast<journal_step::kind>(n)), true);
      case 2: return read_string(r, f, s.subject);
      case 3: return read_uint(r, f, n) && ((s.millis = static_cast<std::int64_t>(n)), true);
      case 4: return read_uint(r, f, n) && n <= 4 && ((s.state = static_cast<journal_step::status>(n)), true);
      case 5: return read_uint(r, f, n) && n <= UINT32_MAX && ((s.completed_as = static_cast<std::uint32_t>(n)), true);
      case 6: return read_string(r, f, s.result_type);
      case 7: return read_string(r, f, s.result);
      default: return r.skip(f);
    }
  });
}

inline bool decode_flow(std::string_view bytes, journal_flow& flow) {
  return read_fields(bytes, [&](const wire_field& f, wire_reader& r) {
    std::uint64_t n = 0;
    std::string_view view;
    switch (f.number) {
      case 1: return read_uint(r, f, flow.id);
      case 2: return read_view(r, f, view) && decode_message(view, flow.trigger);
      case 3: return read_view(r, f, view) && decode_step(view, flow.steps.emplace_back());
      case 4: return read_uint(r, f, n) && n <= UINT32_MAX && ((flow.completions = static_cast<std::uint32_t>(n)), true);
      case 5: {
        journal_undo& u = flow.undo.emplace_back();
        return read_view(r, f, view) && read_fields(view, [&](const wire_field& g, wire_reader& s) {
                 std::uint64_t present = 0;
                 switch (g.number) {
                   case 1: return read_string(s, g, u.state);
                   case 2: return read_uint(s, g, present) && ((u.present = present != 0), true);
                   case 3: return read_string(s, g, u.value);
                   default: return s.skip(g);
                 }
               });
      }
      default: return r.skip(f);
    }
  });
}

inline bool decode_outstanding(std::string_view bytes, journal_outstanding& o) {
  return read_fields(bytes, [&](const wire_field& f, wire_reader& r) {
    std::uint64_t n = 0;
    switch (f.number) {
      case 1: return read_string(r, f, o.callee);
      case 2: return read_uint(r, f, o.flow);
      case 3: return read_uint(r, f, n) && n <= UINT32_MAX && ((o.step = static_cast<std::uint32_t>(n)), true);
      case 4: return read_string(r, f, o.reply_type);
      case 5: return read_uint(r, f, n) && ((o.abandoned = n != 0), true);
      default: return r.skip(f);
    }
  });
}

/// Reads a journal; false (and `j` unspecified) when the bytes are not one.
inline bool decode(std::string_view bytes, journal& j) {
  j = journal{};
  return read_fields(bytes, [&](const wire_field& f, wire_reader& r) {
    std::string_view view;
    switch (f.number) {
      case 1: return read_uint(r, f, j.next_flow);
      case 2: return read_view(r, f, view) && decode_flow(view, j.flow.emplace());
      case 3: return read_view(r, f, view) && decode_message(view, j.queue.emplace_back());
      case 4: return read_view(r, f, view) && decode_outstanding(view, j.outstanding.emplace_back());
      default: return r.skip(f);
    }
  });
}

/// A wake's payload: which flow and which of its steps.
inline std::string encode_wake(std::uint64_t flow, std::uint32_t step) {
  std::string out;
  wire_writer w(out, uint_size(1, flow) + uint_size(2, step));
  write_uint(w, 1, flow);
  write_uint(w, 2, step);
  return out;
}

inline bool decode_wake(std::string_view bytes, std::uint64_t& flow, std::uint32_t& step) {
  flow = 0;
  step = 0;
  return read_fields(bytes, [&](const wire_field& f, wire_reader& r) {
    std::uint64_t n = 0;
    switch (f.number) {
      case 1: return read_uint(r, f, flow);
      case 2: return read_uint(r, f, n) && n <= UINT32_MAX && ((step = static_cast<std::uint32_t>(n)), true);
      default: return r.skip(f);
    }
  });
}

}  // namespace journal_codec

}  // namespace statefun::inline v0::detail
