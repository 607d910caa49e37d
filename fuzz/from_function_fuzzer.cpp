// libFuzzer target: the FromFunction decoder and writer.
//
// For every input:
//   1. Decoding never crashes, never reads outside the input (ASan), reports an offset inside the
//      input, and a view reused across inputs decodes exactly as a fresh one.
//   2. If it decodes:
//      a. every view points into the input (zero copy);
//      b. the result is one member of the oneof: an incomplete context carries no effects, and
//         an invocation result no missing values (protobuf keeps the last oneof member seen);
//      c. writing the views again through from_function_writer and decoding gives the same
//         views, except where the writer drops what the protocol gives no meaning to (a DELETE's
//         state_value, a cancellation's target and argument, the milliseconds of mode NONE), and
//         writing those again gives the same bytes (canonical output, a fixed point);
//      d. nanopb reads the writer's output and agrees, strings compared up to their first NUL
//         (nanopb's char* strings end there). nanopb generated ExpireMode as an unsigned enum and
//         refuses a negative mode ("integer too large"), which protobuf writes as ten bytes; such
//         inputs skip this step.
// The raw input is not compared with nanopb: nanopb keeps the last occurrence of a repeated
// singular submessage instead of merging (see test/support/nanopb_reference.hpp);
// to_function_fuzzer.cpp does that differential on the request side.
//
// 2b found that decode kept both oneof members; the input is kept as the seed
// corpus/from_function/regression-oneof-mix.bin.

#include <statefun/codec/from_function.hpp>

#include "fuzz_check.hpp"
#include "support/nanopb_reference.hpp"
#include "support/views_inside.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using statefun::codec::address_view;
using statefun::codec::expire_mode;
using statefun::codec::from_function_view;
using statefun::codec::from_function_writer;
using statefun::codec::mutation_type;
using statefun::codec::typed_value_view;
namespace nb = statefun::test::nanopb;

using statefun::fuzz::fail;
using statefun::fuzz::require;
using statefun::test::all_inside;

bool has_effects(const from_function_view& r) {
  return !r.mutations.empty() || !r.messages.empty() || !r.delayed.empty() || !r.egresses.empty();
}

/// The views written again, as a function with these effects would answer.
void rewrite(const from_function_view& r, from_function_writer& writer, std::string& out) {
  if (r.incomplete) {
    from_function_writer::write_incomplete_context(r.missing_values, out);
    return;
  }
  writer.clear();
  for (const auto& m : r.mutations) writer.add_mutation(m);
  for (const auto& m : r.messages) writer.add_message(m);
  for (const auto& d : r.delayed) writer.add_delayed(d);
  for (const auto& e : r.egresses) writer.add_egress(e);
  writer.finish(out);
}

/// What survives writing: the fields the protocol gives meaning to.
from_function_view meaningful(from_function_view r) {
  for (auto& m : r.mutations) {
    if (m.type == mutation_type::remove) {
      m.value = {};
    }
  }
  for (auto& d : r.delayed) {
    if (d.is_cancellation) {
      d.target = {};
      d.argument = {};
    }
  }
  for (auto& m : r.missing_values) {
    if (m.mode == expire_mode::none) {
      m.expire_after_ms = 0;
    }
  }
  return r;
}

std::string_view c_string(std::string_view s) { return s.substr(0, s.find('\0')); }

/// `r` as nanopb's char* strings hold it.
from_function_view as_nanopb_sees_it(from_function_view r) {
  auto address = [](address_view& a) {
    a.namespace_name = c_string(a.namespace_name);
    a.type = c_string(a.type);
    a.id = c_string(a.id);
  };
  auto value = [](typed_value_view& v) { v.type_name = c_string(v.type_name); };
  for (auto& m : r.mutations) {
    m.state_name = c_string(m.state_name);
    value(m.value);
  }
  for (auto& m : r.messages) {
    address(m.target);
    value(m.argument);
  }
  for (auto& d : r.delayed) {
    address(d.target);
    value(d.argument);
    d.cancellation_token = c_string(d.cancellation_token);
  }
  for (auto& e : r.egresses) {
    e.egress_namespace = c_string(e.egress_namespace);
    e.egress_type = c_string(e.egress_type);
    value(e.argument);
  }
  for (auto& m : r.missing_values) {
    m.state_name = c_string(m.state_name);
    m.type_name = c_string(m.type_name);
  }
  return r;
}

from_function_view reused;
from_function_writer writer;  // reused across inputs too

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);

  from_function_view ours;
  const auto result = statefun::fuzz::decode_fresh_and_reused(bytes, ours, reused);
  if (!result) {
    return 0;
  }
  require(all_inside(bytes, ours), "a view points outside the input");

  // (b) One oneof member.
  const bool mixed = ours.incomplete ? has_effects(ours) : !ours.missing_values.empty();
  require(!mixed, "both oneof members decoded: the last one must win", nb::describe(ours));

  // (c) Write again, decode again.
  std::string written;
  rewrite(ours, writer, written);
  from_function_view again;
  const auto again_result = again.decode(written);
  require(static_cast<bool>(again_result), "the writer's output does not decode");
  const auto expected = meaningful(ours);
  require(again == expected, "write -> decode changed the fields",
          "before:\n" + nb::describe(expected) + "after:\n" + nb::describe(again));
  std::string written_again;
  rewrite(again, writer, written_again);
  require(written_again == written, "writing is not a fixed point");

  // (d) nanopb reads the writer's output the same way.
  for (const auto& m : again.missing_values) {
    if (static_cast<std::int32_t>(m.mode) < 0) {
      return 0;
    }
  }
  const nb::decoded_from_function ref(written);
  require(ref.ok(), "nanopb refuses the writer's output", ref.error());
  const auto theirs = nb::response_view(ref.get());
  const auto mine = as_nanopb_sees_it(again);
  require(theirs == mine, "nanopb reads the writer's output differently",
          "nanopb:\n" + nb::describe(theirs) + "ours:\n" + nb::describe(mine));
  return 0;
}
