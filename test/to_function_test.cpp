#include <statefun/codec/to_function.hpp>

// The hand-written ToFunction codec against nanopb's generic decoder (the independent reference),
// the official vectors, and hand-built malformed input.

#include "support/doctest.hpp"
#include "support/files.hpp"
#include "support/nanopb_reference.hpp"
#include "support/views_inside.hpp"

#include <pthread.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using statefun::errc;
using statefun::codec::address_view;
using statefun::codec::invocation_batch_view;
using statefun::codec::invocation_view;
using statefun::codec::state_view;
using statefun::codec::typed_value_view;
namespace nb = statefun::test::nanopb;

// --- Test data ----------------------------------------------------------------------------------

/// Names (relative to test/data) of the files whose name matches, sorted.
std::vector<std::string> data_files(bool (*wanted)(const std::string&)) {
  std::vector<std::string> out;
  const std::filesystem::path root(STATEFUN_TEST_DATA);
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (entry.is_regular_file()) {
      const std::string name = entry.path().lexically_relative(root).generic_string();
      if (wanted(name)) {
        out.push_back(name);
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

/// Every ToFunction body we have: the vectors' requests and the benchmark workloads.
std::vector<std::string> request_files() {
  auto files = data_files([](const std::string& name) {
    const bool vector = name.find('/') == std::string::npos && name.ends_with(".request.bin");
    const bool workload = name.starts_with("workloads/") && name.ends_with(".bin") &&
                          name.find(".response") == std::string::npos;
    return vector || workload;
  });
  REQUIRE(files.size() >= 15);  // 11 vectors, 4 workloads
  return files;
}

// --- Building protobuf by hand ------------------------------------------------------------------

std::string varint(std::uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
  return out;
}

std::string key(std::uint64_t number, unsigned wire_type) { return varint((number << 3) | wire_type); }
std::string ld(std::uint32_t number, std::string_view payload) {
  return key(number, 2) + varint(payload.size()) + std::string(payload);
}
std::string vi(std::uint32_t number, std::uint64_t value) { return key(number, 0) + varint(value); }

std::string address(std::string_view ns, std::string_view type, std::string_view id) {
  std::string out;
  if (!ns.empty()) out += ld(1, ns);
  if (!type.empty()) out += ld(2, type);
  if (!id.empty()) out += ld(3, id);
  return out;
}

std::string typed(std::string_view type_name, bool has_value, std::string_view value) {
  std::string out;
  if (!type_name.empty()) out += ld(1, type_name);
  if (has_value) out += vi(2, 1);
  if (!value.empty()) out += ld(3, value);
  return out;
}

/// Bytes with (optionally) one marked position: where a decoder should report a problem.
struct piece {
  std::string bytes;
  std::size_t mark = std::string::npos;
};

piece raw(std::string bytes) { return {std::move(bytes)}; }
/// The problem is at the first byte of `bytes`.
piece at(std::string bytes) { return {std::move(bytes), 0}; }

piece operator+(piece a, const piece& b) {
  if (a.mark == std::string::npos && b.mark != std::string::npos) {
    a.mark = a.bytes.size() + b.mark;
  }
  a.bytes += b.bytes;
  return a;
}
piece operator+(piece a, const std::string& b) { return std::move(a) + raw(b); }
piece operator+(const std::string& a, piece b) { return raw(a) + b; }

/// `payload` as length-delimited field `number`, keeping its mark.
piece field(std::uint32_t number, const piece& payload) {
  const std::string header = key(number, 2) + varint(payload.bytes.size());
  return raw(header) + payload;
}

const std::string target_payload = address("ns", "fn", "id");
const std::string argument_payload = typed("io.statefun.types/string", true, std::string("\x0a\x02hi", 4));

/// A ToFunction around `batch`.
std::string request(std::string_view batch) { return ld(100, batch); }

std::string simple_request() {
  return request(ld(1, target_payload) + ld(2, ld(1, "count") + ld(2, typed("t/int", true, "\x01"))) +
                 ld(3, ld(1, address("a", "b", "c")) + ld(2, argument_payload)));
}

// --- Comparing with nanopb ----------------------------------------------------------------------

/// Our decode of `bytes` must equal nanopb's, field by field.
void check_same_as_nanopb(std::string_view bytes, const invocation_batch_view& ours) {
  nb::decoded_to_function ref(bytes);
  REQUIRE_MESSAGE(ref.ok(), ref.error());
  REQUIRE(ref->which_request == io_statefun_sdk_reqreply_ToFunction_invocation_tag);
  const auto& batch = *ref->request.invocation;
  REQUIRE(batch.target != nullptr);
  CHECK(ours.target.namespace_name == nb::str(batch.target->namespace_));
  CHECK(ours.target.type == nb::str(batch.target->type));
  CHECK(ours.target.id == nb::str(batch.target->id));
  REQUIRE(ours.states.size() == batch.state_count);
  for (std::size_t i = 0; i < ours.states.size(); ++i) {
    CAPTURE(i);
    const auto& s = batch.state[i];
    CHECK(ours.states[i].name == nb::str(s.state_name));
    CHECK(ours.states[i].has_state_value == (s.state_value != nullptr));
    if (s.state_value != nullptr) {
      CHECK(ours.states[i].value.type_name == nb::str(s.state_value->typename_));
      CHECK(ours.states[i].value.has_value == s.state_value->has_value);
      CHECK(ours.states[i].value.value == nb::bytes(s.state_value->value));
    }
  }
  REQUIRE(ours.invocations.size() == batch.invocations_count);
  for (std::size_t i = 0; i < ours.invocations.size(); ++i) {
    CAPTURE(i);
    const auto& inv = batch.invocations[i];
    const bool nanopb_caller = inv.caller != nullptr && !nb::view(*inv.caller).empty();
    CHECK(ours.invocations[i].caller.has_value() == nanopb_caller);
    if (nanopb_caller && ours.invocations[i].caller) {
      CHECK(ours.invocations[i].caller->namespace_name == nb::str(inv.caller->namespace_));
      CHECK(ours.invocations[i].caller->type == nb::str(inv.caller->type));
      CHECK(ours.invocations[i].caller->id == nb::str(inv.caller->id));
    }
    REQUIRE(inv.argument != nullptr);
    CHECK(ours.invocations[i].argument.type_name == nb::str(inv.argument->typename_));
    CHECK(ours.invocations[i].argument.has_value == inv.argument->has_value);
    CHECK(ours.invocations[i].argument.value == nb::bytes(inv.argument->value));
  }
  // The same, through the conversion the fuzzer uses.
  const auto converted = nb::batch_view(ref.get());
  REQUIRE(converted);
  CHECK_MESSAGE(*converted == ours, nb::describe(*converted), "\nvs ours\n", nb::describe(ours));
}

/// Every non-empty view of `batch` points into `buffer`.
void check_views_inside(std::string_view buffer, const invocation_batch_view& batch) {
  CHECK(statefun::test::all_inside(buffer, batch));
}

/// Runs `body` on a thread with a `stack_bytes` stack: deep recursion there overflows it.
void run_on_small_stack(std::size_t stack_bytes, const std::function<void()>& body) {
  pthread_attr_t attr;
  REQUIRE(pthread_attr_init(&attr) == 0);
  REQUIRE(pthread_attr_setstacksize(&attr, stack_bytes) == 0);
  pthread_t thread;
  auto trampoline = [](void* arg) -> void* {
    (*static_cast<const std::function<void()>*>(arg))();
    return nullptr;
  };
  REQUIRE(pthread_create(&thread, &attr, trampoline, const_cast<std::function<void()>*>(&body)) == 0);
  REQUIRE(pthread_join(thread, nullptr) == 0);
  pthread_attr_destroy(&attr);
}

/// Field `number` holding field `number` holding ... `levels` deep, the innermost empty: built
/// outside-in in linear time.
std::string deeply_nested(std::uint32_t number, std::size_t levels) {
  std::vector<std::size_t> size(levels + 1, 0);  // size[i]: bytes of the field nested i deep
  const std::size_t key_bytes = key(number, 2).size();
  for (std::size_t i = 1; i <= levels; ++i) {
    size[i] = key_bytes + varint(size[i - 1]).size() + size[i - 1];
  }
  std::string out;
  out.reserve(size[levels]);
  for (std::size_t i = levels; i >= 1; --i) {
    out += key(number, 2);
    out += varint(size[i - 1]);
  }
  REQUIRE(out.size() == size[levels]);
  return out;
}

}  // namespace

// --- The vectors ----------------------------------------------------------------------------------

TEST_CASE("Every vector and workload request decodes to exactly what nanopb decodes") {
  for (const auto& name : request_files()) {
    CAPTURE(name);
    const std::string bytes = statefun::test::read_data(name);
    invocation_batch_view batch;
    const auto result = batch.decode(bytes);
    REQUIRE_MESSAGE(result, "errc ", static_cast<int>(result.code), " at ", result.offset);
    CHECK_FALSE(batch.invocations.empty());
    check_same_as_nanopb(bytes, batch);
  }
}

TEST_CASE("Decoded views point into the request bytes, never into copies") {
  for (const auto& name : request_files()) {
    CAPTURE(name);
    const std::string bytes = statefun::test::read_data(name);
    invocation_batch_view batch;
    REQUIRE(batch.decode(bytes));
    check_views_inside(bytes, batch);
    // Spot check: the target's namespace is the bytes at its position in the buffer.
    REQUIRE_FALSE(batch.target.namespace_name.empty());
    CHECK(std::string_view(bytes).substr(
              static_cast<std::size_t>(batch.target.namespace_name.data() - bytes.data()),
              batch.target.namespace_name.size()) == batch.target.namespace_name);
  }
}

TEST_CASE("Some vectors carry the cases the protocol singles out") {
  SUBCASE("a registered state with has_value = false and a typename") {
    invocation_batch_view batch;
    const std::string bytes = statefun::test::read_data("counter-absent.request.bin");
    REQUIRE(batch.decode(bytes));
    REQUIRE(batch.states.size() == 1);
    CHECK(batch.states[0].has_state_value);
    CHECK_FALSE(batch.states[0].value.has_value);
    CHECK_FALSE(batch.states[0].holds_value());
    CHECK(batch.states[0].value.type_name == "io.statefun.types/int");
  }
  SUBCASE("a registered state with no state_value at all") {
    invocation_batch_view batch;
    const std::string bytes = statefun::test::read_data("counter-no-state-value.request.bin");
    REQUIRE(batch.decode(bytes));
    REQUIRE(batch.states.size() == 1);
    CHECK(batch.states[0].name == "count");
    CHECK_FALSE(batch.states[0].has_state_value);
    CHECK(batch.states[0].value == typed_value_view{});
  }
  SUBCASE("callers present and absent, in order") {
    invocation_batch_view batch;
    const std::string bytes = statefun::test::read_data("counter-batch.request.bin");
    REQUIRE(batch.decode(bytes));
    REQUIRE(batch.invocations.size() == 5);
    CHECK_FALSE(batch.invocations[0].caller);
    CHECK(batch.invocations[1].caller == address_view{"vec", "echo", "a"});
    CHECK_FALSE(batch.invocations[2].caller);
    CHECK(batch.invocations[3].caller == address_view{"other.ns", "fn", "b"});
    CHECK_FALSE(batch.invocations[4].caller);
    CHECK(batch.invocations[4].argument.value == std::string_view("\x0a\x02m4", 4));
  }
}

TEST_CASE("Encoding a decoded vector reproduces its bytes exactly") {
  for (const auto& name : request_files()) {
    CAPTURE(name);
    const std::string bytes = statefun::test::read_data(name);
    invocation_batch_view batch;
    REQUIRE(batch.decode(bytes));
    std::string out;
    batch.encode(out);
    CHECK(out == bytes);
  }
}

// --- Encoding ---------------------------------------------------------------------------------------

TEST_CASE("A constructed batch survives encode then decode") {
  const std::string big_storage(std::size_t{1} << 20, 'v');  // 1 MiB
  const std::string_view big = big_storage;
  invocation_batch_view batch;
  batch.target = {"ns", "fn", "id"};
  bool nanopb_can_hold_it = true;  // nanopb's 16-bit pb_size_t caps a bytes field at 65535

  SUBCASE("one plain invocation") {
    batch.invocations.push_back({std::nullopt, {"t/x", true, "v"}});
  }
  SUBCASE("empty strings everywhere they may be empty") {
    batch.target.id = "";
    batch.states.push_back({"", true, {"", false, ""}});
    batch.invocations.push_back({address_view{"", "t", ""}, {"", false, ""}});
  }
  SUBCASE("has_value = false with a typename, and has_value = true with an empty value") {
    batch.states.push_back({"s", true, {"t/int", false, ""}});
    batch.invocations.push_back({std::nullopt, {"t/x", false, ""}});
    batch.invocations.push_back({std::nullopt, {"t/x", true, ""}});
  }
  SUBCASE("an absent state_value and a present but empty one stay apart") {
    batch.states.push_back({"absent", false, {}});
    batch.states.push_back({"empty", true, {}});
    batch.invocations.push_back({std::nullopt, {}});
  }
  SUBCASE("callers with one field set") {
    batch.invocations.push_back({address_view{"n", "", ""}, {}});
    batch.invocations.push_back({address_view{"", "t", ""}, {}});
    batch.invocations.push_back({address_view{"", "", "i"}, {}});
  }
  SUBCASE("1 MiB values") {
    batch.states.push_back({"big", true, {"t/blob", true, big}});
    batch.invocations.push_back({address_view{"a", "b", big}, {"t/blob", true, big}});
    nanopb_can_hold_it = false;
  }
  SUBCASE("many states and invocations") {
    for (int i = 0; i < 300; ++i) {
      const bool present = i % 2 == 0;  // an absent state_value has no fields
      batch.states.push_back({"s", present,
                              present ? typed_value_view{"t/x", i % 3 == 0, big.substr(0, static_cast<std::size_t>(i))}
                                      : typed_value_view{}});
      batch.invocations.push_back({i % 2 == 0 ? std::optional<address_view>({"a", "b", "c"}) : std::nullopt,
                                   {"t/x", true, big.substr(0, static_cast<std::size_t>(i))}});
    }
  }

  std::string bytes;
  batch.encode(bytes);
  invocation_batch_view decoded;
  const auto result = decoded.decode(bytes);
  REQUIRE_MESSAGE(result, "errc ", static_cast<int>(result.code), " at ", result.offset);
  CHECK_MESSAGE(decoded == batch, nb::describe(decoded), "\nvs\n", nb::describe(batch));
  check_views_inside(bytes, decoded);

  if (nanopb_can_hold_it) {
    // nanopb reads what we wrote, and writes the same bytes from the same fields: both canonical.
    check_same_as_nanopb(bytes, decoded);
    nb::arena arena;
    const auto theirs = nb::encode(arena.to_function(batch));
    REQUIRE(theirs);
    CHECK(*theirs == bytes);
  }
}

TEST_CASE("A caller whose three fields are empty decodes as no caller") {
  invocation_batch_view batch;
  batch.target = {"ns", "fn", ""};
  batch.invocations.push_back({address_view{}, {"t/x", true, "v"}});
  std::string bytes;
  batch.encode(bytes);
  // The encoder writes the empty caller (the optional is engaged) ...
  CHECK(bytes.find(ld(1, "")) != std::string::npos);
  invocation_batch_view decoded;
  REQUIRE(decoded.decode(bytes));
  REQUIRE(decoded.invocations.size() == 1);
  // ... and the decoder maps it to "no caller", as the protocol asks.
  CHECK_FALSE(decoded.invocations[0].caller);
  CHECK(decoded.invocations[0].argument == typed_value_view{"t/x", true, "v"});
}

TEST_CASE("encode appends to the output and leaves what was there") {
  const std::string bytes = simple_request();
  invocation_batch_view batch;
  REQUIRE(batch.decode(bytes));
  std::string out = "prefix";
  batch.encode(out);
  CHECK(out == "prefix" + simple_request());
}

// --- Merging and skipping ------------------------------------------------------------------------------
// nanopb is no reference here: it keeps the last occurrence of a singular submessage instead of
// merging (see nanopb_reference.hpp), so these tests spell out protobuf's rule directly.

TEST_CASE("A singular submessage given twice merges field by field") {
  invocation_batch_view batch;
  std::string bytes;  // the views point into it: it must outlive them
  auto decode = [&](std::string input) {
    bytes = std::move(input);
    return batch.decode(bytes);
  };
  SUBCASE("target") {
    REQUIRE(decode(request(ld(1, address("ns", "fn", "")) + ld(1, address("", "", "id")) +
                                 ld(3, ld(2, argument_payload)))));
    CHECK(batch.target == address_view{"ns", "fn", "id"});
  }
  SUBCASE("target, the second occurrence overriding one field") {
    REQUIRE(decode(request(ld(1, address("ns", "fn", "id")) + ld(1, address("", "other", "")))));
    CHECK(batch.target == address_view{"ns", "other", "id"});
  }
  SUBCASE("target split around the other fields") {
    REQUIRE(decode(request(ld(1, address("ns", "", "")) + ld(3, ld(2, argument_payload)) +
                                 ld(1, address("", "fn", "")))));
    CHECK(batch.target == address_view{"ns", "fn", ""});
    CHECK(batch.invocations.size() == 1);
  }
  SUBCASE("state_value") {
    REQUIRE(decode(request(ld(1, target_payload) +
                                 ld(2, ld(1, "s") + ld(2, typed("t/int", false, "")) + ld(2, typed("", true, "v"))))));
    REQUIRE(batch.states.size() == 1);
    CHECK(batch.states[0].value == typed_value_view{"t/int", true, "v"});
  }
  SUBCASE("caller and argument") {
    REQUIRE(decode(request(ld(1, target_payload) +
                                 ld(3, ld(1, address("a", "", "")) + ld(2, typed("t/x", false, "")) +
                                           ld(1, address("", "b", "c")) + ld(2, typed("", true, "v"))))));
    REQUIRE(batch.invocations.size() == 1);
    CHECK(batch.invocations[0].caller == address_view{"a", "b", "c"});
    CHECK(batch.invocations[0].argument == typed_value_view{"t/x", true, "v"});
  }
  SUBCASE("an empty second caller leaves the first alone") {
    REQUIRE(decode(request(ld(1, target_payload) + ld(3, ld(1, address("a", "b", "c")) + ld(1, "")))));
    REQUIRE(batch.invocations.size() == 1);
    CHECK(batch.invocations[0].caller == address_view{"a", "b", "c"});
  }
  SUBCASE("the invocation batch itself (a oneof member)") {
    REQUIRE(decode(request(ld(1, address("ns", "", "")) + ld(2, ld(1, "s1")) + ld(3, "")) +
                         request(ld(1, address("", "fn", "")) + ld(2, ld(1, "s2")) + ld(3, ""))));
    CHECK(batch.target == address_view{"ns", "fn", ""});
    REQUIRE(batch.states.size() == 2);
    CHECK(batch.states[0].name == "s1");
    CHECK(batch.states[1].name == "s2");
    CHECK(batch.invocations.size() == 2);
  }
  SUBCASE("a string given twice: the last one wins") {
    REQUIRE(decode(request(ld(1, ld(1, "first") + ld(2, "fn") + ld(1, "last")))));
    CHECK(batch.target.namespace_name == "last");
  }
}

TEST_CASE("Unknown fields of every wire type are skipped at every level") {
  const std::string unknowns = vi(15, 300) + vi(16, ~std::uint64_t{0}) + key(17, 1) + "12345678" + key(18, 5) +
                               "1234" + ld(19, "payload") + ld(20, "") + vi(536870911, 1) +  // 2^29 - 1
                               key(21, 0) + "\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01";      // 10 bytes
  const std::string u = unknowns;
  const std::string with = request(u + ld(1, u + target_payload + u) + u +
                                   ld(2, u + ld(1, "s") + u + ld(2, u + typed("t/int", true, "v") + u) + u) + u +
                                   ld(3, u + ld(1, u + address("a", "b", "c") + u) + u + ld(2, u + argument_payload + u) + u) +
                                   u) +
                           u;
  const std::string without = request(ld(1, target_payload) + ld(2, ld(1, "s") + ld(2, typed("t/int", true, "v"))) +
                                      ld(3, ld(1, address("a", "b", "c")) + ld(2, argument_payload)));
  invocation_batch_view a;
  invocation_batch_view b;
  REQUIRE(a.decode(with));
  REQUIRE(b.decode(without));
  CHECK(a == b);
  check_same_as_nanopb(with, a);
  // Re-encoding drops them.
  std::string out;
  a.encode(out);
  CHECK(out == without);
}

// --- Malformed input ------------------------------------------------------------------------------------

namespace {

struct malformed_row {
  std::string name;
  piece input;
  errc code;  // errc{} when the input must decode
  /// nanopb must refuse it too (false where nanopb is lenient or our check is semantic).
  bool nanopb_refuses = false;
};

/// Where a bad field can sit: each site embeds `bad` as the last field of one message kind,
/// with valid fields before it and more bytes after the enclosing message, so that a nested
/// length is checked against its own message and not the whole buffer.
struct site {
  std::string name;
  std::function<piece(const piece&)> embed;
};

std::vector<site> sites() {
  const std::string trailer = ld(15, std::string(300, 'x'));
  const std::string target = ld(1, target_payload);
  const std::string argument = ld(2, argument_payload);
  return {
      {"ToFunction", [=](const piece& bad) { return raw(request(target + ld(3, argument))) + bad; }},
      {"InvocationBatchRequest", [=](const piece& bad) { return field(100, target + ld(3, argument) + bad) + trailer; }},
      {"target Address", [=](const piece& bad) { return field(100, field(1, target_payload + bad) + ld(3, argument) + trailer) + trailer; }},
      {"PersistedValue", [=](const piece& bad) { return field(100, target + field(2, ld(1, "s") + bad) + ld(3, argument) + trailer) + trailer; }},
      {"state_value TypedValue", [=](const piece& bad) { return field(100, target + field(2, ld(1, "s") + field(2, typed("t/x", true, "v") + bad) + trailer) + ld(3, argument) + trailer) + trailer; }},
      {"Invocation", [=](const piece& bad) { return field(100, target + field(3, argument + bad) + trailer) + trailer; }},
      {"caller Address", [=](const piece& bad) { return field(100, target + field(3, field(1, address("a", "b", "c") + bad) + argument + trailer) + trailer) + trailer; }},
      {"argument TypedValue", [=](const piece& bad) { return field(100, target + field(3, field(2, argument_payload + bad) + trailer) + trailer) + trailer; }},
  };
}

/// A known field of one of the messages of `sites()`.
struct known_field {
  std::string context;
  std::uint32_t number;
  bool is_bool = false;
};

std::vector<known_field> known_fields() {
  return {
      {"InvocationBatchRequest", 1}, {"InvocationBatchRequest", 2}, {"InvocationBatchRequest", 3},
      {"target Address", 1},         {"target Address", 2},         {"target Address", 3},
      {"PersistedValue", 1},         {"PersistedValue", 2},         {"state_value TypedValue", 1},
      {"state_value TypedValue", 2, true}, {"state_value TypedValue", 3}, {"Invocation", 1},
      {"Invocation", 2},             {"caller Address", 1},         {"caller Address", 2},
      {"caller Address", 3},         {"argument TypedValue", 1},    {"argument TypedValue", 2, true},
      {"argument TypedValue", 3},
  };
}

std::vector<malformed_row> malformed_rows() {
  const std::string target = ld(1, target_payload);
  std::vector<malformed_row> rows = {
      // Semantic checks: offsets are not meaningful (0).
      {"empty input", raw(""), errc::missing_invocation_batch},
      {"only unknown fields", raw(vi(7, 1) + ld(8, "x")), errc::missing_invocation_batch},
      {"an empty batch", raw(request("")), errc::missing_target},
      {"a batch without target", raw(request(ld(3, ld(2, argument_payload)))), errc::missing_target},
      {"an empty target message", raw(request(ld(1, "") + ld(3, ""))), errc::missing_target},
      {"a target with empty type", raw(request(ld(1, address("ns", "", "id")))), errc::missing_target},
      {"a target with empty namespace", raw(request(ld(1, address("", "fn", "id")))), errc::missing_target},
      {"a target with only an id", raw(request(ld(1, address("", "", "id")))), errc::missing_target},
      // Structural problems at the top level.
      {"a key cut short", at("\x80"), errc::truncated, true},
      {"a key of 2^32", at("\x80\x80\x80\x80\x10") + request(target), errc::malformed_varint, true},
      // A known field with another wire type is an unknown field (protobuf-java skips it; nanopb refuses).
      {"the invocation batch sent as a varint", raw(key(100, 0) + varint(1)), errc::missing_invocation_batch, true},
      {"the invocation batch sent as fixed32", raw(key(100, 5) + "abcd"), errc::missing_invocation_batch, true},
      {"the invocation batch longer than the input", key(100, 2) + at(varint(1000)) + target, errc::length_past_end, true},
      {"a batch length of 2^63", key(100, 2) + at(varint(std::uint64_t{1} << 63)) + target, errc::length_past_end, true},
      {"a batch length varint cut short", key(100, 2) + at("\xff"), errc::truncated, true},
      // Error precedence: the first problem in byte order is the one reported.
      {"two problems: the first is reported",
       field(100, raw(target) + field(3, field(2, at(key(0, 0)) + varint(0)))) + key(9, 3),
       errc::invalid_field_number, true},
  };

  struct bad_field {
    std::string name;
    piece bytes;
    errc code;
    bool nanopb_refuses;
  };
  const std::vector<bad_field> anywhere = {
      {"a tag with field number 0 (varint)", at(key(0, 0)) + varint(1), errc::invalid_field_number, true},
      {"a tag with field number 0 (length-delimited)", at(key(0, 2)) + varint(0), errc::invalid_field_number, true},
      {"wire type 3 (start group)", at(key(9, 3)), errc::wrong_wire_type, true},
      {"wire type 4 (end group)", at(key(9, 4)), errc::wrong_wire_type, true},
      {"wire type 6", at(key(9, 6)), errc::wrong_wire_type, true},
      {"wire type 7", at(key(9, 7)), errc::wrong_wire_type, true},
      {"a key beyond 32 bits", at(varint((std::uint64_t{1} << 32) | 8)) + varint(1), errc::malformed_varint, true},
      {"a varint of 11 bytes", key(9, 0) + at(std::string(10, '\x80') + '\x00'), errc::malformed_varint, false},
      {"a 10th varint byte of 2", key(9, 0) + at(std::string(9, '\xff') + '\x02'), errc::malformed_varint, false},
      {"a 10th varint byte of 0x7f", key(9, 0) + at(std::string(9, '\x80') + '\x7f'), errc::malformed_varint, false},
      {"an unknown length past the end", key(9, 2) + at(varint(65)) + "x", errc::length_past_end, true},
      {"an unknown length of 2^64 - 1", key(9, 2) + at(varint(~std::uint64_t{0})), errc::length_past_end, true},
      {"an unknown varint cut short", key(9, 0) + at("\x80"), errc::truncated, true},
      {"an unknown fixed32 cut short", key(9, 5) + at("abc"), errc::truncated, true},
      {"an unknown fixed64 cut short", key(9, 1) + at("abcdefg"), errc::truncated, true},
      {"a key cut short", at("\x80"), errc::truncated, true},
      // Valid unknown fields: skipped.
      {"an unknown varint", raw(vi(9, 300)), errc{}, false},
      {"an unknown 10-byte varint", raw(vi(9, ~std::uint64_t{0})), errc{}, false},
      {"an unknown fixed32", raw(key(9, 5) + "abcd"), errc{}, false},
      {"an unknown fixed64", raw(key(9, 1) + "abcdefgh"), errc{}, false},
      {"an unknown length-delimited field", raw(ld(9, "abc")), errc{}, false},
      {"an unknown field number 2^29 - 1", raw(ld(536870911, "abc")), errc{}, false},
      {"an unknown field with a padded key", raw(std::string("\xc8\x80\x80\x80\x00", 5) + varint(1)), errc{}, false},
  };
  for (const auto& where : sites()) {
    for (const auto& bad : anywhere) {
      rows.push_back({bad.name + " in " + where.name, where.embed(bad.bytes), bad.code, bad.nanopb_refuses});
    }
  }

  // Known fields with a length past the end of their own message (reported at the length), and
  // bools with a varint too long: the strictness that stays for known fields.
  for (const auto& where : sites()) {
    for (const auto& k : known_fields()) {
      if (k.context != where.name) {
        continue;
      }
      const std::string n = std::to_string(k.number);
      if (k.is_bool) {
        rows.push_back({"bool field " + n + " with an 11-byte varint in " + where.name,
                        where.embed(key(k.number, 0) + at(std::string(10, '\x81') + '\x00')), errc::malformed_varint, true});
        rows.push_back({"bool field " + n + " as fixed32 cut short in " + where.name,
                        where.embed(key(k.number, 5) + at("abc")), errc::truncated, true});
        continue;
      }
      rows.push_back({"field " + n + " longer than its message in " + where.name,
                      where.embed(key(k.number, 2) + at(varint(200)) + "abc"), errc::length_past_end, true});
      rows.push_back({"field " + n + " as fixed64 cut short in " + where.name,
                      where.embed(key(k.number, 1) + at("abcdefg")), errc::truncated, true});
    }
  }
  return rows;
}

}  // namespace

TEST_CASE("Malformed requests are refused with the expected error at the expected byte") {
  const auto rows = malformed_rows();
  CHECK(rows.size() > 200);
  for (const auto& row : rows) {
    CAPTURE(row.name);
    const std::string& bytes = row.input.bytes;
    CAPTURE(nb::quoted(bytes));
    invocation_batch_view batch;
    const auto result = batch.decode(bytes);
    CHECK(static_cast<int>(result.code) == static_cast<int>(row.code));
    CHECK(result.offset <= bytes.size());
    if (row.code == errc{}) {
      if (result) {
        check_same_as_nanopb(bytes, batch);
        check_views_inside(bytes, batch);
      }
      continue;
    }
    if (row.input.mark != std::string::npos) {
      CHECK(result.offset == row.input.mark);
    } else {
      CHECK(result.offset == 0);
    }
    CHECK_FALSE(static_cast<bool>(result.to_error().message().empty()));
    if (row.nanopb_refuses) {
      nb::decoded_to_function ref(bytes);
      CHECK_FALSE(ref.ok());
    }
  }
}

TEST_CASE("Known fields with an unexpected wire type are skipped as unknown fields, as protobuf parsers do") {
  std::size_t checked = 0;
  for (const auto& where : sites()) {
    for (const auto& k : known_fields()) {
      if (k.context != where.name) {
        continue;
      }
      // Every wire type but the field's own, with a valid payload.
      std::vector<std::pair<std::string, std::string>> forms = {
          {"fixed32", key(k.number, 5) + "abcd"}, {"fixed64", key(k.number, 1) + "abcdefgh"}};
      if (k.is_bool) {
        forms.emplace_back("length-delimited", key(k.number, 2) + varint(1) + "\x01");
      } else {
        forms.emplace_back("varint", key(k.number, 0) + varint(300));
      }
      for (const auto& named : forms) {
        // (Named variables, not structured bindings: clang 14 cannot capture those in CAPTURE.)
        const std::string& form = named.first;
        const std::string& bytes = named.second;
        CAPTURE(where.name);
        CAPTURE(k.number);
        CAPTURE(form);
        const std::string with = where.embed(raw(bytes)).bytes;
        const std::string without = where.embed(raw("")).bytes;
        invocation_batch_view skipped;
        invocation_batch_view plain;
        const auto skipped_result = skipped.decode(with);
        const auto plain_result = plain.decode(without);
        REQUIRE(static_cast<bool>(plain_result));
        CHECK(static_cast<int>(skipped_result.code) == static_cast<int>(plain_result.code));
        CHECK(skipped == plain);
        ++checked;
      }
    }
  }
  CHECK(checked == 3 * known_fields().size());
}

TEST_CASE("A failed decode leaves the view reusable") {
  invocation_batch_view batch;
  const std::string bad = request(ld(1, target_payload) + key(9, 7));
  const std::string good = simple_request();
  CHECK_FALSE(batch.decode(bad));
  REQUIRE(batch.decode(good));
  invocation_batch_view fresh;
  REQUIRE(fresh.decode(good));
  CHECK(batch == fresh);
}

TEST_CASE("Every prefix of a valid request decodes or fails cleanly") {
  SUBCASE("the vectors: one top-level field, so every strict prefix fails") {
    for (const auto& name : request_files()) {
      CAPTURE(name);
      const std::string bytes = statefun::test::read_data(name);
      invocation_batch_view batch;
      for (std::size_t length = 0; length < bytes.size(); ++length) {
        CAPTURE(length);
        const std::string_view prefix = std::string_view(bytes).substr(0, length);
        const auto result = batch.decode(prefix);
        REQUIRE_FALSE(result);
        if (length == 0) {
          CHECK(result.code == errc::missing_invocation_batch);
          continue;
        }
        // Cut inside the key or length of field 100 (truncated), or inside its payload.
        CHECK((result.code == errc::truncated || result.code == errc::length_past_end));
        CHECK(result.offset <= length);
        nb::decoded_to_function ref(prefix);
        CHECK_FALSE(ref.ok());
      }
      REQUIRE(batch.decode(bytes));
    }
  }
  SUBCASE("a request with more top-level fields: a prefix that ends between fields is a whole message") {
    const std::string batch_field = simple_request();
    const std::string bytes = vi(7, 1) + batch_field + ld(8, "trailing") + vi(9, 2);
    invocation_batch_view full;
    REQUIRE(full.decode(bytes));
    const auto boundaries = std::vector<std::size_t>{2 + batch_field.size(), 2 + batch_field.size() + 10, bytes.size()};
    invocation_batch_view batch;
    for (std::size_t length = 0; length <= bytes.size(); ++length) {
      CAPTURE(length);
      const std::string_view prefix = std::string_view(bytes).substr(0, length);
      const auto result = batch.decode(prefix);
      const bool whole = std::find(boundaries.begin(), boundaries.end(), length) != boundaries.end();
      CHECK(static_cast<bool>(result) == whole);
      // A prefix that decodes is a sequence of whole top-level fields, as nanopb confirms.
      if (result) {
        CHECK(batch == full);
        CHECK(nb::field_numbers(prefix));
      }
    }
  }
}

TEST_CASE("100,000 levels of nested unknown fields are skipped in constant stack") {
  constexpr std::size_t levels = 100'000;
  const std::string deep = deeply_nested(99, levels);
  REQUIRE(deep.size() > 400'000);
  const std::string target = ld(1, target_payload);
  const std::string argument = ld(2, argument_payload);
  struct placement {
    std::string name;
    std::string bytes;
  };
  const std::vector<placement> placements = {
      {"in ToFunction", request(target + ld(3, argument)) + deep},
      {"in InvocationBatchRequest", request(target + deep + ld(3, argument))},
      {"in the target Address", request(ld(1, target_payload + deep) + ld(3, argument))},
      {"in PersistedValue", request(target + ld(2, ld(1, "s") + deep) + ld(3, argument))},
      {"in a state's TypedValue", request(target + ld(2, ld(1, "s") + ld(2, typed("t/x", true, "v") + deep)) + ld(3, argument))},
      {"in Invocation", request(target + ld(3, deep + argument))},
      {"in the caller Address", request(target + ld(3, ld(1, address("a", "b", "c") + deep) + argument))},
      {"in the argument TypedValue", request(target + ld(3, ld(2, argument_payload + deep)))},
  };
  const std::string plain = request(target + ld(3, argument));
  invocation_batch_view expected;
  REQUIRE(expected.decode(plain));

  // A decoder that recursed into unknown fields would need megabytes of stack for this; the
  // thread has 256 KiB (ASan's larger frames included).
  for (const auto& p : placements) {
    CAPTURE(p.name);
    bool ok = false;
    bool nanopb_ok = false;
    invocation_batch_view batch;
    run_on_small_stack(256 * 1024, [&] {
      ok = static_cast<bool>(batch.decode(p.bytes));
      nb::decoded_to_function ref(p.bytes);
      nanopb_ok = ref.ok();
    });
    REQUIRE(ok);
    CHECK(nanopb_ok);
    // The same batch as without the nested field, but for the state and caller some placements add.
    REQUIRE(batch.invocations.size() == 1);
    CHECK(batch.target == expected.target);
    CHECK(batch.invocations[0].argument == expected.invocations[0].argument);
    if (batch.invocations[0].caller) {
      CHECK(batch.invocations[0].caller == address_view{"a", "b", "c"});
    }
    CHECK(batch.states.size() <= 1);
  }

  SUBCASE("the innermost level malformed: unknown payloads are never parsed, so still skipped") {
    // The innermost field claims 127 bytes it does not have; every enclosing length is right.
    const std::string inner = key(99, 2) + varint(127);
    std::string wrapped = inner;
    for (int i = 0; i < 1000; ++i) {
      wrapped = ld(99, wrapped);
    }
    invocation_batch_view batch;
    bool ok = false;
    const std::string bytes = plain + wrapped;
    run_on_small_stack(256 * 1024, [&] { ok = static_cast<bool>(batch.decode(bytes)); });
    CHECK(ok);
  }
  SUBCASE("the outermost length past the end: refused at that length") {
    const std::string bytes = plain + deep.substr(0, deep.size() - 1);
    invocation_batch_view batch;
    statefun::codec::decode_result result;
    run_on_small_stack(256 * 1024, [&] { result = batch.decode(bytes); });
    CHECK(result.code == errc::length_past_end);
    CHECK(result.offset == plain.size() + key(99, 2).size());
  }
}

TEST_CASE("Decoding reuses the vectors' capacity: a big batch, a small one, the big one again") {
  const std::string big = statefun::test::read_data("workloads/w2_counter_batch100.bin");
  const std::string small = statefun::test::read_data("workloads/w1_counter.bin");
  const std::string many_states = statefun::test::read_data("types-write.request.bin");
  invocation_batch_view batch;
  REQUIRE(batch.decode(big));
  REQUIRE(batch.decode(many_states));
  REQUIRE(batch.invocations.size() == 1);
  REQUIRE(batch.states.size() == 7);
  const auto invocations_capacity = batch.invocations.capacity();
  const auto states_capacity = batch.states.capacity();
  const auto* invocations_data = batch.invocations.data();
  const auto* states_data = batch.states.data();
  CHECK(invocations_capacity >= 100);
  for (int round = 0; round < 3; ++round) {
    for (const std::string* bytes : {&small, &big, &many_states, &big}) {
      REQUIRE(batch.decode(*bytes));
      CHECK(batch.invocations.capacity() == invocations_capacity);
      CHECK(batch.states.capacity() == states_capacity);
      CHECK(batch.invocations.data() == invocations_data);
      CHECK(batch.states.data() == states_data);
    }
  }
  // And what a reused view decodes equals a fresh decode.
  REQUIRE(batch.decode(small));
  invocation_batch_view fresh;
  REQUIRE(fresh.decode(small));
  CHECK(batch == fresh);
}

TEST_CASE("The fuzzer's quirk finder flags exactly the documented nanopb differences") {
  const std::string target = ld(1, target_payload);
  const std::string inv = ld(3, ld(2, argument_payload));
  SUBCASE("none in the vectors") {
    for (const auto& name : request_files()) {
      CAPTURE(name);
      const auto q = nb::find_quirks(statefun::test::read_data(name));
      CHECK_FALSE((q.repeated_submessage || q.wide_bool || q.packed_bool || q.long_varint));
    }
  }
  SUBCASE("a repeated target: nanopb keeps the last, protobuf merges") {
    const std::string bytes = request(ld(1, address("ns", "fn", "")) + ld(1, address("", "", "id")) + inv);
    CHECK(nb::find_quirks(bytes).repeated_submessage);
    nb::decoded_to_function ref(bytes);
    REQUIRE(ref.ok());
    CHECK(nb::view(*ref->request.invocation->target) == address_view{"", "", "id"});
  }
  SUBCASE("a repeated state is no quirk: it is a repeated field") {
    CHECK_FALSE(nb::find_quirks(request(target + ld(2, ld(1, "a")) + ld(2, ld(1, "b")) + inv)).repeated_submessage);
  }
  SUBCASE("a bool beyond 32 bits") {
    const std::string bytes = request(target + ld(3, ld(2, vi(2, std::uint64_t{1} << 40))));
    CHECK(nb::find_quirks(bytes).wide_bool);
    invocation_batch_view batch;
    REQUIRE(batch.decode(bytes));
    CHECK(batch.invocations[0].argument.has_value);
    nb::decoded_to_function ref(bytes);
    CHECK_FALSE(ref.ok());
  }
  SUBCASE("a bool sent length-delimited") {
    CHECK(nb::find_quirks(request(target + ld(3, ld(2, ld(2, "\x01"))))).packed_bool);
  }
  SUBCASE("a string holding a NUL: nanopb's char* ends there (the fuzzer compares up to it)") {
    const std::string bytes = request(ld(1, address(std::string("n\0s", 3), "fn", "")) + inv);
    invocation_batch_view batch;
    REQUIRE(batch.decode(bytes));
    CHECK(batch.target.namespace_name == std::string_view("n\0s", 3));
    nb::decoded_to_function ref(bytes);
    REQUIRE(ref.ok());
    CHECK(nb::str(ref->request.invocation->target->namespace_) == "n");
  }
  SUBCASE("an 11-byte unknown varint") {
    CHECK(nb::find_quirks(request(target + inv) + key(9, 0) + std::string(10, '\x80') + '\x00').long_varint);
    CHECK_FALSE(nb::find_quirks(request(target + inv) + vi(9, ~std::uint64_t{0})).long_varint);
  }
}
