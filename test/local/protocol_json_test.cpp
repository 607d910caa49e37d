#include <statefun/local/protocol_json.hpp>

#include "support/doctest.hpp"
#include "support/files.hpp"

#include <statefun/codec/from_function.hpp>
#include <statefun/codec/to_function.hpp>
#include <statefun/type.hpp>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

using nlohmann::json;
using statefun::local::encode_from_function;
using statefun::local::encode_to_function;
using statefun::local::parse_address;
using statefun::local::parse_typed_value;
using statefun::local::to_json;
using statefun::local::typed_value;
using statefun::local::typed_value_from_json;

/// Bytes from hex pairs ("0d 01 00 00 00"); spaces are ignored.
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

/// Every committed protocol message, as a path under test/data, and whether it is a request.
struct vector_file {
  std::string name;
  bool request;
};

std::vector<vector_file> vector_files() {
  std::vector<vector_file> out;
  const std::filesystem::path root(STATEFUN_TEST_DATA);
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (entry.path().extension() == ".bin") {
      const std::string name = entry.path().lexically_relative(root).string();
      out.push_back({name, name.find("response") == std::string::npos});
    }
  }
  return out;
}

/// The JSON of the ToFunction `bytes`.
json request_json(const std::string& bytes) {
  statefun::codec::invocation_batch_view view;
  REQUIRE(static_cast<bool>(view.decode(bytes)));
  return to_json(view);
}

/// The JSON of the FromFunction `bytes`.
json response_json(const std::string& bytes) {
  statefun::codec::from_function_view view;
  REQUIRE(static_cast<bool>(view.decode(bytes)));
  return to_json(view);
}

/// The JSON form of the typed value {type, has_value: true, bytes}.
json value_json(std::string_view type, const std::string& bytes) {
  return to_json(statefun::codec::typed_value_view{type, true, bytes});
}

/// The message of the std::invalid_argument `f` throws, or "" if it throws none.
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return {};
}

template <class T>
std::string encoded(const T& value) {
  std::string out;
  statefun::type<T>::encode(value, out);
  return out;
}

/// A ToFunction with one invocation whose argument is `argument`.
json request_with_argument(json argument) {
  return {{"invocation",
           {{"target", {{"namespace", "vec"}, {"type", "counter"}, {"id", "u1"}}},
            {"invocations", json::array({{{"argument", std::move(argument)}}})}}}};
}

}  // namespace

// --- Round trips ------------------------------------------------------------------------------

TEST_CASE("every committed vector decodes to JSON that encodes back to the very same bytes") {
  const auto files = vector_files();
  REQUIRE(files.size() >= 30);
  for (const auto& file : files) {
    CAPTURE(file.name);
    const std::string bytes = statefun::test::read_data(file.name);
    // Through JSON text, as the command line tool does it.
    const json parsed = json::parse((file.request ? request_json(bytes) : response_json(bytes)).dump(2));
    const std::string again = file.request ? encode_to_function(parsed) : encode_from_function(parsed);
    CHECK(again == bytes);
  }
}

TEST_CASE("a request reads with the field names of request-reply.proto") {
  const json expected = json::parse(R"({"invocation": {
      "target": {"namespace": "vec", "type": "counter", "id": "u1"},
      "state": [{"state_name": "count", "state_value": {"type": "io.statefun.types/int", "value": 41}}],
      "invocations": [{"argument": {"type": "io.statefun.types/string", "value": "hello"}}]}})");
  CHECK(request_json(statefun::test::read_data("counter-existing.request.bin")) == expected);
}

TEST_CASE("a state that holds no value shows how the runtime sent it") {
  SUBCASE("a state_value without a value keeps its type") {
    const json j = request_json(statefun::test::read_data("counter-absent.request.bin"));
    CHECK(j["invocation"]["state"][0] ==
          json::parse(R"({"state_name": "count", "state_value": {"type": "io.statefun.types/int", "has_value": false}})"));
  }
  SUBCASE("no state_value at all") {
    const json j = request_json(statefun::test::read_data("counter-no-state-value.request.bin"));
    CHECK(j["invocation"]["state"][0] == json::parse(R"({"state_name": "count"})"));
  }
}

TEST_CASE("a caller is shown only when the message has one") {
  const json j = request_json(statefun::test::read_data("echo-caller.request.bin"));
  CHECK(j["invocation"]["invocations"][0]["caller"] == json::parse(R"({"namespace": "vec", "type": "counter", "id": "c1"})"));
  CHECK_FALSE(j["invocation"]["invocations"][1].contains("caller"));
}

TEST_CASE("an address is three fields, so an id may hold a slash") {
  json request = request_with_argument({{"type", "io.statefun.types/long"}, {"value", 1}});
  request["invocation"]["target"]["id"] = "orders/2024/17";
  const std::string bytes = encode_to_function(request);
  statefun::codec::invocation_batch_view view;
  REQUIRE(static_cast<bool>(view.decode(bytes)));
  CHECK(view.target.id == "orders/2024/17");
  CHECK(to_json(view) == request);
}

TEST_CASE("a response reads with the proto's field and enum names") {
  const json j = response_json(statefun::test::read_data("messenger.response.bin"));
  const json& result = j.at("invocation_result");
  CHECK(result.at("outgoing_messages").size() == 3);
  CHECK(result["outgoing_messages"][1] == json::parse(R"({
      "target": {"namespace": "vec", "type": "counter", "id": "y"},
      "argument": {"type": "io.statefun.types/int", "value": 42}})"));
  CHECK(result["delayed_invocations"][0]["delay_in_ms"] == 1500);
  CHECK(result["delayed_invocations"][1]["cancellation_token"] == "tok-1");
  CHECK(result["delayed_invocations"][2] ==
        json::parse(R"({"is_cancellation_request": true, "cancellation_token": "tok-0"})"));
  CHECK(result["outgoing_egresses"][0]["egress_namespace"] == "vec");
  CHECK(result["outgoing_egresses"][0]["egress_type"] == "kafka");

  const json mutations = response_json(statefun::test::read_data("delete-state.response.bin"));
  CHECK(mutations == json::parse(R"({"invocation_result": {"state_mutations": [
      {"mutation_type": "DELETE", "state_name": "count"}]}})"));
}

TEST_CASE("an empty expiration spec is kept apart from an absent one") {
  // Python and Go write `expiration_spec {}` for "no expiry", Java and JavaScript leave it out.
  const std::string py = statefun::test::read_data("workloads/w4_missing_state.response.py-go.bin");
  const std::string js = statefun::test::read_data("workloads/w4_missing_state.response.js.bin");
  const json from_py = response_json(py);
  const json from_js = response_json(js);
  const json& spec_py = from_py["incomplete_invocation_context"]["missing_values"][0];
  const json& spec_js = from_js["incomplete_invocation_context"]["missing_values"][0];
  CHECK(spec_py["expiration_spec"] == json::parse(R"({"mode": "NONE", "expire_after_millis": 0})"));
  CHECK_FALSE(spec_js.contains("expiration_spec"));
  CHECK(encode_from_function(from_py) == py);
  CHECK(encode_from_function(from_js) == js);

  const json ttl = response_json(statefun::test::read_data("ttl-missing-state.response.bin"));
  CHECK(ttl["incomplete_invocation_context"]["missing_values"][0]["expiration_spec"] ==
        json::parse(R"({"mode": "AFTER_INVOKE", "expire_after_millis": 60000})"));
}

TEST_CASE("a response with no effects is an empty invocation_result, written as no bytes") {
  CHECK(response_json("") == json::parse(R"({"invocation_result": {}})"));
  CHECK(encode_from_function(json::parse(R"({"invocation_result": {}})")).empty());
  CHECK(encode_from_function(json::object()).empty());
  CHECK(encode_from_function(json::parse(R"({"incomplete_invocation_context": {}})")) == hex("aa 06 00"));
}

// --- Typed values -----------------------------------------------------------------------------

TEST_CASE("values of the built-in types are shown decoded") {
  SUBCASE("bool") {
    CHECK(value_json("io.statefun.types/bool", encoded(true))["value"] == true);
    CHECK(value_json("io.statefun.types/bool", "")["value"] == false);
  }
  SUBCASE("int, long") {
    CHECK(value_json("io.statefun.types/int", encoded(std::int32_t{-7}))["value"] == -7);
    CHECK(value_json("io.statefun.types/int", "")["value"] == 0);
    const std::int64_t big = std::numeric_limits<std::int64_t>::max();  // beyond 2^53: exact
    CHECK(value_json("io.statefun.types/long", encoded(big))["value"].get<std::int64_t>() == big);
    CHECK(value_json("io.statefun.types/long", encoded(big))["value"].dump() == "9223372036854775807");
  }
  SUBCASE("float as its shortest decimal") {
    CHECK(value_json("io.statefun.types/float", encoded(0.1F))["value"].dump() == "0.1");
    CHECK(value_json("io.statefun.types/float", encoded(1.5F))["value"] == 1.5);
    CHECK(value_json("io.statefun.types/float", encoded(-0.0F))["value"].dump() == "-0.0");
  }
  SUBCASE("double, with the non-finite values as protobuf's JSON names them") {
    CHECK(value_json("io.statefun.types/double", encoded(-0.25))["value"] == -0.25);
    CHECK(value_json("io.statefun.types/double", encoded(-0.0))["value"].dump() == "-0.0");
    CHECK(value_json("io.statefun.types/double", encoded(std::numeric_limits<double>::infinity()))["value"] ==
          "Infinity");
    CHECK(value_json("io.statefun.types/float", encoded(-std::numeric_limits<float>::infinity()))["value"] ==
          "-Infinity");
    CHECK(value_json("io.statefun.types/double", encoded(std::numeric_limits<double>::quiet_NaN()))["value"] == "NaN");
  }
  SUBCASE("string") {
    CHECK(value_json("io.statefun.types/string", encoded(std::string("h\xC3\xA9llo")))["value"] == "h\xC3\xA9llo");
    CHECK(value_json("io.statefun.types/string", "")["value"] == "");
  }
}

TEST_CASE("built-in values whose bytes would not come back from their decoded form are shown as base64") {
  // A zero written out (proto3 leaves it out), a string that is not UTF-8, and bytes that do not
  // decode at all: each would be lost or changed by "value".
  CHECK(value_json("io.statefun.types/int", hex("0d 00 00 00 00")) ==
        json::parse(R"({"type": "io.statefun.types/int", "base64": "DQAAAAA="})"));
  CHECK(value_json("io.statefun.types/string", hex("0a 01 ff")).contains("base64"));
  CHECK(value_json("io.statefun.types/long", hex("09 01")).contains("base64"));
  const std::string negative_nan = hex("0d 00 00 c0 ff");  // "NaN" would encode as the positive one
  CHECK(value_json("io.statefun.types/float", negative_nan).contains("base64"));
}

TEST_CASE("a value that is absent says has_value false, and keeps its type") {
  CHECK(to_json(statefun::codec::typed_value_view{"io.statefun.types/int", false, {}}) ==
        json::parse(R"({"type": "io.statefun.types/int", "has_value": false})"));
  CHECK(to_json(statefun::codec::typed_value_view{}) == json::parse(R"({"has_value": false})"));
  CHECK(typed_value_from_json(json::parse(R"({"type": "a/b", "has_value": false})")) == typed_value{"a/b", "", false});
}

TEST_CASE("JSON values are shown as JSON, or as their exact text when another SDK spaced them") {
  CHECK(value_json("vec/User", R"({"credit":12,"name":"ann"})") ==
        json::parse(R"({"type": "vec/User", "value": {"name": "ann", "credit": 12}})"));
  CHECK(value_json("vec/User", R"({"name": "ann", "credit": 12})") ==
        json::parse(R"({"type": "vec/User", "text": "{\"name\": \"ann\", \"credit\": 12}"})"));
  // Encoding a "value" of such a type writes compact JSON, as json.hpp does.
  CHECK(typed_value_from_json(json::parse(R"({"type": "vec/User", "value": {"name": "ann", "credit": 12}})")).value ==
        R"({"credit":12,"name":"ann"})");
}

TEST_CASE("other bytes are shown as base64") {
  CHECK(value_json("example/Blob", hex("00 01 02 ff")) == json::parse(R"({"type": "example/Blob", "base64": "AAEC/w=="})"));
  CHECK(value_json("type.googleapis.com/example.Point", hex("08 01 10 02"))["base64"] == "CAEQAg==");
  CHECK(value_json("example/Blob", "")["base64"] == "");
}

TEST_CASE("Kafka and Kinesis records show their fields, and their value as text when it is readable") {
  const auto kafka = statefun::kafka_egress{"vec/kafka"}.topic("out").key("k").value("a string");
  CHECK(value_json(kafka.value_type(), std::string(kafka.value()))["value"] ==
        json::parse(R"({"topic": "out", "key": "k", "value_bytes": "a string"})"));
  const auto ints = statefun::kafka_egress{"vec/kafka"}.topic("ints").value(std::int32_t{258});
  CHECK(value_json(ints.value_type(), std::string(ints.value()))["value"] ==
        json::parse(R"({"topic": "ints", "key": "", "value_bytes": {"base64": "AAABAg=="}})"));
  const auto kinesis =
      statefun::kinesis_egress{"vec/kinesis"}.stream("s1").partition_key("p").explicit_hash_key("123").value("v");
  CHECK(value_json(kinesis.value_type(), std::string(kinesis.value()))["value"] ==
        json::parse(R"({"stream": "s1", "partition_key": "p", "explicit_hash_key": "123", "value_bytes": "v"})"));

  SUBCASE("and encode from those fields to the same bytes") {
    for (const auto* record : {&kafka, &ints, &kinesis}) {
      const json j = value_json(record->value_type(), std::string(record->value()));
      CHECK(typed_value_from_json(j).value == record->value());
    }
  }
  SUBCASE("a record that does not parse is shown as base64") {
    CHECK(value_json(statefun::kafka_egress::record_type, hex("08 01")).contains("base64"));
  }
}

TEST_CASE("an egress record is its typed value and the egress id, as statefun-local run prints it") {
  const auto seen = statefun::kafka_egress{"greeter/seen"}.topic("seen").key("ann").value("2");
  const statefun::local::egress_record record{
      .egress = "greeter/seen",
      .value = typed_value{std::string(seen.value_type()), std::string(seen.value())},
  };
  CHECK(to_json(record) == json{{"egress", "greeter/seen"},
                                {"type", seen.value_type()},
                                {"value", {{"topic", "seen"}, {"key", "ann"}, {"value_bytes", "2"}}}});
  const statefun::local::egress_record absent{.egress = "x/any", .value = typed_value{"x/t", "", false}};
  CHECK(to_json(absent) == json{{"egress", "x/any"}, {"type", "x/t"}, {"has_value", false}});
}

TEST_CASE("a typed value in JSON needs its bytes once, or has_value false") {
  CHECK(error_of([] { (void)typed_value_from_json(json::parse(R"({"type": "a/b"})")); }) ==
        R"(value: expected "value", "text" or "base64" (or "has_value": false for no value))");
  CHECK(error_of([] { (void)typed_value_from_json(json::parse(R"({"type": "a/b", "text": "x", "base64": "eA=="})")); }) ==
        R"(value: give the bytes once: "value", "text" or "base64")");
  CHECK(error_of([] { (void)typed_value_from_json(json::parse(R"({"type": "a/b", "base64": "e!"})")); }) ==
        "value.base64: not valid base64");
  CHECK(error_of([] { (void)typed_value_from_json(json::parse(R"({"typ": "a/b", "text": "x"})")); }) ==
        R"(value: unknown field "typ" (expected type, has_value, value, text, base64))");
  CHECK(typed_value_from_json(json::parse(R"({"type": "a/b", "text": "x:y"})")) == typed_value{"a/b", "x:y", true});
  CHECK(typed_value_from_json(json::parse(R"({"type": "a/b", "base64": "AAE"})")).value == hex("00 01"));
}

TEST_CASE("built-in values in JSON are range-checked") {
  const auto value_error = [](std::string_view type, json value) {
    return error_of([&] { (void)typed_value_from_json({{"type", type}, {"value", value}}, "v"); });
  };
  CHECK(value_error("io.statefun.types/int", 2147483648LL) == "v.value: 2147483648 is out of range (-2147483648 to 2147483647)");
  CHECK(value_error("io.statefun.types/int", 1.5) == "v.value: expected an integer, got a number");
  CHECK(value_error("io.statefun.types/long", 18446744073709551615ULL).starts_with("v.value: 18446744073709551615 is out of range"));
  CHECK(value_error("io.statefun.types/float", 1e300) == "v.value: 1e+300 is out of range for a float");
  CHECK(value_error("io.statefun.types/double", "nan") ==
        R"(v.value: expected a number (or "NaN", "Infinity", "-Infinity"), got "nan")");
  CHECK(value_error("io.statefun.types/bool", 1) == "v.value: expected true or false, got a number");
  CHECK(value_error("io.statefun.types/string", 1) == "v.value: expected a string, got a number");
  CHECK(value_error(statefun::kafka_egress::record_type, json::parse(R"({"topc": "x"})")).starts_with(
      R"(v.value: unknown field "topc")"));
}

// --- Errors name the path ---------------------------------------------------------------------

TEST_CASE("a wrong field of a request is reported with its path") {
  json request = request_with_argument({{"type", "io.statefun.types/long"}, {"value", 1}});
  auto& invocations = request["invocation"]["invocations"];
  invocations.push_back({{"argument", {{"type", "io.statefun.types/long"}, {"value", 2}}}});
  invocations.push_back({{"argument", {{"type", "io.statefun.types/long"}, {"value", "three"}}}});
  CHECK(error_of([&] { (void)encode_to_function(request); }) ==
        "invocation.invocations[2].argument.value: expected an integer, got a string");

  CHECK(error_of([] { (void)encode_to_function(json::array()); }) == "top level: expected an object, got an array");
  CHECK(error_of([] { (void)encode_to_function(json::object()); }) == R"(top level: missing field "invocation")");
  CHECK(error_of([] { (void)encode_to_function(json::parse(R"({"invocation": {"target": {"nmespace": "x"}}})")); }) ==
        R"(invocation.target: unknown field "nmespace" (expected namespace, type, id))");
  CHECK(error_of([] {
          (void)encode_to_function(json::parse(R"({"invocation": {"target": {}, "state": [{"state_value": {}}]}})"));
        }) == R"(invocation.state[0]: missing field "state_name")");
  CHECK(error_of([] { (void)encode_to_function(json::parse(R"({"invocation": {"target": {}, "invocations": [{}]}})")); }) ==
        R"(invocation.invocations[0]: missing field "argument")");
}

TEST_CASE("a response is refused where the writer could not keep what it says") {
  const auto response_error = [](std::string_view text) {
    return error_of([&] { (void)encode_from_function(json::parse(text)); });
  };
  CHECK(response_error(R"({"invocation_result": {}, "incomplete_invocation_context": {}})") ==
        "top level: give invocation_result or incomplete_invocation_context, not both (they are a oneof)");
  CHECK(response_error(R"({"invocation_result": {"state_mutations": [
          {"mutation_type": "DELETE", "state_name": "a", "state_value": {"type": "a/b", "text": ""}}]}})") ==
        "invocation_result.state_mutations[0].state_value: a DELETE mutation carries no value");
  CHECK(response_error(R"({"invocation_result": {"state_mutations": [{"mutation_type": "REPLACE", "state_name": "a"}]}})") ==
        R"(invocation_result.state_mutations[0].mutation_type: expected one of DELETE, MODIFY, got "REPLACE")");
  CHECK(response_error(R"({"invocation_result": {"state_mutations": [{"mutation_type": "MODIFY", "state_name": "a"}]}})") ==
        R"(invocation_result.state_mutations[0]: missing field "state_value")");
  CHECK(response_error(R"({"invocation_result": {"delayed_invocations": [
          {"is_cancellation_request": true, "cancellation_token": "t", "target": {}}]}})") ==
        "invocation_result.delayed_invocations[0].target: a cancellation request names only its cancellation_token");
  CHECK(response_error(R"({"incomplete_invocation_context": {"missing_values": [{"state_name": "a", "type_typename": "a/b",
          "expiration_spec": {"mode": "NONE", "expire_after_millis": 5}}]}})") ==
        "incomplete_invocation_context.missing_values[0].expiration_spec.expire_after_millis: must be 0 with mode NONE "
        "(the runtime ignores it, so it is not written)");
  CHECK(response_error(R"({"invocation_result": {"outgoing_egresses": [{"egress_namespace": "a", "argument": {}}]}})") ==
        R"(invocation_result.outgoing_egresses[0]: missing field "egress_type")");
}

TEST_CASE("enums are read by name or by number") {
  const std::string by_name = encode_from_function(json::parse(
      R"({"incomplete_invocation_context": {"missing_values": [{"state_name": "a", "type_typename": "a/b",
          "expiration_spec": {"mode": "AFTER_WRITE", "expire_after_millis": 5}}]}})"));
  const std::string by_number = encode_from_function(json::parse(
      R"({"incomplete_invocation_context": {"missing_values": [{"state_name": "a", "type_typename": "a/b",
          "expiration_spec": {"mode": 1, "expire_after_millis": 5}}]}})"));
  CHECK(by_name == by_number);
  // A mode this version does not know is kept as its number.
  const std::string unknown = encode_from_function(json::parse(
      R"({"incomplete_invocation_context": {"missing_values": [{"state_name": "a", "type_typename": "a/b",
          "expiration_spec": {"mode": 7}}]}})"));
  CHECK(response_json(unknown)["incomplete_invocation_context"]["missing_values"][0]["expiration_spec"]["mode"] == 7);
}

TEST_CASE("a string field that is not UTF-8 is named when decoding") {
  statefun::codec::invocation_batch_view request;
  const std::string id = "\xff";
  request.target = {"vec", "counter", id};
  request.invocations.push_back({std::nullopt, {"io.statefun.types/string", true, ""}});
  CHECK(error_of([&] { (void)to_json(request); }) == "invocation.target.id: not valid UTF-8 (a protobuf string must be)");
}

// --- The command-line shorthand ---------------------------------------------------------------

TEST_CASE("the shorthand TYPE:VALUE names a built-in type briefly or in full") {
  struct row {
    std::string_view text;
    std::string_view type;
    std::string bytes;
  };
  const row rows[] = {
      {"string:hello", "io.statefun.types/string", encoded(std::string("hello"))},
      {"string:a:b", "io.statefun.types/string", encoded(std::string("a:b"))},
      {"string:", "io.statefun.types/string", ""},
      {"long:42", "io.statefun.types/long", encoded(std::int64_t{42})},
      {"long:-9223372036854775808", "io.statefun.types/long", encoded(std::numeric_limits<std::int64_t>::min())},
      {"int:7", "io.statefun.types/int", encoded(std::int32_t{7})},
      {"int:", "io.statefun.types/int", ""},
      {"bool:true", "io.statefun.types/bool", encoded(true)},
      {"bool:false", "io.statefun.types/bool", ""},
      {"double:1.5", "io.statefun.types/double", encoded(1.5)},
      {"double:-0", "io.statefun.types/double", encoded(-0.0)},
      {"double:inf", "io.statefun.types/double", encoded(std::numeric_limits<double>::infinity())},
      {"float:", "io.statefun.types/float", ""},
      {"float:0.1", "io.statefun.types/float", encoded(0.1F)},
      {"io.statefun.types/long:42", "io.statefun.types/long", encoded(std::int64_t{42})},
  };
  for (const row& r : rows) {
    CAPTURE(r.text);
    CHECK(parse_typed_value(r.text) == typed_value{std::string(r.type), r.bytes, true});
  }
}

TEST_CASE("the shorthand gives other types their bytes as json, text, base64 or a file") {
  CHECK(parse_typed_value(R"(example/User:json:{"name": "ann"})") ==
        typed_value{"example/User", R"({"name": "ann"})", true});
  CHECK(parse_typed_value("example/Note:text:a:b") == typed_value{"example/Note", "a:b", true});
  CHECK(parse_typed_value("example/Blob:base64:AAEC/w==") == typed_value{"example/Blob", hex("00 01 02 ff"), true});
  const std::string file = (std::filesystem::temp_directory_path() / "statefun-protocol-json-test.bin").string();
  {
    std::ofstream out(file, std::ios::binary);
    out << hex("00 ff 3a");
  }
  CHECK(parse_typed_value("example/Blob:@" + file) == typed_value{"example/Blob", hex("00 ff 3a"), true});
  std::filesystem::remove(file);
}

TEST_CASE("a wrong shorthand says what is wrong") {
  struct row {
    std::string_view text;
    std::string_view message;
  };
  const row rows[] = {
      {"hello", "'hello': expected TYPE:VALUE, for example string:hello or long:42"},
      {"long:4x", "'long:4x': expected a 64-bit integer, got '4x'"},
      {"int:3000000000", "'int:3000000000': '3000000000' is out of range for a 32-bit integer"},
      {"bool:yes", "'bool:yes': expected true or false, got 'yes'"},
      {"double:1,5", "'double:1,5': expected a number, got '1,5'"},
      {"text:hi", "'text:hi': unknown type 'text' (expected bool, int, long, float, double, string, or a type name "
                  "namespace/name)"},
      {R"(json:{"a":1})", R"('json:{"a":1}': a JSON value needs the type name the function reads it as: )"
                          R"(NAMESPACE/NAME:json:{"a":1} (for example example/User:json:{"name":"ann"}))"},
      {"a/b/c:text:x", "'a/b/c:text:x': the type name 'a/b/c' has more than one '/'"},
      {"/b:text:x", "'/b:text:x': the type name '/b' has an empty namespace"},
      {"a/b:hello", "'a/b:hello': a value of type a/b is given as json:TEXT, text:TEXT, base64:DATA or @FILE"},
      {"a/b:json:{", "'a/b:json:{': '{' is not JSON"},
      {"a/b:base64:A", "'a/b:base64:A': 'A' is not base64"},
      {"a/b:@/nonexistent/file", "'a/b:@/nonexistent/file': cannot read the file '/nonexistent/file'"},
  };
  for (const row& r : rows) {
    CAPTURE(r.text);
    CHECK(error_of([&] { (void)parse_typed_value(r.text); }) == r.message);
  }
}

TEST_CASE("an address is written namespace/type/id, and the id keeps any further slash") {
  const statefun::address a = parse_address("example/greeter/ann/2");
  CHECK(a.type == "example/greeter");
  CHECK(a.id == "ann/2");
  for (const std::string_view bad : {"example/greeter", "example/greeter/", "/greeter/ann", "example//ann", ""}) {
    CAPTURE(bad);
    CHECK(error_of([&] { (void)parse_address(bad); }) ==
          "'" + std::string(bad) + "': expected namespace/type/id (three non-empty parts; the id may contain '/')");
  }
}

TEST_CASE("base64 is standard, with optional padding") {
  using statefun::local::detail::base64_decode;
  using statefun::local::detail::base64_encode;
  std::string bytes;
  for (int n = 0; n < 8; ++n) {
    CAPTURE(n);
    CHECK(base64_decode(base64_encode(bytes)) == bytes);
    bytes.push_back(static_cast<char>(0xF0 + n));
  }
  CHECK(base64_encode("hi") == "aGk=");
  CHECK(base64_decode("aGk") == "hi");
  CHECK_FALSE(base64_decode("aGk==").has_value());
  CHECK_FALSE(base64_decode("a").has_value());
  CHECK_FALSE(base64_decode("aG-k").has_value());
}
