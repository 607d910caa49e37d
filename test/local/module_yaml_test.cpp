#include <statefun/local/module_yaml.hpp>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "support/doctest.hpp"

#ifndef STATEFUN_TEST_DATA
#error "the build passes STATEFUN_TEST_DATA, the path of test/data"
#endif

using namespace std::chrono_literals;
namespace local = statefun::local;

namespace {

std::filesystem::path module_file(std::string_view name) {
  return std::filesystem::path(STATEFUN_TEST_DATA) / "modules" / name;
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

/// The module_error that parsing `yaml` throws (the test fails if it is accepted).
local::module_error refusal(std::string_view yaml) {
  try {
    (void)local::parse_module(yaml);
  } catch (const local::module_error& e) {
    return e;
  }
  FAIL("accepted:\n" << yaml);
  return {"", 0, "", "", 0, "accepted"};
}

/// Why parse_flink_duration refuses `text` (the test fails if it is accepted).
std::string duration_refusal(std::string_view text) {
  try {
    (void)local::parse_flink_duration(text);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  FAIL("accepted: " << text);
  return {};
}

/// The warnings that contain `needle`.
std::vector<std::string> warnings_with(const local::module& m, std::string_view needle) {
  std::vector<std::string> out;
  for (const auto& w : m.warnings) {
    if (contains(w, needle)) {
      out.push_back(w);
    }
  }
  return out;
}

// A v2 endpoint document; `rest` starts on line 5 (`urlPathTemplate` is line 4).
std::string v2_endpoint(std::string_view rest = {},
                        std::string_view url = "http://localhost:8000/statefun") {
  return "kind: io.statefun.endpoints.v2/http\n"
         "spec:\n"
         "  functions: example/greeter\n"
         "  urlPathTemplate: " +
         std::string(url) + "\n" + std::string(rest);
}

// A v2 endpoint whose transport block starts on line 5 (`transport:`), its keys on line 6 on.
std::string v2_transport(std::string_view keys,
                         std::string_view url = "http://localhost:8000/statefun") {
  return v2_endpoint("  transport:\n" + std::string(keys), url);
}

// A v1 endpoint; `rest` starts on line 5.
std::string v1_endpoint(std::string_view rest = {},
                        std::string_view url = "http://localhost:8000/statefun") {
  return "kind: io.statefun.endpoints.v1/http\n"
         "spec:\n"
         "  functions: example/greeter\n"
         "  urlPathTemplate: " +
         std::string(url) + "\n" + std::string(rest);
}

// A Kafka ingress with one route; `rest` starts on line 9.
std::string kafka_ingress(std::string_view rest = {}) {
  return "kind: io.statefun.kafka.v1/ingress\n"
         "spec:\n"
         "  id: example/names\n"
         "  topics:\n"
         "    - topic: names\n"
         "      valueType: io.statefun.types/string\n"
         "      targets:\n"
         "        - example/greeter\n" +
         std::string(rest);
}

/// `text` with its first `from` replaced by `to`.
std::string with(std::string text, std::string_view from, std::string_view to) {
  const std::size_t at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

/// One row of an error table: the text, and where and why it must be refused.
struct refused {
  std::string name;
  std::string yaml;
  std::size_t document;
  std::size_t line;
  std::string field;
  std::string reason;  ///< a part of module_error::reason()
};

void check_refusals(const std::vector<refused>& table) {
  for (const refused& row : table) {
    CAPTURE(row.name);
    const local::module_error e = refusal(row.yaml);
    CHECK(e.source() == "module.yaml");
    CHECK(e.document() == row.document);
    CHECK(e.line() == row.line);
    CHECK(e.field() == row.field);
    CHECK_MESSAGE(contains(e.reason(), row.reason), std::string(e.what()));
    // what() carries the location too, in the documented order.
    const std::string where =
        "module.yaml:" + std::to_string(row.line) + ": document " + std::to_string(row.document);
    CHECK_MESSAGE(contains(e.what(), where), std::string(e.what()));
    if (!row.field.empty()) {
      CHECK_MESSAGE(contains(e.what(), "field " + row.field + ": "), std::string(e.what()));
    }
  }
}

}  // namespace

// --- Durations ----------------------------------------------------------------------------------

TEST_CASE("parse_flink_duration reads every unit label Flink's TimeUtils knows") {
  struct row {
    std::string_view text;
    std::chrono::milliseconds expected;
  };
  const row table[] = {
      // The spellings found in StateFun's tree (docs/runtime_rules.md §3.1).
      {"1 min", 1min},
      {"10 sec", 10s},
      {"2m", 2min},
      {"20s", 20s},
      {"1minute", 1min},
      {"30seconds", 30s},
      // A bare number is milliseconds; so is a YAML integer, which arrives as its text.
      {"120", 120ms},
      {"0", 0ms},
      // Days, hours, minutes.
      {"1 d", 24h},
      {"1 day", 24h},
      {"2 days", 48h},
      {"3 h", 3h},
      {"1 hour", 1h},
      {"2 hours", 2h},
      {"5 m", 5min},
      {"5 min", 5min},
      {"1 minute", 1min},
      {"5 minutes", 5min},
      // Seconds and milliseconds.
      {"7 s", 7s},
      {"7 sec", 7s},
      {"7 secs", 7s},
      {"1 second", 1s},
      {"9 seconds", 9s},
      {"5 ms", 5ms},
      {"5 milli", 5ms},
      {"5 millis", 5ms},
      {"1 millisecond", 1ms},
      {"250 milliseconds", 250ms},
      // Below a millisecond: rounded up, so a non-zero timeout stays non-zero.
      {"1000 \xC2\xB5s", 1ms},
      {"1500 \xC2\xB5s", 2ms},
      {"1 micro", 1ms},
      {"2000 micros", 2ms},
      {"1 microsecond", 1ms},
      {"3000000 microseconds", 3s},
      {"1 ns", 1ms},
      {"1000000 nano", 1ms},
      {"2000000 nanos", 2ms},
      {"1 nanosecond", 1ms},
      {"0 nanoseconds", 0ms},
      // Case-insensitive, surrounding whitespace trimmed, any whitespace before the unit.
      {"10 SECONDS", 10s},
      {"5 Min", 5min},
      {"3MS", 3ms},
      {"  15 s  ", 15s},
      {"4\th", 4h},
      {"9223372036854775807", std::chrono::milliseconds{9223372036854775807}},
  };
  for (const row& r : table) {
    CAPTURE(r.text);
    CHECK(local::parse_flink_duration(r.text) == r.expected);
  }
}

TEST_CASE("parse_flink_duration refuses what Flink refuses, saying why") {
  CHECK(contains(duration_refusal(""), "empty"));
  CHECK(contains(duration_refusal("   "), "empty"));
  CHECK(contains(duration_refusal("s"), "does not start with a number"));
  CHECK(contains(duration_refusal("-5 s"), "does not start with a number"));
  CHECK(contains(duration_refusal("+5 s"), "does not start with a number"));
  CHECK(contains(duration_refusal("1.5 s"), "fractions are not allowed"));
  CHECK(contains(duration_refusal("99999999999999999999"), "64 bits"));
  CHECK(contains(duration_refusal("9223372036854775807 d"), "too long"));
  CHECK(contains(duration_refusal("5 fortnights"), "unknown time unit 'fortnights'"));
  SUBCASE("Flink has no 'mins' and no 'us', though people write them") {
    CHECK(contains(duration_refusal("5 mins"), "unknown time unit 'mins'"));
    CHECK(contains(duration_refusal("10 us"), "unknown time unit 'us'"));
    CHECK(contains(duration_refusal("5 mins"), "min, minute(s)"));
  }
  CHECK(contains(duration_refusal("1.5 s"), "'1.5 s' is not a duration"));
}

// --- The §3.7 examples and complete files -------------------------------------------------------

TEST_CASE("rule 1: a v2 endpoint without transport uses the async transport and its defaults") {
  const local::module m = local::load_module(module_file("greeter-minimal.yaml"));
  REQUIRE(m.endpoints.size() == 1);
  const local::endpoint_spec& e = m.endpoints[0];
  CHECK(e.functions == "example/greeter");
  CHECK(e.url_path_template == "http://localhost:8000/statefun");
  CHECK(e.transport == local::transport_kind::async);
  CHECK(e.max_num_batch_requests == 1000);
  CHECK(e.call == 2min);
  CHECK(e.connect == 20s);
  CHECK(e.pool_ttl == 15s);
  CHECK(e.pool_size == 1024);
  CHECK(e.payload_max_bytes == 32u * 1024 * 1024);
  CHECK(e.tls.empty());
  CHECK(e.source == module_file("greeter-minimal.yaml").string() + ":3 (document 1)");
  CHECK(m.ingresses.empty());
  CHECK(m.egresses.empty());
  CHECK(m.warnings.empty());
}

TEST_CASE("the §3.7 OkHttp example gives an okhttp endpoint, a Kafka ingress and a Kafka egress") {
  const local::module m = local::load_module(module_file("greeter-okhttp-kafka.yaml"));
  REQUIRE(m.endpoints.size() == 1);
  const local::endpoint_spec& e = m.endpoints[0];
  CHECK(e.transport == local::transport_kind::okhttp);
  CHECK(e.call == 1min);
  CHECK(e.connect == 10s);
  CHECK(e.read == 10s);
  CHECK(e.write == 10s);
  CHECK(e.max_num_batch_requests == 1000);

  REQUIRE(m.ingresses.size() == 1);
  const local::ingress_spec& in = m.ingresses[0];
  CHECK(in.kind == local::ingress_kind::kafka);
  CHECK(in.id == "example/names");
  REQUIRE(in.routes.size() == 1);
  CHECK(in.routes[0].topic == "names");
  CHECK(in.routes[0].value_type == "io.statefun.types/string");
  CHECK(in.routes[0].targets == std::vector<std::string>{"example/greeter"});
  CHECK(in.source == module_file("greeter-okhttp-kafka.yaml").string() + ":16 (document 2)");

  REQUIRE(m.egresses.size() == 1);
  CHECK(m.egresses[0].kind == local::egress_kind::kafka);
  CHECK(m.egresses[0].id == "example/greets");
  CHECK(m.egresses[0].semantic == local::delivery_semantic::at_least_once);
  CHECK(m.egresses[0].source ==
        module_file("greeter-okhttp-kafka.yaml").string() + ":29 (document 3)");
  CHECK(m.warnings.empty());
}

TEST_CASE("rule 8: a Unix-socket URL is read on the okhttp transport") {
  const local::module m = local::load_module(module_file("greeter-unix-socket.yaml"));
  REQUIRE(m.endpoints.size() == 1);
  CHECK(m.endpoints[0].url_path_template == "http+unix:///run/statefun/greeter.sock/statefun");
  CHECK(m.endpoints[0].transport == local::transport_kind::okhttp);
  CHECK(m.warnings.empty());

  SUBCASE("so is one on a v1 endpoint, which is always okhttp") {
    const auto v1 = local::parse_module(v1_endpoint({}, "HTTP+UNIX:///tmp/fn.sock"));
    CHECK(v1.endpoints[0].transport == local::transport_kind::okhttp);
  }
  SUBCASE("https+unix is accepted with a warning that it is plain HTTP") {
    const auto m2 = local::parse_module(v2_transport("    type: io.statefun.transports.v1/okhttp\n",
                                                     "https+unix:///tmp/fn.sock/x"));
    REQUIRE(m2.warnings.size() == 1);
    CHECK(contains(m2.warnings[0],
                   "module.yaml:4: document 1 (io.statefun.endpoints.v2/http): "
                   "field spec.urlPathTemplate is reached without TLS"));
  }
}

TEST_CASE("a v1 endpoint reads every field, with okhttp timeouts directly under spec") {
  const local::module m = local::load_module(module_file("v1-every-field.yaml"));
  REQUIRE(m.endpoints.size() == 1);
  const local::endpoint_spec& e = m.endpoints[0];
  CHECK(e.functions == "com.example.fns/*");
  CHECK(e.url_path_template == "https://functions.example.com:8443/{function.name}");
  CHECK(e.max_num_batch_requests == 500);
  CHECK(e.transport == local::transport_kind::okhttp);
  CHECK(e.call == 2min);
  CHECK(e.connect == 5s);
  CHECK(e.read == 30s);
  CHECK(e.write == 3s);  // a bare number: milliseconds
  CHECK(m.warnings.empty());
}

TEST_CASE("a v1 endpoint without timeouts has the okhttp defaults") {
  const local::module m = local::parse_module(v1_endpoint());
  const local::endpoint_spec& e = m.endpoints.at(0);
  CHECK(e.transport == local::transport_kind::okhttp);
  CHECK(e.max_num_batch_requests == 1000);
  CHECK(e.call == 1min);
  CHECK(e.connect == 10s);
  CHECK(e.read == 10s);
  CHECK(e.write == 10s);
}

TEST_CASE("v2 endpoints read every async and okhttp field") {
  const local::module m = local::load_module(module_file("v2-every-field.yaml"));
  REQUIRE(m.endpoints.size() == 2);

  const local::endpoint_spec& async = m.endpoints[0];
  CHECK(async.functions == "com.example.shop/cart");
  CHECK(async.transport == local::transport_kind::async);
  CHECK(async.max_num_batch_requests == 10000);
  CHECK(async.call == 90s);
  CHECK(async.connect == 5s);
  CHECK(async.pool_ttl == 0ms);  // 0: connections live for ever (docs/runtime_rules.md §1.4)
  CHECK(async.pool_size == 64);
  CHECK(async.payload_max_bytes == 64u * 1024 * 1024);
  SUBCASE("TLS locations: a bare path, or a file: URL with the scheme stripped") {
    CHECK(async.tls.trust_cacerts == "/etc/statefun/tls/ca.pem");
    CHECK(async.tls.client_cert == "/etc/statefun/tls/client.crt");
    CHECK(async.tls.client_key == "/etc/statefun/tls/client.key");
    CHECK(async.tls.client_key_password == "/etc/statefun/tls/client.key.password");
  }

  const local::endpoint_spec& okhttp = m.endpoints[1];
  CHECK(okhttp.functions == "com.example.shop/*");
  CHECK(okhttp.transport == local::transport_kind::okhttp);
  CHECK(okhttp.max_num_batch_requests == 0);  // <= 0 disables backpressure
  CHECK(okhttp.call == 3min);
  CHECK(okhttp.connect == 1s);
  CHECK(okhttp.read == 45s);
  CHECK(okhttp.write == 2s);
  CHECK(okhttp.source == module_file("v2-every-field.yaml").string() + ":20 (document 2)");
  CHECK(m.warnings.empty());
}

TEST_CASE("rule 1: the async transport's defaults, flat and nested") {
  SUBCASE("a transport without type is async") {
    const auto e = local::parse_module(v2_transport("    pool_size: 8\n")).endpoints.at(0);
    CHECK(e.transport == local::transport_kind::async);
    CHECK(e.pool_size == 8);
    CHECK(e.call == 2min);
    CHECK(e.connect == 20s);
  }
  SUBCASE("a transport with no value is absent, so async with its defaults") {
    const auto e = local::parse_module(v2_endpoint("  transport:\n")).endpoints.at(0);
    CHECK(e.transport == local::transport_kind::async);
    CHECK(e.call == 2min);
  }
  SUBCASE("nested timeouts bring their own defaults, 1 min and 10 s") {
    const auto e = local::parse_module(v2_transport("    timeouts: {}\n")).endpoints.at(0);
    CHECK(e.call == 1min);
    CHECK(e.connect == 10s);
  }
  SUBCASE("a field nested timeouts omit takes its nested default, not the flat value") {
    const auto m =
        local::parse_module(v2_transport("    connect: 3 s\n"
                                         "    timeouts:\n"
                                         "      call: 30 s\n"));
    const auto& e = m.endpoints.at(0);
    CHECK(e.call == 30s);
    CHECK(e.connect == 10s);
    REQUIRE(m.warnings.size() == 1);
    CHECK(m.warnings[0] ==
          "module.yaml:6: document 1 (io.statefun.endpoints.v2/http): field spec.transport.connect "
          "is not read by the runtime (ignored: spec.transport.timeouts is present and takes "
          "priority, with its own defaults)");
  }
  SUBCASE("flat call and connect apply without nested timeouts") {
    const auto e = local::parse_module(v2_transport("    type: io.statefun.transports.v1/async\n"
                                                    "    call: 5 min\n"
                                                    "    connect: 1 s\n"))
                       .endpoints.at(0);
    CHECK(e.call == 5min);
    CHECK(e.connect == 1s);
  }
  SUBCASE("a field with no value keeps its default") {
    const auto e = local::parse_module(v2_endpoint("  maxNumBatchRequests: ~\n")).endpoints.at(0);
    CHECK(e.max_num_batch_requests == 1000);
  }
  SUBCASE("an okhttp transport without timeouts has the okhttp defaults") {
    const auto e = local::parse_module(v2_transport("    type: io.statefun.transports.v1/okhttp\n"))
                       .endpoints.at(0);
    CHECK(e.transport == local::transport_kind::okhttp);
    CHECK(e.call == 1min);
    CHECK(e.connect == 10s);
    CHECK(e.read == 10s);
    CHECK(e.write == 10s);
  }
  SUBCASE("maxNumBatchRequests may be negative (no backpressure) and quoted") {
    CHECK(local::parse_module(v2_endpoint("  maxNumBatchRequests: -1\n"))
              .endpoints.at(0)
              .max_num_batch_requests == -1);
    CHECK(local::parse_module(v2_endpoint("  maxNumBatchRequests: \"42\"\n"))
              .endpoints.at(0)
              .max_num_batch_requests == 42);
  }
}

TEST_CASE("Kafka ingresses and egresses read every field") {
  const local::module m = local::load_module(module_file("kafka-every-field.yaml"));
  REQUIRE(m.ingresses.size() == 1);
  const local::ingress_spec& in = m.ingresses[0];
  CHECK(in.kind == local::ingress_kind::kafka);
  CHECK(in.id == "com.example/orders");
  REQUIRE(in.routes.size() == 2);
  CHECK(in.routes[0].topic == "orders");
  CHECK(in.routes[0].value_type == "com.example/Order");
  CHECK(in.routes[0].targets ==
        std::vector<std::string>{"com.example/order-fn", "com.example/audit"});
  CHECK(in.routes[1].topic == "refunds");

  REQUIRE(m.egresses.size() == 2);
  CHECK(m.egresses[0].id == "com.example/receipts");
  CHECK(m.egresses[0].semantic == local::delivery_semantic::exactly_once);
  CHECK(m.egresses[1].id == "com.example/metrics");
  CHECK(m.egresses[1].semantic == local::delivery_semantic::none);
  CHECK(m.warnings.empty());

  SUBCASE("a Kafka egress without deliverySemantic is at-least-once") {
    const auto e = local::parse_module("kind: io.statefun.kafka.v1/egress\nspec:\n  id: a/b\n");
    CHECK(e.egresses.at(0).semantic == local::delivery_semantic::at_least_once);
  }
  SUBCASE("exactly-once takes transactionTimeout as a duration") {
    const auto e = local::parse_module(
        "kind: io.statefun.kafka.v1/egress\n"
        "spec:\n"
        "  id: a/b\n"
        "  deliverySemantic:\n"
        "    type: exactly-once\n"
        "    transactionTimeout: 15min\n");
    CHECK(e.egresses.at(0).semantic == local::delivery_semantic::exactly_once);
    CHECK(e.warnings.empty());
  }
  SUBCASE("every startup position type and both reset positions") {
    for (std::string_view position : {"{type: group-offsets}", "{type: earliest}", "{type: latest}",
                                      "{type: date, date: '2020-02-01 04:15:00.000 +0000'}"}) {
      CAPTURE(position);
      CHECK(local::parse_module(kafka_ingress("  startupPosition: " + std::string(position) + "\n"))
                .ingresses.size() == 1);
    }
    for (std::string_view reset : {"earliest", "latest", "Latest"}) {
      CAPTURE(reset);
      CHECK(local::parse_module(
                kafka_ingress("  autoOffsetResetPosition: " + std::string(reset) + "\n"))
                .ingresses.size() == 1);
    }
  }
}

TEST_CASE("Kinesis ingresses and egresses read every field") {
  const local::module m = local::load_module(module_file("kinesis.yaml"));
  REQUIRE(m.ingresses.size() == 1);
  const local::ingress_spec& in = m.ingresses[0];
  CHECK(in.kind == local::ingress_kind::kinesis);
  CHECK(in.id == "com.example/clicks");
  REQUIRE(in.routes.size() == 2);
  CHECK(in.routes[0].topic == "clicks");
  CHECK(in.routes[0].value_type == "com.example/Click");
  CHECK(in.routes[0].targets ==
        std::vector<std::string>{"com.example/counter", "com.example/audit-log"});
  CHECK(in.routes[1].topic == "views");

  REQUIRE(m.egresses.size() == 1);
  CHECK(m.egresses[0].kind == local::egress_kind::kinesis);
  CHECK(m.egresses[0].id == "com.example/audit");
  CHECK(m.egresses[0].semantic == local::delivery_semantic::at_least_once);
  CHECK(m.warnings.empty());

  SUBCASE("the other region and credentials types") {
    const auto other = local::parse_module(
        "kind: io.statefun.kinesis.v1/egress\n"
        "spec:\n"
        "  id: a/b\n"
        "  awsRegion: {type: default}\n"
        "  awsCredentials: {type: default}\n");
    CHECK(other.egresses.size() == 1);
    CHECK(other.warnings.empty());
  }
}

TEST_CASE("the legacy version 3.0 format maps its kinds and copies meta.id into the spec") {
  const local::module m = local::load_module(module_file("legacy-3.0.yaml"));
  const std::string file = module_file("legacy-3.0.yaml").string();
  REQUIRE(m.endpoints.size() == 1);
  CHECK(m.endpoints[0].functions == "com.example/*");
  CHECK(m.endpoints[0].transport == local::transport_kind::okhttp);  // http is v1, so OkHttp
  CHECK(m.endpoints[0].call == 30s);
  CHECK(m.endpoints[0].connect == 10s);
  CHECK(m.endpoints[0].source == file + ":9 (document 1)");

  REQUIRE(m.ingresses.size() == 2);
  CHECK(m.ingresses[0].kind == local::ingress_kind::kafka);
  CHECK(m.ingresses[0].id == "com.example/names");
  CHECK(m.ingresses[0].routes.at(0).targets == std::vector<std::string>{"com.example/greeter"});
  CHECK(m.ingresses[1].kind == local::ingress_kind::kinesis);
  CHECK(m.ingresses[1].id == "com.example/clicks");

  REQUIRE(m.egresses.size() == 2);
  CHECK(m.egresses[0].kind == local::egress_kind::kafka);
  CHECK(m.egresses[0].id == "com.example/greets");
  CHECK(m.egresses[0].semantic == local::delivery_semantic::exactly_once);
  CHECK(m.egresses[1].kind == local::egress_kind::kinesis);
  CHECK(m.egresses[1].id == "com.example/audit");
  CHECK(m.warnings.empty());

  SUBCASE("a legacy entry may also name a current kind") {
    const auto current = local::parse_module(
        "version: \"3.0\"\n"
        "module:\n"
        "  meta: {type: REMOTE}\n"
        "  spec:\n"
        "    endpoints:\n"
        "      - endpoint:\n"
        "          meta: {kind: io.statefun.endpoints.v2/http}\n"
        "          spec:\n"
        "            functions: a/b\n"
        "            urlPathTemplate: http://a/\n");
    CHECK(current.endpoints.at(0).transport == local::transport_kind::async);
  }
  SUBCASE("a spec.id beside meta.id is replaced, with a warning") {
    const auto replaced = local::parse_module(
        "version: '3.0'\n"
        "module:\n"
        "  meta: {type: remote}\n"
        "  spec:\n"
        "    egresses:\n"
        "      - egress:\n"
        "          meta: {type: io.statefun.kafka/egress, id: a/meta}\n"
        "          spec:\n"
        "            id: a/spec\n");
    CHECK(replaced.egresses.at(0).id == "a/meta");
    REQUIRE(replaced.warnings.size() == 1);
    CHECK(contains(replaced.warnings[0],
                   "module.yaml:9: document 1 (version 3.0, io.statefun.kafka.v1/egress): field "
                   "module.spec.egresses[0].egress.spec.id is not read by the runtime (ignored: "
                   "the legacy format replaces it with module.spec.egresses[0].egress.meta.id)"));
  }
}

TEST_CASE("empty documents are skipped but still counted") {
  const local::module empty = local::parse_module("");
  CHECK(empty.endpoints.empty());
  CHECK(local::parse_module("# nothing\n").endpoints.empty());

  const std::string text = "---\n---\n# a comment\n---\n" + v2_endpoint() + "---\n";
  const local::module m = local::parse_module(text);
  REQUIRE(m.endpoints.size() == 1);
  CHECK(m.endpoints[0].source == "module.yaml:5 (document 3)");
}

// --- Several files ------------------------------------------------------------------------------

TEST_CASE("several files load into one module") {
  const local::module m =
      local::load_modules({module_file("multi/functions.yaml"), module_file("multi/io.yaml")});
  CHECK(m.endpoints.size() == 2);
  CHECK(m.ingresses.size() == 1);
  CHECK(m.egresses.size() == 1);
  CHECK(m.endpoints[1].source == module_file("multi/functions.yaml").string() + ":7 (document 2)");
  CHECK(m.ingresses[0].source == module_file("multi/io.yaml").string() + ":2 (document 1)");
}

TEST_CASE("rule 2: binding a function type again in another file is an error naming both places") {
  const std::string first = module_file("multi/functions.yaml").string();
  const std::string second = module_file("multi/rebinds-greeter.yaml").string();
  try {
    (void)local::load_modules(
        {module_file("multi/functions.yaml"), module_file("multi/rebinds-greeter.yaml")});
    FAIL("accepted");
  } catch (const local::module_error& e) {
    CHECK(e.source() == second);
    CHECK(e.document() == 1);
    CHECK(e.line() == 2);
    CHECK(e.field() == "spec.functions");
    CHECK(e.reason() == "function type example/greeter is already bound by the endpoint at " +
                            first + ":2 (document 1)");
  }

  SUBCASE("append_module leaves its target unchanged when it refuses") {
    local::module all = local::load_module(module_file("multi/functions.yaml"));
    const local::module again = local::load_module(module_file("multi/rebinds-greeter.yaml"));
    CHECK_THROWS_AS(local::append_module(all, again), local::module_error);
    CHECK(all.endpoints.size() == 2);
  }
  SUBCASE("specs built in code are checked too") {
    local::module all;
    local::module more;
    more.endpoints.resize(2);
    more.endpoints[0].functions = more.endpoints[1].functions = "a/*";
    try {
      local::append_module(all, more);
      FAIL("accepted");
    } catch (const local::module_error& e) {
      CHECK(e.source() == "(a spec built in code)");
      CHECK(
          contains(e.what(),
                   "namespace a (a/*) is already bound by the endpoint at (a spec built in code)"));
    }
  }
  SUBCASE("ingress and egress ids must be unique across files as well") {
    local::module all = local::load_module(module_file("multi/io.yaml"));
    try {
      local::append_module(all, local::load_module(module_file("multi/io.yaml")));
      FAIL("accepted");
    } catch (const local::module_error& e) {
      CHECK(e.field() == "spec.id");
      CHECK(contains(e.reason(), "ingress example/names is already defined at "));
    }
  }
}

TEST_CASE("an unreadable file is an error naming it") {
  const auto missing = module_file("no-such-module.yaml");
  try {
    (void)local::load_module(missing);
    FAIL("accepted");
  } catch (const local::module_error& e) {
    CHECK(e.source() == missing.string());
    CHECK(e.document() == 0);
    CHECK(e.line() == 0);
    CHECK(std::string(e.what()) ==
          missing.string() + ": cannot be read: No such file or directory");
  }
  try {
    (void)local::load_module(module_file("multi"));
    FAIL("accepted");
  } catch (const local::module_error& e) {
    CHECK(contains(e.what(), "is a directory"));
  }
}

// --- Errors -------------------------------------------------------------------------------------

TEST_CASE("module_error says where: file, line, document, kind and field") {
  const local::module_error e = refusal(v2_transport("    type: io.statefun.transports.v1/foo\n"));
  CHECK(std::string(e.what()) ==
        "module.yaml:6: document 1 (io.statefun.endpoints.v2/http), field spec.transport.type: "
        "unknown transport 'io.statefun.transports.v1/foo' (expected "
        "io.statefun.transports.v1/async or io.statefun.transports.v1/okhttp)");
  CHECK(e.kind() == "io.statefun.endpoints.v2/http");
  static_assert(std::is_nothrow_copy_constructible_v<local::module_error>);
  static_assert(std::is_base_of_v<std::runtime_error, local::module_error>);

  SUBCASE("a YAML syntax error has a line but no document or field") {
    const local::module_error syntax = refusal("kind: [a, b\nspec: {}\n");
    CHECK(syntax.document() == 0);
    CHECK(syntax.field().empty());
    CHECK(syntax.line() == 2);
    CHECK(contains(syntax.what(), "module.yaml:2: not valid YAML: "));
  }
  SUBCASE("the name given to parse_module is the source") {
    try {
      (void)local::parse_module("- 1\n", "inline text");
      FAIL("accepted");
    } catch (const local::module_error& err) {
      CHECK(std::string(err.what()) ==
            "inline text:1: document 1: expected a map with kind and spec, got a list");
    }
  }
}

TEST_CASE("documents need a known kind and a spec") {
  check_refusals({
      {"a document that is a list", "- a\n", 1, 1, "", "expected a map with kind and spec"},
      {"no kind", "spec: {}\n", 1, 1, "", "has no field kind, which is required"},
      {"no spec", "kind: io.statefun.endpoints.v2/http\n", 1, 1, "", "has no field spec"},
      {"spec without a value", "kind: io.statefun.endpoints.v2/http\nspec:\n", 1, 2, "spec",
       "has no value"},
      {"a field name that is a list",
       "kind: io.statefun.endpoints.v2/http\nspec:\n  ? [a]\n  : b\n", 1, 3, "spec.?",
       "a field name must be a plain string, got a list"},
      {"spec not a map", "kind: io.statefun.endpoints.v2/http\nspec: 3\n", 1, 2, "spec",
       "expected a map of fields, got a scalar"},
      {"kind not a string", "kind: {a: b}\nspec: {}\n", 1, 1, "kind",
       "expected a string, got a map"},
      {"an unknown kind",
       "---\n" + v2_endpoint() + "---\nkind: io.statefun.endpoints.v3/http\nspec: {}\n", 2, 7,
       "kind",
       "unknown kind 'io.statefun.endpoints.v3/http' (expected one of "
       "io.statefun.endpoints.v1/http, "
       "io.statefun.endpoints.v2/http, io.statefun.kafka.v1/ingress, io.statefun.kafka.v1/egress, "
       "io.statefun.kinesis.v1/ingress, io.statefun.kinesis.v1/egress)"},
      {"a legacy kind in the component format", "kind: io.statefun.kafka/ingress\nspec: {}\n", 1, 1,
       "kind", "the component format calls it io.statefun.kafka.v1/ingress"},
      {"version in a multi-document file is not the legacy format",
       "version: \"3.0\"\nmodule: {}\n---\n" + v2_endpoint(), 1, 1, "", "has no field kind"},
  });
}

TEST_CASE("rule 4: function types, ids and value types must be namespace/name") {
  check_refusals({
      {"functions without a slash", with(v2_endpoint(), "example/greeter", "greeter"), 1, 3,
       "spec.functions", "functions 'greeter' has no '/' between namespace and name"},
      {"functions with two slashes",
       "kind: io.statefun.endpoints.v2/http\nspec:\n  functions: a/b/c\n  urlPathTemplate: "
       "http://a/\n",
       1, 3, "spec.functions", "has more than one '/'"},
      {"functions with an empty namespace",
       "kind: io.statefun.endpoints.v1/http\nspec:\n  functions: /greeter\n  urlPathTemplate: "
       "http://a/\n",
       1, 3, "spec.functions", "has an empty namespace"},
      {"functions with an empty name",
       "kind: io.statefun.endpoints.v1/http\nspec:\n  functions: example/\n  urlPathTemplate: "
       "http://a/\n",
       1, 3, "spec.functions", "has an empty name"},
      {"a wildcard namespace",
       "kind: io.statefun.endpoints.v2/http\nspec:\n  functions: \"*/greeter\"\n  urlPathTemplate: "
       "http://a/\n",
       1, 3, "spec.functions", "only <namespace>/<name> or <namespace>/* are allowed"},
      {"a wildcard inside a name",
       "kind: io.statefun.endpoints.v2/http\nspec:\n  functions: example/greet*\n  "
       "urlPathTemplate: http://a/\n",
       1, 3, "spec.functions", "only <namespace>/<name> or <namespace>/* are allowed"},
      {"functions missing",
       "kind: io.statefun.endpoints.v2/http\nspec:\n  urlPathTemplate: http://a/\n", 1, 2, "spec",
       "has no field functions"},
      {"functions a list",
       "kind: io.statefun.endpoints.v2/http\nspec:\n  functions: [a/b]\n  urlPathTemplate: "
       "http://a/\n",
       1, 3, "spec.functions", "expected a string, got a list"},
      {"an ingress id without a slash", with(kafka_ingress(), "example/names", "names"), 1, 3,
       "spec.id", "ingress id 'names' has no '/'"},
      {"an egress id with an empty name", "kind: io.statefun.kafka.v1/egress\nspec:\n  id: a/\n", 1,
       3, "spec.id", "egress id 'a/' has an empty name"},
      {"a valueType without a slash", with(kafka_ingress(), "io.statefun.types/string", "string"),
       1, 6, "spec.topics[0].valueType", "valueType 'string' has no '/'"},
      {"a target without a slash", with(kafka_ingress(), "- example/greeter", "- greeter"), 1, 8,
       "spec.topics[0].targets[0]", "function type 'greeter' has no '/'"},
      {"a target that is a namespace pattern",
       with(kafka_ingress(), "- example/greeter", "- example/*"), 1, 8, "spec.topics[0].targets[0]",
       "is a pattern, not a function type"},
  });
}

TEST_CASE("rule 3: urlPathTemplate must be a URL the transport can call") {
  check_refusals({
      {"no urlPathTemplate", "kind: io.statefun.endpoints.v2/http\nspec:\n  functions: a/b\n", 1, 2,
       "spec", "has no field urlPathTemplate"},
      {"urlPathTemplate a map", v2_endpoint({}, "{host: a}"), 1, 4, "spec.urlPathTemplate",
       "expected a string, got a map"},
      {"an empty urlPathTemplate", v2_endpoint({}, "''"), 1, 4, "spec.urlPathTemplate", "is empty"},
      {"an unsupported scheme", v2_endpoint({}, "ftp://host/x"), 1, 4, "spec.urlPathTemplate",
       "has the unsupported scheme 'ftp' (expected http, https, http+unix or https+unix)"},
      {"no scheme", v2_endpoint({}, "localhost:8000/statefun"), 1, 4, "spec.urlPathTemplate",
       "has no scheme"},
      {"no host", v2_endpoint({}, "http:///statefun"), 1, 4, "spec.urlPathTemplate", "has no host"},
      {"an unknown placeholder", v2_endpoint({}, "http://a/{function.namespace}/{function.name}"),
       1, 4, "spec.urlPathTemplate", "has a placeholder other than {function.name}"},
      {"whitespace", v2_endpoint({}, "'http://a/my fn'"), 1, 4, "spec.urlPathTemplate",
       "contains whitespace"},
  });
}

TEST_CASE("rule 8: Unix-socket URLs need a .sock segment and the okhttp transport") {
  check_refusals({
      {"async, the v2 default", v2_endpoint({}, "http+unix:///run/fn.sock/statefun"), 1, 4,
       "spec.urlPathTemplate",
       "http+unix URLs work only with the okhttp transport (rule 8); set transport.type: "
       "io.statefun.transports.v1/okhttp, or use io.statefun.endpoints.v1/http"},
      {"async, named",
       v2_transport("    type: io.statefun.transports.v1/async\n", "https+unix:///run/fn.sock"), 1,
       4, "spec.urlPathTemplate", "https+unix URLs work only with the okhttp transport"},
      {"no .sock segment", v1_endpoint({}, "http+unix:///run/fn/statefun"), 1, 4,
       "spec.urlPathTemplate", "names no socket file"},
      {"the socket as the host", v1_endpoint({}, "http+unix://fn.sock/statefun"), 1, 4,
       "spec.urlPathTemplate", "the socket file goes in the path"},
  });
}

TEST_CASE("wrong types and values of endpoint fields are errors naming the field") {
  check_refusals({
      {"a batch size that is not a number", v2_endpoint("  maxNumBatchRequests: many\n"), 1, 5,
       "spec.maxNumBatchRequests", "expected an integer, got 'many'"},
      {"a batch size that is a fraction", v2_endpoint("  maxNumBatchRequests: 1.5\n"), 1, 5,
       "spec.maxNumBatchRequests", "expected an integer, got '1.5'"},
      {"a batch size beyond int", v2_endpoint("  maxNumBatchRequests: 99999999999\n"), 1, 5,
       "spec.maxNumBatchRequests", "is out of range"},
      {"a batch size that is a list", v2_endpoint("  maxNumBatchRequests: [1]\n"), 1, 5,
       "spec.maxNumBatchRequests", "expected an integer, got a list"},
      {"transport a string", v2_endpoint("  transport: okhttp\n"), 1, 5, "spec.transport",
       "expected a map such as {type: io.statefun.transports.v1/okhttp}, got a scalar"},
      {"an unknown transport", v2_transport("    type: io.statefun.transports.v1/foo\n"), 1, 6,
       "spec.transport.type", "unknown transport 'io.statefun.transports.v1/foo'"},
      {"a transport type that is not a type name", v2_transport("    type: okhttp\n"), 1, 6,
       "spec.transport.type", "transport 'okhttp' has no '/'"},
      {"an unknown field's map does not hide a wrong type", v2_transport("    pool_size: [1]\n"), 1,
       6, "spec.transport.pool_size", "expected an integer, got a list"},
  });
}

TEST_CASE("okhttp timeouts must be positive and no longer than call") {
  const std::string okhttp = "    type: io.statefun.transports.v1/okhttp\n    timeouts:\n";
  check_refusals({
      {"a zero call", v2_transport(okhttp + "      call: 0 s\n"), 1, 8,
       "spec.transport.timeouts.call", "must be longer than 0"},
      {"a zero read on v1", v1_endpoint("  timeouts:\n    read: 0\n"), 1, 6, "spec.timeouts.read",
       "must be longer than 0"},
      {"connect longer than call",
       v2_transport(okhttp + "      call: 1 min\n      connect: 2 min\n"), 1, 9,
       "spec.transport.timeouts.connect",
       "connect timeout 2 min is longer than the call timeout 1 min"},
      {"read longer than the default call", v1_endpoint("  timeouts:\n    read: 90 s\n"), 1, 6,
       "spec.timeouts.read", "read timeout 90 s is longer than the call timeout 1 min"},
      {"a call shorter than the default write", v1_endpoint("  timeouts:\n    call: 5 s\n"), 1, 6,
       "spec.timeouts.call", "connect timeout 10 s is longer than the call timeout 5 s"},
      {"a duration with an unknown unit", v1_endpoint("  timeouts:\n    call: 5 mins\n"), 1, 6,
       "spec.timeouts.call", "'5 mins' is not a duration: unknown time unit 'mins'"},
      {"a duration that is a map", v1_endpoint("  timeouts:\n    call: {minutes: 5}\n"), 1, 6,
       "spec.timeouts.call", "expected a duration such as '10 s', got a map"},
      {"timeouts that are a list", v1_endpoint("  timeouts: [1 min]\n"), 1, 5, "spec.timeouts",
       "expected a map of fields, got a list"},
  });
}

TEST_CASE("async transport values are checked") {
  check_refusals({
      {"a zero flat call", v2_transport("    call: 0 ms\n"), 1, 6, "spec.transport.call",
       "must be longer than 0"},
      {"a zero nested connect", v2_transport("    timeouts:\n      connect: 0\n"), 1, 7,
       "spec.transport.timeouts.connect", "must be longer than 0"},
      {"a pool of no connections", v2_transport("    pool_size: 0\n"), 1, 6,
       "spec.transport.pool_size", "0 is out of range (1 to 2147483647)"},
      {"a payload limit that is not a number", v2_transport("    payload_max_bytes: 32MiB\n"), 1, 6,
       "spec.transport.payload_max_bytes", "expected an integer, got '32MiB'"},
      {"a pool_ttl that is not a duration", v2_transport("    pool_ttl: forever\n"), 1, 6,
       "spec.transport.pool_ttl", "'forever' is not a duration"},
  });
}

TEST_CASE("rule 9: TLS files are local paths, and a client certificate comes with its key") {
  const std::string url = "https://fn.example.com/statefun";
  check_refusals({
      {"client_cert without client_key", v2_transport("    client_cert: /tls/c.pem\n", url), 1, 6,
       "spec.transport.client_cert", "is set without spec.transport.client_key"},
      {"client_key without client_cert", v2_transport("    client_key: /tls/k.pem\n", url), 1, 6,
       "spec.transport.client_key", "is set without spec.transport.client_cert"},
      {"a classpath: resource", v2_transport("    trust_cacerts: classpath:ca.pem\n", url), 1, 6,
       "spec.transport.trust_cacerts", "there is no Java classpath here"},
      {"another scheme", v2_transport("    trust_cacerts: http://pki/ca.pem\n", url), 1, 6,
       "spec.transport.trust_cacerts", "has the scheme 'http:'"},
      {"an empty location", v2_transport("    trust_cacerts: ''\n", url), 1, 6,
       "spec.transport.trust_cacerts", "is empty"},
      {"a file on another host", v2_transport("    trust_cacerts: file://pki/ca.pem\n", url), 1, 6,
       "spec.transport.trust_cacerts", "names a file on host 'pki'"},
      {"a file: URL naming no file", v2_transport("    trust_cacerts: 'file:'\n", url), 1, 6,
       "spec.transport.trust_cacerts", "names no file"},
  });
  SUBCASE("a file://localhost URL and a relative path are local files") {
    const auto e =
        local::parse_module(v2_transport("    trust_cacerts: file://localhost/tls/ca.pem\n"
                                         "    client_cert: tls/c.pem\n"
                                         "    client_key: FILE:tls/k.pem\n",
                                         url))
            .endpoints.at(0);
    CHECK(e.tls.trust_cacerts == "/tls/ca.pem");
    CHECK(e.tls.client_cert == "tls/c.pem");
    CHECK(e.tls.client_key == "tls/k.pem");
  }
}

TEST_CASE("rule 2: binding a type or namespace twice in one file is an error naming both places") {
  check_refusals({
      {"the same function type", v2_endpoint() + "---\n" + v1_endpoint(), 2, 8, "spec.functions",
       "function type example/greeter is already bound by the endpoint at module.yaml:1 (document "
       "1)"},
      {"the same namespace",
       "kind: io.statefun.endpoints.v2/http\nspec:\n  functions: ex/*\n  urlPathTemplate: "
       "http://a/\n"
       "---\n"
       "kind: io.statefun.endpoints.v2/http\nspec:\n  functions: ex/*\n  urlPathTemplate: "
       "http://b/\n",
       2, 8, "spec.functions",
       "namespace ex (ex/*) is already bound by the endpoint at module.yaml:1 (document 1)"},
      {"the same ingress id", kafka_ingress() + "---\n" + kafka_ingress(), 2, 12, "spec.id",
       "ingress example/names is already defined at module.yaml:1 (document 1)"},
      {"the same egress id",
       "kind: io.statefun.kafka.v1/egress\nspec:\n  id: a/b\n---\n"
       "kind: io.statefun.kinesis.v1/egress\nspec:\n  id: a/b\n",
       2, 7, "spec.id", "egress a/b is already defined at module.yaml:1 (document 1)"},
  });
  SUBCASE("a type and its namespace may both be bound: the exact binding wins") {
    const auto m = local::parse_module(v2_endpoint() + "---\n" +
                                       "kind: io.statefun.endpoints.v2/http\nspec:\n  functions: "
                                       "example/*\n  urlPathTemplate: http://a/\n");
    CHECK(m.endpoints.size() == 2);
  }
  SUBCASE("an ingress and an egress may share an id") {
    const auto m =
        local::parse_module(kafka_ingress() + "---\n" +
                            "kind: io.statefun.kafka.v1/egress\nspec:\n  id: example/names\n");
    CHECK(m.ingresses.size() == 1);
    CHECK(m.egresses.size() == 1);
  }
}

TEST_CASE("Kafka ingress and egress fields are checked") {
  check_refusals({
      {"no topics", "kind: io.statefun.kafka.v1/ingress\nspec:\n  id: a/b\n", 1, 2, "spec",
       "has no field topics"},
      {"an empty topic list",
       "kind: io.statefun.kafka.v1/ingress\nspec:\n  id: a/b\n  topics: []\n", 1, 4, "spec.topics",
       "is empty: an ingress needs at least one topic"},
      {"topics a map", "kind: io.statefun.kafka.v1/ingress\nspec:\n  id: a/b\n  topics: {a: b}\n",
       1, 4, "spec.topics", "expected a list, got a map"},
      {"a route without topic",
       "kind: io.statefun.kafka.v1/ingress\nspec:\n  id: a/b\n  topics:\n    - valueType: a/b\n"
       "      targets: [a/c]\n",
       1, 5, "spec.topics[0]", "has no field topic"},
      {"a route without targets",
       "kind: io.statefun.kafka.v1/ingress\nspec:\n  id: a/b\n  topics:\n    - topic: t\n"
       "      valueType: a/b\n",
       1, 5, "spec.topics[0]", "has no field targets"},
      {"empty targets",
       "kind: io.statefun.kafka.v1/ingress\nspec:\n  id: a/b\n  topics:\n    - topic: t\n"
       "      valueType: a/b\n      targets: []\n",
       1, 7, "spec.topics[0].targets", "is empty: records of topic 't' would go nowhere"},
      {"no id", "kind: io.statefun.kafka.v1/ingress\nspec:\n  topics: []\n", 1, 2, "spec",
       "has no field id"},
      {"an unknown reset position", kafka_ingress("  autoOffsetResetPosition: middle\n"), 1, 9,
       "spec.autoOffsetResetPosition",
       "unknown autoOffsetResetPosition 'middle' (expected earliest or latest)"},
      {"an unknown startup position", kafka_ingress("  startupPosition:\n    type: now\n"), 1, 10,
       "spec.startupPosition.type",
       "unknown startup position type 'now' (expected one of group-offsets, earliest, latest, "
       "specific-offsets, date)"},
      {"a startup position without type", kafka_ingress("  startupPosition: {}\n"), 1, 9,
       "spec.startupPosition", "has no field type"},
      {"specific-offsets without offsets",
       kafka_ingress("  startupPosition: {type: specific-offsets}\n"), 1, 9, "spec.startupPosition",
       "has no field offsets"},
      {"an offset key without a partition",
       kafka_ingress(
           "  startupPosition:\n    type: specific-offsets\n    offsets:\n      - names: 3\n"),
       1, 12, "spec.startupPosition.offsets[0].names", "'names' is not <topic>/<partition number>"},
      {"an offset that is not a number",
       kafka_ingress(
           "  startupPosition:\n    type: specific-offsets\n    offsets:\n      - names/0: x\n"),
       1, 12, "spec.startupPosition.offsets[0].names/0", "expected an integer, got 'x'"},
      {"a date in another format",
       kafka_ingress("  startupPosition:\n    type: date\n    date: 2020-02-01T04:15:00Z\n"), 1, 11,
       "spec.startupPosition.date", "does not match the pattern yyyy-MM-dd HH:mm:ss.SSS Z"},
      {"properties a map", kafka_ingress("  properties: {a: b}\n"), 1, 9, "spec.properties",
       "expected a list, got a map"},
      {"a property that is not a map", kafka_ingress("  properties:\n    - a=b\n"), 1, 10,
       "spec.properties[0]", "expected a single-key map such as 'key: value', got a scalar"},
      {"an empty property", kafka_ingress("  properties:\n    - {}\n"), 1, 10, "spec.properties[0]",
       "got an empty map"},
      {"an empty consumerGroupId", kafka_ingress("  consumerGroupId: ''\n"), 1, 9,
       "spec.consumerGroupId", "is empty"},
      {"a property whose value is a map", kafka_ingress("  properties:\n    - a: {b: c}\n"), 1, 10,
       "spec.properties[0].a", "expected a property value, got a map"},
      {"a transaction timeout of 0 ms",
       "kind: io.statefun.kafka.v1/egress\nspec:\n  id: a/b\n  deliverySemantic:\n"
       "    type: exactly-once\n    transactionTimeoutMillis: 0\n",
       1, 6, "spec.deliverySemantic.transactionTimeoutMillis", "must be longer than 0"},
      {"an address that is a list", kafka_ingress("  address: [a, b]\n"), 1, 9, "spec.address",
       "expected a string, got a list"},
      {"an unknown delivery semantic",
       "kind: io.statefun.kafka.v1/egress\nspec:\n  id: a/b\n  deliverySemantic:\n    type: "
       "twice\n",
       1, 5, "spec.deliverySemantic.type",
       "unknown delivery semantic 'twice' (expected one of at-least-once, exactly-once, none)"},
      {"exactly-once without a timeout",
       "kind: io.statefun.kafka.v1/egress\nspec:\n  id: a/b\n  deliverySemantic:\n    type: "
       "exactly-once\n",
       1, 4, "spec.deliverySemantic", "exactly-once needs transactionTimeout"},
      {"a transaction timeout in millis that is not a number",
       "kind: io.statefun.kafka.v1/egress\nspec:\n  id: a/b\n  deliverySemantic:\n    type: "
       "exactly-once\n"
       "    transactionTimeoutMillis: 15min\n",
       1, 6, "spec.deliverySemantic.transactionTimeoutMillis", "expected an integer, got '15min'"},
      {"a transaction timeout that is not a duration",
       "kind: io.statefun.kafka.v1/egress\nspec:\n  id: a/b\n  deliverySemantic:\n    type: "
       "exactly-once\n"
       "    transactionTimeout: soon\n",
       1, 6, "spec.deliverySemantic.transactionTimeout", "'soon' is not a duration"},
  });
}

TEST_CASE("Kinesis ingress and egress fields are checked") {
  const std::string head = "kind: io.statefun.kinesis.v1/ingress\nspec:\n  id: a/b\n";
  const std::string streams =
      "  streams:\n    - stream: s\n      valueType: a/v\n      targets: [a/f]\n";
  check_refusals({
      {"no streams", head, 1, 2, "spec", "has no field streams"},
      {"topics instead of streams", head + "  topics: []\n", 1, 2, "spec", "has no field streams"},
      {"a region type that does not exist", head + streams + "  awsRegion: {type: moon}\n", 1, 8,
       "spec.awsRegion.type",
       "unknown AWS region type 'moon' (expected one of default, specific, custom-endpoint)"},
      {"a specific region without id", head + streams + "  awsRegion:\n    type: specific\n", 1, 8,
       "spec.awsRegion", "has no field id"},
      {"a custom endpoint without endpoint",
       head + streams + "  awsRegion: {type: custom-endpoint, id: x}\n", 1, 8, "spec.awsRegion",
       "has no field endpoint"},
      {"basic credentials without the secret",
       head + streams + "  awsCredentials:\n    type: basic\n    accessKeyId: k\n", 1, 8,
       "spec.awsCredentials", "has no field secretAccessKey"},
      {"profile credentials without a name", head + streams + "  awsCredentials: {type: profile}\n",
       1, 8, "spec.awsCredentials", "has no field profileName"},
      {"a startup position Kinesis does not have",
       head + streams + "  startupPosition: {type: group-offsets}\n", 1, 8,
       "spec.startupPosition.type",
       "unknown startup position type 'group-offsets' (expected one of latest, earliest, date)"},
      {"a date startup position without date", head + streams + "  startupPosition: {type: date}\n",
       1, 8, "spec.startupPosition", "has no field date"},
      {"no outstanding records allowed",
       "kind: io.statefun.kinesis.v1/egress\nspec:\n  id: a/b\n  maxOutstandingRecords: 0\n", 1, 4,
       "spec.maxOutstandingRecords", "0 is out of range"},
  });
}

namespace {

/// The module_error that loading `file` throws (the test fails if it is accepted).
local::module_error file_refusal(const std::filesystem::path& file) {
  try {
    (void)local::load_module(file);
  } catch (const local::module_error& e) {
    return e;
  }
  FAIL("accepted: " << file);
  return {"", 0, "", "", 0, "accepted"};
}

/// The module in the component format that a refusal of a StateFun 2.x file proposes (the
/// text between the introduction and the notes in parentheses).
std::string proposed_rewrite(const std::string& what) {
  constexpr std::string_view intro = "in that format (docs/module_yaml.md):\n";
  const std::size_t start = what.find(intro);
  REQUIRE(start != std::string::npos);
  std::string rest = what.substr(start + intro.size());
  const std::size_t notes = rest.find("\n(");
  return notes == std::string::npos ? rest : rest.substr(0, notes + 1);
}

}  // namespace

TEST_CASE("a StateFun 2.x module.yaml (version 1.0) is refused with the same module written in the current format") {
  const std::string file = module_file("legacy-1.0.yaml").string();
  const local::module_error e = file_refusal(module_file("legacy-1.0.yaml"));
  const std::string what = e.what();
  CHECK(e.line() == 4);
  CHECK(e.field() == "version");
  CHECK(contains(what, file + ":4: document 1 (legacy format), field version: format version 1.0 is the legacy "
                              "module.yaml of StateFun 2.x"));
  CHECK(contains(what, "which StateFun 3 does not read. Write one YAML document per component, kind and spec, "
                       "separated by ---"));
  CHECK(contains(what, "(states of example/greeter: module.yaml lists no states any more"));
  // What it proposes is this very module, and the loader reads it.
  const local::module now = local::parse_module(proposed_rewrite(what));
  CHECK(now.warnings.empty());
  REQUIRE(now.endpoints.size() == 1);
  CHECK(now.endpoints[0].functions == "example/greeter");
  CHECK(now.endpoints[0].url_path_template == "http://localhost:8000/statefun");
  CHECK(now.endpoints[0].max_num_batch_requests == 500);
  CHECK(now.endpoints[0].call == 2min);
  REQUIRE(now.ingresses.size() == 1);
  CHECK(now.ingresses[0].kind == local::ingress_kind::kafka);
  CHECK(now.ingresses[0].id == "example/names");
  REQUIRE(now.ingresses[0].routes.size() == 1);
  CHECK(now.ingresses[0].routes[0].topic == "names");
  CHECK(now.ingresses[0].routes[0].value_type == "example/GreetRequest");
  CHECK(now.ingresses[0].routes[0].targets == std::vector<std::string>{"example/greeter"});
  REQUIRE(now.egresses.size() == 1);
  CHECK(now.egresses[0].kind == local::egress_kind::kafka);
  CHECK(now.egresses[0].id == "example/greets");
  CHECK(now.egresses[0].semantic == local::delivery_semantic::exactly_once);
}

TEST_CASE("a StateFun 2.x module.yaml (version 2.0) is refused with its routers, timeouts and gRPC function translated or named") {
  const local::module_error e = file_refusal(module_file("legacy-2.0.yaml"));
  const std::string what = e.what();
  CHECK(e.line() == 3);
  CHECK(contains(what, "format version 2.0 is the legacy module.yaml of StateFun 2.x"));
  CHECK(contains(what, "(function example/legacy (kind grpc): remote functions are reached over HTTP only now"));
  CHECK(contains(what, "(routers: there are none any more; each topic of an ingress lists its targets"));
  const local::module now = local::parse_module(proposed_rewrite(what));
  REQUIRE(now.endpoints.size() == 1);
  CHECK(now.endpoints[0].functions == "example/counter");
  CHECK(now.endpoints[0].url_path_template == "http+unix:///run/counter.sock/statefun");
  CHECK(now.endpoints[0].transport == local::transport_kind::okhttp);  // read and write timeouts are OkHttp's
  CHECK(now.endpoints[0].call == 1min);
  CHECK(now.endpoints[0].connect == 10s);
  REQUIRE(now.ingresses.size() == 1);
  REQUIRE(now.ingresses[0].routes.size() == 1);
  // The router's target, without its id template, is the topic's target now.
  CHECK(now.ingresses[0].routes[0].topic == "clicks");
  CHECK(now.ingresses[0].routes[0].value_type == "type.googleapis.com/example.Click");
  CHECK(now.ingresses[0].routes[0].targets == std::vector<std::string>{"example/counter"});
  REQUIRE(now.egresses.size() == 1);
  CHECK(now.egresses[0].kind == local::egress_kind::kinesis);
  CHECK(now.egresses[0].id == "example/counts");
}

TEST_CASE("the legacy format accepts only version \"3.0\" of a remote module") {
  const std::string body = "module:\n  meta:\n    type: remote\n  spec: {}\n";
  check_refusals({
      {"version 1.0 is StateFun 2.x's format", "version: \"1.0\"\n" + body, 1, 1, "version",
       "format version 1.0 is the legacy module.yaml of StateFun 2.x"},
      {"version 2.0 is StateFun 2.x's format", "version: '2.0'\n" + body, 1, 1, "version",
       "format version 2.0 is the legacy module.yaml of StateFun 2.x"},
      {"an unquoted 2.0 is told about the 2.x format too", "version: 2.0\n" + body, 1, 1, "version",
       "format version 2.0 is the legacy module.yaml of StateFun 2.x"},
      {"version 3.1 is not a legacy version", "version: \"3.1\"\n" + body, 1, 1, "version",
       "format version 3.1 is not read in the legacy layout"},
      {"an unknown version", "version: \"4.0\"\n" + body, 1, 1, "version",
       "unknown format version '4.0'"},
      {"an unquoted 3.0 is a number, which the runtime refuses", "version: 3.0\n" + body, 1, 1,
       "version", "is the number 3.0, and the runtime wants a string: write version: \"3.0\""},
      {"a module that is not remote",
       "version: \"3.0\"\nmodule:\n  meta:\n    type: embedded\n  spec: {}\n", 1, 4,
       "module.meta.type", "unknown module type 'embedded' (only remote is supported)"},
      {"a module without meta", "version: \"3.0\"\nmodule:\n  spec: {}\n", 1, 2, "module",
       "has no field meta"},
      {"a module without meta.type", "version: \"3.0\"\nmodule:\n  meta: {}\n  spec: {}\n", 1, 3,
       "module.meta", "has no field type"},
      {"a version that is a map", "version: {major: 3}\nmodule: {}\n", 1, 1, "version",
       "expected a string such as \"3.0\", got a map"},
      {"a module without spec", "version: \"3.0\"\nmodule:\n  meta: {type: remote}\n", 1, 2,
       "module", "has no field spec"},
      {"an endpoint kind that is unknown",
       "version: \"3.0\"\n"
       "module:\n"
       "  meta: {type: remote}\n"
       "  spec:\n"
       "    endpoints:\n"
       "      - endpoint:\n"
       "          meta: {kind: grpc}\n"
       "          spec: {}\n",
       1, 7, "module.spec.endpoints[0].endpoint.meta.kind", "unknown kind 'grpc'"},
      {"an ingress without meta.id",
       "version: \"3.0\"\n"
       "module:\n"
       "  meta: {type: remote}\n"
       "  spec:\n"
       "    ingresses:\n"
       "      - ingress:\n"
       "          meta: {type: io.statefun.kafka/ingress}\n"
       "          spec: {}\n",
       1, 7, "module.spec.ingresses[0].ingress.meta", "has no field id"},
      {"an error inside a legacy spec names its full path",
       "version: \"3.0\"\n"
       "module:\n"
       "  meta: {type: remote}\n"
       "  spec:\n"
       "    endpoints:\n"
       "      - endpoint:\n"
       "          meta: {kind: http}\n"
       "          spec:\n"
       "            functions: a/b\n"
       "            urlPathTemplate: http://a/\n"
       "            timeouts: {call: 1 hr}\n",
       1, 11, "module.spec.endpoints[0].endpoint.spec.timeouts.call", "unknown time unit 'hr'"},
  });
  SUBCASE("the kind of a legacy component is named in the message") {
    const local::module_error e = refusal(
        "version: \"3.0\"\nmodule:\n  meta: {type: remote}\n  spec:\n    endpoints:\n"
        "      - endpoint:\n          meta: {kind: http}\n          spec: {functions: a/b}\n");
    CHECK(e.kind() == "version 3.0, io.statefun.endpoints.v1/http");
    CHECK(contains(e.what(),
                   "document 1 (version 3.0, io.statefun.endpoints.v1/http), field "
                   "module.spec.endpoints[0].endpoint.spec: has no field urlPathTemplate"));
  }
}

// --- Warnings -----------------------------------------------------------------------------------

TEST_CASE("rule 1: fields the runtime does not read are ignored, each with a warning") {
  const local::module m = local::load_module(module_file("misspelt.yaml"));
  const std::string file = module_file("misspelt.yaml").string();
  REQUIRE(m.endpoints.size() == 1);
  CHECK(m.endpoints[0].max_num_batch_requests == 1000);  // the misspelt key was not read
  CHECK(m.endpoints[0].call == 30s);
  REQUIRE(m.warnings.size() == 3);
  CHECK(m.warnings[0] == file +
                             ":6: document 1 (io.statefun.endpoints.v2/http): field "
                             "spec.maxNumBatchRequest is not read by the runtime (ignored; did "
                             "you mean maxNumBatchRequests?)");
  CHECK(m.warnings[1] == file +
                             ":7: document 1 (io.statefun.endpoints.v2/http): field "
                             "spec.timeouts is not read by the runtime (ignored: in "
                             "io.statefun.endpoints.v2/http, timeouts go under transport)");
  CHECK(m.warnings[2] == file +
                             ":11: document 1 (io.statefun.endpoints.v2/http): field "
                             "spec.transport.pool_sizes is not read by the async transport "
                             "(ignored; did you mean pool_size?)");

  SUBCASE("the example of the brief: a misspelt urlPathTemplate next to the right one") {
    const auto w = local::parse_module(v2_endpoint("  urlPathTemplte: http://x/\n")).warnings;
    REQUIRE(w.size() == 1);
    CHECK(w[0] ==
          "module.yaml:5: document 1 (io.statefun.endpoints.v2/http): field "
          "spec.urlPathTemplte is not read by the runtime (ignored; did you mean "
          "urlPathTemplate?)");
  }
  SUBCASE("v1's old maxRetries and a stray top-level key") {
    const auto w =
        local::parse_module(v1_endpoint("  maxRetries: 5\n") + "metadata: {}\n").warnings;
    REQUIRE(w.size() == 2);
    CHECK(w[0] ==
          "module.yaml:6: document 1 (io.statefun.endpoints.v1/http): field metadata "
          "is not read by the runtime (ignored)");
    CHECK(w[1] ==
          "module.yaml:5: document 1 (io.statefun.endpoints.v1/http): field "
          "spec.maxRetries is not read by the runtime (ignored)");
  }
  SUBCASE("a key given twice: the runtime reads the last one") {
    const auto m2 =
        local::parse_module(v2_endpoint("  maxNumBatchRequests: 1\n  maxNumBatchRequests: 2\n"));
    CHECK(m2.endpoints.at(0).max_num_batch_requests == 2);
    REQUIRE(m2.warnings.size() == 1);
    CHECK(contains(m2.warnings[0],
                   "module.yaml:6: document 1 (io.statefun.endpoints.v2/http): field "
                   "spec.maxNumBatchRequests is given twice (lines 5 and 6); the "
                   "runtime reads the last one"));
  }
  SUBCASE("a v1 endpoint's transport") {
    const auto w =
        local::parse_module(v1_endpoint("  transport: {type: io.statefun.transports.v1/async}\n"))
            .warnings;
    REQUIRE(w.size() == 1);
    CHECK(contains(w[0],
                   "field spec.transport is not read by the runtime (ignored: "
                   "io.statefun.endpoints.v1/http always uses the okhttp transport"));
  }
  SUBCASE("keys of the other transport") {
    const auto okhttp =
        local::parse_module(v2_transport("    type: io.statefun.transports.v1/okhttp\n"
                                         "    call: 5 s\n"
                                         "    pool_size: 3\n"));
    REQUIRE(okhttp.warnings.size() == 2);
    CHECK(okhttp.endpoints.at(0).call == 1min);
    CHECK(contains(okhttp.warnings[0],
                   "field spec.transport.call is not read by the okhttp "
                   "transport (ignored: the okhttp transport reads timeouts.call)"));
    CHECK(contains(okhttp.warnings[1],
                   "field spec.transport.pool_size is not read by the okhttp "
                   "transport (ignored: an async transport setting)"));
    const auto async = local::parse_module(v2_transport("    timeouts: {call: 5 s, read: 1 s}\n"));
    REQUIRE(async.warnings.size() == 1);
    CHECK(contains(async.warnings[0],
                   "field spec.transport.timeouts.read is not read by the async "
                   "transport (ignored: the async transport has no read timeout"));
  }
  SUBCASE("extra keys in a properties entry") {
    const auto w =
        local::parse_module(kafka_ingress("  properties:\n    - {a: 1, b: 2}\n")).warnings;
    REQUIRE(w.size() == 1);
    CHECK(contains(w[0],
                   "field spec.properties[0].b is not read by the runtime (ignored: only the "
                   "first key of each properties entry is read"));
  }
  SUBCASE("a topic listed twice: the runtime keeps the last entry") {
    const auto m2 =
        local::parse_module(kafka_ingress("    - topic: names\n"
                                          "      valueType: a/Other\n"
                                          "      targets: [a/other]\n"));
    REQUIRE(m2.ingresses.at(0).routes.size() == 1);
    CHECK(m2.ingresses[0].routes[0].value_type == "a/Other");
    REQUIRE(m2.warnings.size() == 1);
    CHECK(contains(m2.warnings[0],
                   "module.yaml:9: document 1 (io.statefun.kafka.v1/ingress): field "
                   "spec.topics[1].topic names 'names' again; the runtime keeps only "
                   "this entry and drops the one at spec.topics[0].topic"));
  }
  SUBCASE("transaction timeouts that are not read") {
    const auto both = local::parse_module(
        "kind: io.statefun.kafka.v1/egress\nspec:\n  id: a/b\n  deliverySemantic:\n"
        "    type: exactly-once\n    transactionTimeout: 1 min\n    transactionTimeoutMillis: "
        "60000\n");
    REQUIRE(both.warnings.size() == 1);
    CHECK(contains(both.warnings[0],
                   "field spec.deliverySemantic.transactionTimeout is not read by "
                   "the runtime (ignored: spec.deliverySemantic.transactionTimeoutMillis "
                   "is present and takes priority)"));
    const auto at_least_once = local::parse_module(
        "kind: io.statefun.kafka.v1/egress\nspec:\n  id: a/b\n  deliverySemantic:\n"
        "    type: at-least-once\n    transactionTimeout: 1 min\n");
    REQUIRE(at_least_once.warnings.size() == 1);
    CHECK(contains(at_least_once.warnings[0], "only exactly-once has a transaction timeout"));
  }
}

TEST_CASE(
    "rule 9: TLS settings on an okhttp endpoint are ignored with a warning, as the runtime ignores "
    "them") {
  const std::string url = "https://fn.example.com/statefun";
  SUBCASE("a v2 endpoint on okhttp") {
    const auto m =
        local::parse_module(v2_transport("    type: io.statefun.transports.v1/okhttp\n"
                                         "    trust_cacerts: /tls/ca.pem\n",
                                         url));
    CHECK(m.endpoints.at(0).tls.empty());
    REQUIRE(m.warnings.size() == 1);
    CHECK(m.warnings[0] ==
          "module.yaml:7: document 1 (io.statefun.endpoints.v2/http): field "
          "spec.transport.trust_cacerts is not read by the okhttp transport (ignored: the okhttp "
          "transport has no StateFun TLS settings; it trusts the system's CAs and sends no client "
          "certificate. Use transport.type: io.statefun.transports.v1/async for these)");
  }
  SUBCASE("a v1 endpoint, which is always okhttp") {
    const auto m = local::parse_module(
        v1_endpoint("  client_cert: /tls/c.pem\n  client_key: /tls/k.pem\n", url));
    CHECK(m.endpoints.at(0).tls.empty());
    CHECK(warnings_with(m, "the okhttp transport has no StateFun TLS settings").size() == 2);
  }
  SUBCASE("TLS settings on an http URL are not used either") {
    const auto m = local::parse_module(v2_transport("    trust_cacerts: /tls/ca.pem\n"));
    REQUIRE(m.warnings.size() == 1);
    CHECK(contains(m.warnings[0],
                   "field spec.urlPathTemplate is not https, so the runtime reads "
                   "none of the endpoint's TLS settings"));
  }
  SUBCASE("a key password without a key") {
    const auto m = local::parse_module(v2_transport("    client_key_password: /tls/pw\n", url));
    CHECK(m.endpoints.at(0).tls.client_key_password.empty());
    CHECK(warnings_with(m, "(ignored: there is no client_key)").size() == 1);
  }
}
