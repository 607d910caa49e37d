#include <statefun/codec/from_function.hpp>

// The FromFunction writer and decoder against nanopb's generic decoder (the independent
// reference), the official vectors, and hand-written canonical bytes.

#include "support/doctest.hpp"
#include "support/memory.hpp"
#include "support/files.hpp"
#include "support/nanopb_reference.hpp"
#include "support/views_inside.hpp"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using statefun::errc;
using statefun::codec::address_view;
using statefun::codec::delayed_view;
using statefun::codec::egress_view;
using statefun::codec::expire_mode;
using statefun::codec::from_function_view;
using statefun::codec::from_function_writer;
using statefun::codec::message_view;
using statefun::codec::missing_value_view;
using statefun::codec::mutation_type;
using statefun::codec::mutation_view;
using statefun::codec::typed_value_view;
namespace nb = statefun::test::nanopb;

using statefun::test::under_asan;

/// Bytes from hex pairs ("a2 06 05"); spaces are ignored.
std::string hex(std::string_view text) {
  std::string out;
  auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  for (std::size_t i = 0; i < text.size();) {
    if (text[i] == ' ') {
      ++i;
      continue;
    }
    out += static_cast<char>(nibble(text[i]) * 16 + nibble(text[i + 1]));
    i += 2;
  }
  return out;
}

/// Every FromFunction body we have: the vectors' responses and the workloads' responses.
std::vector<std::string> response_files() {
  std::vector<std::string> out;
  const std::filesystem::path root(STATEFUN_TEST_DATA);
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    const std::string name = entry.path().lexically_relative(root).generic_string();
    if (entry.is_regular_file() && name.ends_with(".bin") && name.find(".response") != std::string::npos) {
      out.push_back(name);
    }
  }
  std::sort(out.begin(), out.end());
  REQUIRE(out.size() >= 16);  // 11 vectors, 5 workload responses
  return out;
}

const address_view counter_address{"vec", "counter", "x"};
const typed_value_view hello{"io.statefun.types/string", true, std::string_view("\x0a\x05hello", 7)};

/// What the writer writes: the payload of field 100 (`invocation_result`) of `bytes`.
std::string_view result_payload(std::string_view bytes) {
  const auto payload = nb::field_payload(bytes, io_statefun_sdk_reqreply_FromFunction_invocation_result_tag);
  REQUIRE(payload);
  return *payload;
}

/// The field numbers of the first entry of response field `number` in `bytes`.
std::vector<std::uint32_t> entry_fields(std::string_view bytes, std::uint32_t number) {
  const auto entry = nb::field_payload(result_payload(bytes), number);
  REQUIRE(entry);
  const auto fields = nb::field_numbers(*entry);
  REQUIRE(fields);
  return *fields;
}

using fields = std::vector<std::uint32_t>;

/// nanopb's reading of `bytes`, as views; fails the test if nanopb refuses them.
from_function_view nanopb_view(const nb::decoded_from_function& ref) {
  REQUIRE_MESSAGE(ref.ok(), ref.error());
  return nb::response_view(ref.get());
}

void check_views_inside(std::string_view buffer, const from_function_view& r) {
  CHECK(statefun::test::all_inside(buffer, r));
}

/// `r` written again through the writer (the way a function would answer with these effects).
std::string rewrite(const from_function_view& r) {
  std::string out;
  if (r.incomplete) {
    from_function_writer::write_incomplete_context(r.missing_values, out);
    return out;
  }
  from_function_writer writer;
  for (const auto& m : r.mutations) writer.add_mutation(m);
  for (const auto& m : r.messages) writer.add_message(m);
  for (const auto& d : r.delayed) writer.add_delayed(d);
  for (const auto& e : r.egresses) writer.add_egress(e);
  writer.finish(out);
  return out;
}

}  // namespace

// --- The writer against nanopb ---------------------------------------------------------------------

TEST_CASE("The writer's output decodes with nanopb to exactly the fields written") {
  from_function_writer writer;
  from_function_view expected;  // what nanopb must read back
  fields entry;                 // the fields the first entry of its section must carry, in order
  std::uint32_t section = 0;

  SUBCASE("a MODIFY mutation") {
    const mutation_view m{mutation_type::modify, "count", {"io.statefun.types/int", true, std::string_view("\x0d\x2a\0\0\0", 5)}};
    writer.add_mutation(m);
    expected.mutations.push_back(m);
    section = 1;
    entry = {1, 2, 3};
  }
  SUBCASE("a DELETE mutation: no type field (DELETE is 0) and no state_value") {
    writer.add_mutation({mutation_type::remove, "count", {"ignored/type", true, "ignored"}});
    expected.mutations.push_back({mutation_type::remove, "count", {}});
    section = 1;
    entry = {2};
  }
  SUBCASE("a MODIFY to an empty value with has_value") {
    const mutation_view m{mutation_type::modify, "flag", {"io.statefun.types/bool", true, ""}};
    writer.add_mutation(m);
    expected.mutations.push_back(m);
    section = 1;
    entry = {1, 2, 3};
  }
  SUBCASE("messages") {
    const message_view a{counter_address, hello};
    const message_view b{{"other", "fn", ""}, {"vec/User", true, R"({"name":"bo"})"}};
    writer.add_message(a);
    writer.add_message(b);
    expected.messages = {a, b};
    section = 2;
    entry = {1, 2};
  }
  SUBCASE("a message with an empty target and argument still carries both") {
    writer.add_message({});
    expected.messages.push_back({});
    section = 2;
    entry = {1, 2};
  }
  SUBCASE("a delayed message without a token") {
    const delayed_view d{false, 1500, counter_address, hello, ""};
    writer.add_delayed(d);
    expected.delayed.push_back(d);
    section = 3;
    entry = {1, 2, 3};
  }
  SUBCASE("a delayed message with a token and a delay beyond 32 bits") {
    const delayed_view d{false, std::int64_t{1} << 40, counter_address, hello, "tok-1"};
    writer.add_delayed(d);
    expected.delayed.push_back(d);
    section = 3;
    entry = {1, 2, 3, 11};
  }
  SUBCASE("a delayed message with no delay") {
    const delayed_view d{false, 0, counter_address, hello, ""};
    writer.add_delayed(d);
    expected.delayed.push_back(d);
    section = 3;
    entry = {2, 3};
  }
  SUBCASE("a cancellation: is_cancellation_request and the token only") {
    writer.add_delayed({true, 0, counter_address, hello, "tok-0"});
    expected.delayed.push_back({true, 0, {}, {}, "tok-0"});
    section = 3;
    entry = {10, 11};
  }
  SUBCASE("egress messages") {
    const egress_view k{"vec", "kafka", {"type.googleapis.com/io.statefun.sdk.egress.KafkaProducerRecord", true,
                                         std::string_view("\x0a\x01k\x12\x01v\x1a\x03out", 11)}};
    const egress_view g{"vec", "generic", {"vec/User", true, "{}"}};
    writer.add_egress(k);
    writer.add_egress(g);
    expected.egresses = {k, g};
    section = 4;
    entry = {1, 2, 3};
  }

  std::string bytes;
  writer.finish(bytes);
  REQUIRE_FALSE(bytes.empty());
  nb::decoded_from_function ref(bytes);
  REQUIRE_MESSAGE(ref.ok(), ref.error());
  CHECK(ref->which_response == io_statefun_sdk_reqreply_FromFunction_invocation_result_tag);
  const auto theirs = nanopb_view(ref);
  CHECK_MESSAGE(theirs == expected, nb::describe(theirs), "\nexpected\n", nb::describe(expected));
  CHECK(entry_fields(bytes, section) == entry);
  // Presence as nanopb sees it, where it matters.
  const auto& result = *ref->response.invocation_result;
  if (section == 1 && expected.mutations[0].type == mutation_type::remove) {
    CHECK(result.state_mutations[0].state_value == nullptr);
    CHECK(result.state_mutations[0].mutation_type ==
          io_statefun_sdk_reqreply_FromFunction_PersistedValueMutation_MutationType_DELETE);
  }
  if (section == 3 && expected.delayed[0].is_cancellation) {
    CHECK(result.delayed_invocations[0].target == nullptr);
    CHECK(result.delayed_invocations[0].argument == nullptr);
    CHECK(result.delayed_invocations[0].is_cancellation_request);
  }
  if (section == 3 && !expected.delayed[0].is_cancellation) {
    CHECK((result.delayed_invocations[0].cancellation_token == nullptr) == expected.delayed[0].cancellation_token.empty());
  }
  // And our own decoder agrees, with views into the bytes.
  from_function_view ours;
  REQUIRE(ours.decode(bytes));
  CHECK(ours == expected);
  check_views_inside(bytes, ours);
}

TEST_CASE("Sections appear in field order whatever the call order; delayed effects keep call order") {
  from_function_writer writer;
  const egress_view e1{"vec", "kafka", hello};
  const egress_view e2{"vec", "generic", hello};
  const delayed_view cancel1{true, 0, {}, {}, "t1"};
  const delayed_view send2{false, 20, counter_address, hello, "t2"};
  const delayed_view cancel3{true, 0, {}, {}, "t3"};
  const delayed_view send4{false, 40, counter_address, hello, ""};
  const mutation_view del{mutation_type::remove, "x", {}};
  const mutation_view mod{mutation_type::modify, "y", {"t/int", true, "v"}};
  const message_view msg{counter_address, hello};

  writer.add_egress(e1);
  writer.add_delayed(cancel1);
  writer.add_message(msg);
  writer.add_mutation(del);
  writer.add_delayed(send2);
  writer.add_mutation(mod);
  writer.add_egress(e2);
  writer.add_delayed(cancel3);
  writer.add_delayed(send4);
  std::string bytes;
  writer.finish(bytes);

  const auto order = nb::field_numbers(result_payload(bytes));
  REQUIRE(order);
  CHECK(*order == fields{1, 1, 2, 3, 3, 3, 3, 4, 4});

  nb::decoded_from_function ref(bytes);
  const auto theirs = nanopb_view(ref);
  CHECK(theirs.mutations == std::vector<mutation_view>{del, mod});
  CHECK(theirs.messages == std::vector<message_view>{msg});
  CHECK(theirs.delayed == std::vector<delayed_view>{cancel1, send2, cancel3, send4});
  CHECK(theirs.egresses == std::vector<egress_view>{e1, e2});
}

TEST_CASE("A writer with no effects finishes as zero bytes") {
  from_function_writer writer;
  CHECK(writer.empty());
  std::string out = "stale bytes";
  writer.finish(out);
  CHECK(out.empty());

  writer.add_mutation({mutation_type::remove, "x", {}});
  CHECK_FALSE(writer.empty());
  writer.clear();
  CHECK(writer.empty());
  out = "stale";
  writer.finish(out);
  CHECK(out.empty());

  // Zero bytes read as an invocation result with no effects, by nanopb and by us.
  nb::decoded_from_function ref(out);
  REQUIRE(ref.ok());
  CHECK(ref->which_response == 0);
  from_function_view ours;
  REQUIRE(ours.decode(out));
  CHECK(ours == from_function_view{});
}

// --- IncompleteInvocationContext --------------------------------------------------------------------

TEST_CASE("The missing-state reply writes mode and millis, as the ttl vector does") {
  const std::array<missing_value_view, 2> missing = {{
      {"seen", "io.statefun.types/int", expire_mode::after_invoke, 60'000},
      {"session", "io.statefun.types/string", expire_mode::after_write, 3'600'000},
  }};
  std::string bytes;
  from_function_writer::write_incomplete_context(missing, bytes);

  const std::string vector = statefun::test::read_data("ttl-missing-state.response.bin");
  nb::decoded_from_function ours_ref(bytes);
  nb::decoded_from_function vector_ref(vector);
  REQUIRE(ours_ref.ok());
  REQUIRE(vector_ref.ok());
  CHECK(ours_ref->which_response == io_statefun_sdk_reqreply_FromFunction_incomplete_invocation_context_tag);
  const auto ours = nanopb_view(ours_ref);
  const auto theirs = nanopb_view(vector_ref);
  CHECK_MESSAGE(ours == theirs, nb::describe(ours), "\nvector\n", nb::describe(theirs));
  CHECK(ours.missing_values == std::vector<missing_value_view>(missing.begin(), missing.end()));
  const auto* ctx = ours_ref->response.incomplete_invocation_context;
  REQUIRE(ctx->missing_values_count == 2);
  REQUIRE(ctx->missing_values[0].expiration_spec != nullptr);
  CHECK(ctx->missing_values[0].expiration_spec->mode ==
        io_statefun_sdk_reqreply_FromFunction_ExpirationSpec_ExpireMode_AFTER_INVOKE);
  CHECK(ctx->missing_values[0].expiration_spec->expire_after_millis == 60'000);
  CHECK(ctx->missing_values[1].expiration_spec->mode ==
        io_statefun_sdk_reqreply_FromFunction_ExpirationSpec_ExpireMode_AFTER_WRITE);
  CHECK(ctx->missing_values[1].expiration_spec->expire_after_millis == 3'600'000);
  // The reference SDK wrote the fields in the same order, so the bytes agree too.
  CHECK(bytes == vector);
}

TEST_CASE("The missing-state reply leaves the expiration spec out for mode none") {
  SUBCASE("same meaning as the vector's empty expiration_spec {}") {
    const std::array<missing_value_view, 1> missing = {{{"count", "io.statefun.types/int", expire_mode::none, 0}}};
    std::string bytes;
    from_function_writer::write_incomplete_context(missing, bytes);
    const std::string vector = statefun::test::read_data("counter-missing-state.response.bin");
    nb::decoded_from_function ours_ref(bytes);
    nb::decoded_from_function vector_ref(vector);
    CHECK(nanopb_view(ours_ref) == nanopb_view(vector_ref));
    CHECK(ours_ref->response.incomplete_invocation_context->missing_values[0].expiration_spec == nullptr);
    CHECK(vector_ref->response.incomplete_invocation_context->missing_values[0].expiration_spec != nullptr);
    const auto spec = nb::field_payload(*nb::field_payload(bytes, 101), 1);
    REQUIRE(spec);
    CHECK(nb::field_numbers(*spec) == fields{1, 3});
  }
  SUBCASE("even when milliseconds are given") {
    const std::array<missing_value_view, 1> missing = {{{"s", "t/x", expire_mode::none, 5000}}};
    std::string bytes;
    from_function_writer::write_incomplete_context(missing, bytes);
    CHECK(bytes == hex("aa 06 0a 0a 08 0a 01 73 1a 03 74 2f 78"));
  }
  SUBCASE("a mode with zero milliseconds keeps the spec and its mode") {
    const std::array<missing_value_view, 1> missing = {{{"s", "t/x", expire_mode::after_write, 0}}};
    std::string bytes;
    from_function_writer::write_incomplete_context(missing, bytes);
    CHECK(bytes == hex("aa 06 0e 0a 0c 0a 01 73 12 02 08 01 1a 03 74 2f 78"));
    nb::decoded_from_function ref(bytes);
    const auto theirs = nanopb_view(ref);
    CHECK(theirs.missing_values == std::vector<missing_value_view>(missing.begin(), missing.end()));
  }
  SUBCASE("no missing values at all: an empty context") {
    std::string bytes = "stale";
    from_function_writer::write_incomplete_context({}, bytes);
    CHECK(bytes == hex("aa 06 00"));
    nb::decoded_from_function ref(bytes);
    REQUIRE(ref.ok());
    CHECK(ref->which_response == io_statefun_sdk_reqreply_FromFunction_incomplete_invocation_context_tag);
  }
}

// --- Canonical bytes ------------------------------------------------------------------------------------

TEST_CASE("The writer's output is canonical: hand-written bytes for small cases") {
  from_function_writer writer;
  std::string expected;
  SUBCASE("DELETE") {
    writer.add_mutation({mutation_type::remove, "a", {}});
    expected = hex("a2 06 05 0a 03 12 01 61");
  }
  SUBCASE("MODIFY") {
    writer.add_mutation({mutation_type::modify, "c", {"t/i", true, "\x01"}});
    expected = hex("a2 06 13 0a 11 08 01 12 01 63 1a 0a 0a 03 74 2f 69 10 01 1a 01 01");
  }
  SUBCASE("a cancellation") {
    writer.add_delayed({true, 0, {}, {}, "t"});
    expected = hex("a2 06 07 1a 05 50 01 5a 01 74");
  }
  SUBCASE("a message to nobody with no argument") {
    writer.add_message({});
    expected = hex("a2 06 06 12 04 0a 00 12 00");
  }
  SUBCASE("a delayed message with a token") {
    writer.add_delayed({false, 1500, {"n", "t", "i"}, {"x/y", false, ""}, "k"});
    expected = hex("a2 06 1a 1a 18 08 dc 0b 12 09 0a 01 6e 12 01 74 1a 01 69 1a 05 0a 03 78 2f 79 5a 01 6b");
  }
  SUBCASE("an egress message") {
    writer.add_egress({"e", "k", {"t/x", true, "v"}});
    expected = hex("a2 06 14 22 12 0a 01 65 12 01 6b 1a 0a 0a 03 74 2f 78 10 01 1a 01 76");
  }
  SUBCASE("a negative delay is written as protobuf does (ten bytes); refusing it is the caller's job") {
    writer.add_delayed({false, -1, {}, {}, ""});
    expected = hex("a2 06 11 1a 0f 08 ff ff ff ff ff ff ff ff ff 01 12 00 1a 00");
  }
  std::string bytes;
  writer.finish(bytes);
  CHECK(nb::quoted(bytes) == nb::quoted(expected));
  // nanopb reads these bytes and, given the same fields, writes the same ones.
  nb::decoded_from_function ref(bytes);
  REQUIRE_MESSAGE(ref.ok(), ref.error());
  const auto again = nb::encode(ref.get());
  REQUIRE(again);
  CHECK(nb::quoted(*again) == nb::quoted(bytes));
}

TEST_CASE("The missing-state reply is canonical: hand-written bytes") {
  const std::array<missing_value_view, 2> missing = {{
      {"s", "t/x", expire_mode::none, 0},
      {"s", "t/x", expire_mode::after_write, 1000},
  }};
  std::string bytes;
  from_function_writer::write_incomplete_context(missing, bytes);
  CHECK(nb::quoted(bytes) == nb::quoted(hex("aa 06 1b 0a 08 0a 01 73 1a 03 74 2f 78 0a 0f 0a 01 73 12 05 08 01 10 e8 07 1a 03 74 2f 78")));
}

// --- Decoding responses -------------------------------------------------------------------------------------

TEST_CASE("from_function_view decodes every vector response as nanopb does") {
  for (const auto& name : response_files()) {
    CAPTURE(name);
    const std::string bytes = statefun::test::read_data(name);
    from_function_view ours;
    const auto result = ours.decode(bytes);
    REQUIRE_MESSAGE(result, "errc ", static_cast<int>(result.code), " at ", result.offset);
    nb::decoded_from_function ref(bytes);
    const auto theirs = nanopb_view(ref);
    CHECK_MESSAGE(ours == theirs, nb::describe(ours), "\nnanopb\n", nb::describe(theirs));
    check_views_inside(bytes, ours);
  }
}

TEST_CASE("Writing a decoded vector response again gives the same effects") {
  for (const auto& name : response_files()) {
    CAPTURE(name);
    const std::string bytes = statefun::test::read_data(name);
    from_function_view first;
    REQUIRE(first.decode(bytes));
    const std::string rewritten = rewrite(first);
    from_function_view second;
    REQUIRE(second.decode(rewritten));
    // The vectors carry an empty expiration spec for "no expiry": mode none either way.
    CHECK_MESSAGE(second == first, nb::describe(second), "\nwas\n", nb::describe(first));
    // Rewriting is a fixed point: our output is canonical.
    CHECK(rewrite(second) == rewritten);
  }
}

TEST_CASE("from_function_view refuses malformed responses") {
  struct row {
    const char* name;
    std::string bytes;
    errc code;
  };
  const std::vector<row> rows = {
      {"a mutation type of 2", hex("a2 06 04 0a 02 08 02"), errc::invalid_mutation_type},
      {"a mutation type of -1", hex("a2 06 0d 0a 0b 08 ff ff ff ff ff ff ff ff ff 01"), errc::invalid_mutation_type},
      {"a result longer than the input", hex("a2 06 05 0a 03"), errc::length_past_end},
      {"a mutation longer than the result", hex("a2 06 02 0a 05 12 03 61 62 63"), errc::length_past_end},
      {"a state name cut short", hex("a2 06 06 0a 04 12 05 61 62"), errc::length_past_end},
      {"a state name that is not UTF-8", hex("a2 06 06 0a 04 12 02 c3 28"), errc::invalid_utf8},
      {"a group", hex("a2 06 02 0b 0c"), errc::wrong_wire_type},
      {"field number 0", hex("aa 06 01 00"), errc::invalid_field_number},
      {"a truncated delay", hex("a2 06 03 1a 01 08"), errc::truncated},
      {"an 11-byte expiry", hex("aa 06 10 0a 0e 12 0c 10 80 80 80 80 80 80 80 80 80 80 00"), errc::malformed_varint},
  };
  for (const auto& r : rows) {
    CAPTURE(r.name);
    from_function_view view;
    const auto result = view.decode(r.bytes);
    CHECK(static_cast<int>(result.code) == static_cast<int>(r.code));
    CHECK(result.offset <= r.bytes.size());
  }
  // Unknown fields at three levels are skipped.
  from_function_view view;
  const std::string ok = hex("08 01 a2 06 0b 0a 04 08 01 78 01 98 01 07 28 00");
  REQUIRE(view.decode(ok));
  REQUIRE(view.mutations.size() == 1);
  CHECK(view.mutations[0].type == mutation_type::modify);
  nb::decoded_from_function ref(ok);
  CHECK(nanopb_view(ref) == view);
}

TEST_CASE("from_function_view skips known fields with an unexpected wire type, as protobuf-java does") {
  struct row {
    const char* name;
    std::string with;     // a field sent with another wire type
    std::string without;  // the same response without it
  };
  const std::vector<row> rows = {
      {"a state name sent as a varint", hex("a2 06 04 0a 02 10 01"), hex("a2 06 02 0a 00")},
      {"a delay sent length-delimited", hex("a2 06 05 1a 03 0a 01 00"), hex("a2 06 02 1a 00")},
      {"a mutation sent as a varint", hex("a2 06 02 08 01"), hex("a2 06 00")},
      {"a missing value sent as fixed32", hex("aa 06 05 0d 61 62 63 64"), hex("aa 06 00")},
  };
  for (const auto& r : rows) {
    CAPTURE(r.name);
    from_function_view skipped;
    from_function_view plain;
    REQUIRE(skipped.decode(r.with));
    REQUIRE(plain.decode(r.without));
    CHECK(skipped == plain);
  }
}

TEST_CASE("A response holding both oneof members keeps only the last one") {
  // protobuf (and nanopb) clear the other member when a oneof member arrives; so must we, or an
  // `incomplete` view would come with mutations (fuzz/corpus/from_function/regression-oneof-mix.bin).
  from_function_writer writer;
  writer.add_mutation({mutation_type::remove, "a", {}});
  std::string result;
  writer.finish(result);
  const std::array<missing_value_view, 1> missing = {{{"b", "t/x", expire_mode::none, 0}}};
  std::string incomplete;
  from_function_writer::write_incomplete_context(missing, incomplete);

  SUBCASE("result, then incomplete context") {
    const std::string bytes = result + incomplete;
    from_function_view ours;
    REQUIRE(ours.decode(bytes));
    nb::decoded_from_function ref(bytes);
    CHECK(ours.incomplete);
    CHECK(ours.mutations.empty());
    CHECK(ours == nanopb_view(ref));
  }
  SUBCASE("incomplete context, then result") {
    const std::string bytes = incomplete + result;
    from_function_view ours;
    REQUIRE(ours.decode(bytes));
    nb::decoded_from_function ref(bytes);
    CHECK_FALSE(ours.incomplete);
    CHECK(ours.missing_values.empty());
    CHECK(ours == nanopb_view(ref));
  }
}

TEST_CASE("A result given twice merges: the effects of both, in order") {
  from_function_writer writer;
  writer.add_mutation({mutation_type::remove, "a", {}});
  std::string first;
  writer.finish(first);
  writer.clear();
  writer.add_mutation({mutation_type::remove, "b", {}});
  std::string second;
  writer.finish(second);
  const std::string bytes = first + second;
  from_function_view ours;
  REQUIRE(ours.decode(bytes));
  REQUIRE(ours.mutations.size() == 2);
  CHECK(ours.mutations[0].state_name == "a");
  CHECK(ours.mutations[1].state_name == "b");
}

// --- Reuse ------------------------------------------------------------------------------------------------------

TEST_CASE("A reused writer does not grow after warm-up") {
  from_function_writer writer;
  std::string out;
  const std::string big_value(4096, 'v');
  auto answer = [&](int effects) {
    writer.clear();
    for (int i = 0; i < effects; ++i) {
      writer.add_mutation({mutation_type::modify, "count", {"io.statefun.types/int", true, big_value}});
      writer.add_message({counter_address, {"t/x", true, big_value}});
      writer.add_delayed({false, 1000 + i, counter_address, {"t/x", true, big_value}, "tok"});
      writer.add_delayed({true, 0, {}, {}, "tok"});
      writer.add_egress({"vec", "kafka", {"t/x", true, big_value}});
    }
    writer.finish(out);
  };
  answer(20);  // warm-up: the largest answer
  const auto capacity = out.capacity();
  const auto* data = out.data();
  const std::size_t size = out.size();

#if defined(__GLIBC__)
  const auto heap_before = mallinfo2().uordblks;
#endif
  for (int round = 0; round < 50; ++round) {
    answer(round % 21);
  }
  answer(20);
#if defined(__GLIBC__)
  const auto heap_after = mallinfo2().uordblks;
  if (!under_asan) {  // ASan's allocator is not glibc's: mallinfo2 does not see it
    CHECK(heap_after == heap_before);
  }
#endif
  CHECK(out.capacity() == capacity);
  CHECK(out.data() == data);
  CHECK(out.size() == size);

  // finish() reuses the output string as well.
  for (int round = 0; round < 5; ++round) {
    answer(1);
    CHECK(out.capacity() == capacity);
  }
  // write_incomplete_context reuses its output string too.
  const std::array<missing_value_view, 1> missing = {{{"s", "t/x", expire_mode::after_write, 1000}}};
  from_function_writer::write_incomplete_context(missing, out);
  CHECK(out.capacity() == capacity);
}

TEST_CASE("Decoding responses reuses the vectors' capacity") {
  const std::string big = statefun::test::read_data("messenger.response.bin");
  const std::string types = statefun::test::read_data("types-write.response.bin");
  const std::string missing = statefun::test::read_data("ttl-missing-state.response.bin");
  from_function_view view;
  REQUIRE(view.decode(big));
  REQUIRE(view.decode(types));
  REQUIRE(view.decode(missing));
  const std::array<std::size_t, 5> capacity = {view.mutations.capacity(), view.messages.capacity(), view.delayed.capacity(),
                                               view.egresses.capacity(), view.missing_values.capacity()};
  for (int round = 0; round < 3; ++round) {
    for (const std::string* bytes : {&types, &big, &missing}) {
      REQUIRE(view.decode(*bytes));
      CHECK(view.mutations.capacity() == capacity[0]);
      CHECK(view.messages.capacity() == capacity[1]);
      CHECK(view.delayed.capacity() == capacity[2]);
      CHECK(view.egresses.capacity() == capacity[3]);
      CHECK(view.missing_values.capacity() == capacity[4]);
    }
  }
  from_function_view fresh;
  REQUIRE(fresh.decode(big));
  REQUIRE(view.decode(big));
  CHECK(view == fresh);
}
