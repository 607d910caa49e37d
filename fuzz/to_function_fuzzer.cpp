// libFuzzer target: the hand-written ToFunction decoder against nanopb's generic decoder.
//
// For every input:
//   1. Our decoder never crashes, never reads outside the input (ASan), reports an offset inside
//      the input, and a view reused across inputs decodes exactly as a fresh one.
//   2. If ours accepts:
//      a. every view points into the input (zero copy);
//      b. nanopb accepts too, unless the input holds a bool that nanopb's 32-bit varint reader
//         refuses (quirk wide_bool, error "varint overflow"), a known field with another wire
//         type than its own, which protobuf skips as unknown (quirk mistyped, error "wrong wire
//         type"), or the input exceeds nanopb's 16-bit limits (a bytes field or repeated field
//         over 65535 entries);
//      c. both read the same fields, unless a singular submessage occurs twice (quirk
//         repeated_submessage: protobuf merges, nanopb keeps the last) or has_value arrives
//         length-delimited (quirk packed_bool: nanopb reads a packed bool, we skip it); strings
//         are compared up to their first NUL byte, where nanopb's char* strings end;
//      d. encode -> decode gives equal views, and encoding those again gives the same bytes
//         (our output is canonical, so a fixed point);
//      e. nanopb reads our encoding and agrees with it (there are no quirks in canonical output).
//   3. If ours refuses and nanopb accepts, our reason must be one nanopb does not check:
//      missing_invocation_batch (nanopb leaves the oneof empty), missing_target (target absent or
//      without namespace/type in nanopb's reading too, unless repeated_submessage), malformed_varint
//      (quirk long_varint: nanopb skips over-long unknown varints and sign-extends >32-bit keys),
//      or invalid_utf8 (nanopb does not check strings; protobuf-java does). truncated,
//      length_past_end, invalid_field_number and wrong_wire_type must never be ours alone.
// The quirks are found by nb::find_quirks (test/support/nanopb_reference.hpp), an independent
// walk of the schema; test/to_function_test.cpp checks it on each documented case.

#include <statefun/codec/to_function.hpp>

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

using statefun::errc;
using statefun::codec::address_view;
using statefun::codec::invocation_batch_view;
using statefun::codec::typed_value_view;
namespace nb = statefun::test::nanopb;

using statefun::fuzz::fail;
using statefun::fuzz::require;
using statefun::test::all_inside;

/// A string as nanopb's char* holds it: up to the first NUL.
std::string_view c_string(std::string_view s) { return s.substr(0, s.find('\0')); }

/// `batch` as nanopb would see it: strings cut at NUL, then an all-empty caller is no caller.
invocation_batch_view as_nanopb_sees_it(invocation_batch_view batch) {
  auto address = [](address_view& a) {
    a.namespace_name = c_string(a.namespace_name);
    a.type = c_string(a.type);
    a.id = c_string(a.id);
  };
  batch.target.namespace_name = c_string(batch.target.namespace_name);
  batch.target.type = c_string(batch.target.type);
  batch.target.id = c_string(batch.target.id);
  for (auto& s : batch.states) {
    s.name = c_string(s.name);
    s.value.type_name = c_string(s.value.type_name);
  }
  for (auto& i : batch.invocations) {
    if (i.caller) {
      address(*i.caller);
      if (i.caller->empty()) {
        i.caller.reset();
      }
    }
    i.argument.type_name = c_string(i.argument.type_name);
  }
  return batch;
}

void check_agrees_with_nanopb(const invocation_batch_view& ours, const nb::decoded_to_function& ref,
                              const char* what) {
  const auto theirs = nb::batch_view(ref.get());
  require(theirs.has_value(), what, "nanopb has no invocation batch");
  const auto expected = as_nanopb_sees_it(ours);
  require(*theirs == expected, what, "nanopb:\n" + nb::describe(*theirs) + "ours:\n" + nb::describe(expected));
}

/// True when a string field of `batch` is not UTF-8 (checked with its own loop, the long way).
bool has_invalid_utf8(const invocation_batch_view& batch) {
  bool bad = false;
  auto check = [&bad](std::string_view s) { bad = bad || !statefun::detail::is_valid_utf8(s); };
  auto address = [&check](const address_view& a) {
    check(a.namespace_name);
    check(a.type);
    check(a.id);
  };
  address(batch.target);
  for (const auto& s : batch.states) {
    check(s.name);
    check(s.value.type_name);
  }
  for (const auto& i : batch.invocations) {
    if (i.caller) {
      address(*i.caller);
    }
    check(i.argument.type_name);
  }
  return bad;
}

invocation_batch_view reused;  // decodes every input, to catch state leaking between decodes

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);

  invocation_batch_view ours;
  const auto result = statefun::fuzz::decode_fresh_and_reused(bytes, ours, reused);

  const nb::decoded_to_function ref(bytes);
  const auto quirks = nb::find_quirks(bytes);

  if (result) {
    require(all_inside(bytes, ours), "a view points outside the input");
    // (b) nanopb accepts what we accept.
    if (!ref.ok()) {
      // nanopb's 16-bit pb_size_t caps a bytes field and a repeated field at 65535 entries.
      const bool nanopb_limit = size > 65535 && (ref.error() == "bytes overflow" || ref.error() == "too many array entries");
      require((quirks.wide_bool && ref.error() == "varint overflow") ||
                  (quirks.mistyped && ref.error() == "wrong wire type") || nanopb_limit,
              "we accept, nanopb refuses", ref.error());
    } else if (!quirks.repeated_submessage && !quirks.packed_bool) {
      // (c) and reads the same.
      check_agrees_with_nanopb(ours, ref, "nanopb reads other fields");
    }
    // (d) round trip.
    std::string encoded;
    ours.encode(encoded);
    invocation_batch_view again;
    const auto again_result = again.decode(encoded);
    require(static_cast<bool>(again_result), "our encoding does not decode");
    require(again == ours, "encode -> decode changed the fields",
            "before:\n" + nb::describe(ours) + "after:\n" + nb::describe(again));
    std::string encoded_again;
    again.encode(encoded_again);
    require(encoded_again == encoded, "encoding is not a fixed point");
    // (e) nanopb reads our encoding, which has no quirks.
    const auto canonical = nb::find_quirks(encoded);
    require(!canonical.repeated_submessage && !canonical.wide_bool && !canonical.packed_bool && !canonical.long_varint &&
                !canonical.mistyped,
            "our encoding has a nanopb quirk");
    const nb::decoded_to_function ref_encoded(encoded);
    require(ref_encoded.ok(), "nanopb refuses our encoding", ref_encoded.error());
    check_agrees_with_nanopb(again, ref_encoded, "nanopb reads our encoding differently");
    return 0;
  }

  // 3. We refuse: if nanopb accepts, the reason must be one it does not check.
  if (ref.ok()) {
    switch (result.code) {
      case errc::missing_invocation_batch:
        require(ref->which_request == 0, "missing_invocation_batch, but nanopb found one");
        break;
      case errc::missing_target: {
        if (quirks.repeated_submessage) {
          break;
        }
        const auto theirs = nb::batch_view(ref.get());
        require(theirs && (theirs->target.namespace_name.empty() || theirs->target.type.empty()),
                "missing_target, but nanopb found one");
        break;
      }
      case errc::malformed_varint:
        require(quirks.long_varint, "malformed_varint that nanopb accepts, with no long varint");
        break;
      case errc::invalid_utf8:
        // Refused after a complete read: one of the strings read must really not be UTF-8.
        require(has_invalid_utf8(ours), "invalid_utf8, but every string read is UTF-8");
        break;
      default:
        fail("we refuse a structurally valid input that nanopb accepts",
             "errc " + std::to_string(static_cast<int>(result.code)) + " at " + std::to_string(result.offset));
    }
  }
  return 0;
}
