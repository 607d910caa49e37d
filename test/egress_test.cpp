#include <statefun/egress.hpp>

#include <statefun/json.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/doctest.hpp"
#include "support/text.hpp"
#include "support/values.hpp"

using namespace std::string_view_literals;
using statefun::egress_to;
using statefun::kafka_egress;
using statefun::kinesis_egress;
using statefun_test::contains;

namespace {

using statefun::test::user;

constexpr auto kafka_record_type =
    "type.googleapis.com/io.statefun.sdk.egress.KafkaProducerRecord"sv;
constexpr auto kinesis_record_type =
    "type.googleapis.com/io.statefun.sdk.egress.KinesisEgressRecord"sv;

/// The value_bytes of a Kafka record (topic "t", no key) carrying `value`.
template <class V>
std::string kafka_value_bytes(const V& value) {
  const auto record = kafka_egress{"vec/kafka"}.topic("t").value(value);
  const std::string_view bytes = record.value();
  // Field 2 (12 LEN ...) then field 3 (1a 01 74): only short values are used here.
  REQUIRE(bytes.size() >= 3);
  REQUIRE(bytes.substr(bytes.size() - 3) == "\032\001t"sv);
  if (bytes.size() == 3) {
    return {};
  }
  REQUIRE(bytes.size() >= 5);
  REQUIRE(bytes[0] == '\022');
  REQUIRE(static_cast<unsigned char>(bytes[1]) == bytes.size() - 5);
  return std::string(bytes.substr(2, bytes.size() - 5));
}

}  // namespace

// Expected records below are the messenger case of test/data/vectors.md, unless said otherwise.

TEST_CASE("the record type names are exactly the ones the runtime's egresses compare with") {
  CHECK(kafka_egress::record_type == kafka_record_type);
  CHECK(kinesis_egress::record_type == kinesis_record_type);
}

// --- Kafka -----------------------------------------------------------------------------------

TEST_CASE("a Kafka record with a key and a string value matches the reference SDK byte for byte") {
  const auto m = kafka_egress{"vec/kafka"}.topic("out").key("k").value("a string");
  CHECK(m.egress().str() == "vec/kafka");
  CHECK(m.egress().namespace_name() == "vec");
  CHECK(m.egress().name() == "kafka");
  CHECK(m.value_type() == kafka_record_type);
  CHECK(m.value() == "\n\001k\022\010a string\032\003out"sv);
}

TEST_CASE("a Kafka record's setters may come in any order") {
  const auto m = kafka_egress{"vec/kafka"}.key("k").topic("out").value(std::string("a string"));
  CHECK(m.value() == "\n\001k\022\010a string\032\003out"sv);
}

TEST_CASE("a Kafka record without a key leaves the key out, which means a null key") {
  SUBCASE("no key given") {
    const auto m = kafka_egress{"vec/kafka"}.topic("ints").value(std::int32_t{258});
    CHECK(m.value() == "\022\004\000\000\001\002\032\004ints"sv);
  }
  SUBCASE("an empty key given") {
    const auto m = kafka_egress{"vec/kafka"}.topic("ints").key("").value(258);
    CHECK(m.value() == "\022\004\000\000\001\002\032\004ints"sv);
  }
}

TEST_CASE("Kafka values that are strings travel as their UTF-8 bytes, not as a StringWrapper") {
  SUBCASE("a literal") { CHECK(kafka_value_bytes("hi") == "hi"); }
  SUBCASE("a std::string") {
    CHECK(kafka_value_bytes(std::string("h\xc3\xa9llo")) == "h\xc3\xa9llo");
  }
  SUBCASE("a std::string_view") {
    CHECK(kafka_value_bytes(std::string_view("\xe2\x9c\x93")) == "\xe2\x9c\x93");
  }
  SUBCASE("an embedded NUL is kept") {
    CHECK(kafka_value_bytes(std::string("a\0b", 3)) == std::string("a\0b", 3));
  }
  SUBCASE("an empty string leaves value_bytes out") {
    const auto m = kafka_egress{"vec/kafka"}.topic("out").value("");
    CHECK(m.value() == "\032\003out"sv);
  }
}

TEST_CASE("Kafka values that are bytes travel as they are") {
  SUBCASE("a span of const std::byte") {
    const std::array<std::byte, 3> raw{std::byte{0x00}, std::byte{0xff}, std::byte{0x0a}};
    CHECK(kafka_value_bytes(std::span<const std::byte>(raw)) == "\000\377\n"sv);
  }
  SUBCASE("a std::vector<std::byte>") {
    const std::vector<std::byte> raw{std::byte{0x80}, std::byte{0x01}};
    CHECK(kafka_value_bytes(raw) == "\200\001"sv);
  }
  SUBCASE("a std::array<std::byte, N>") {
    const std::array<std::byte, 2> raw{std::byte{0x00}, std::byte{0x01}};
    CHECK(kafka_value_bytes(raw) == "\000\001"sv);
  }
}

TEST_CASE(
    "Kafka int32 and int64 values are big-endian, as Kafka's Integer/LongSerializer write them") {
  SUBCASE("int32") {
    CHECK(kafka_value_bytes(std::int32_t{258}) == "\000\000\001\002"sv);
    CHECK(kafka_value_bytes(std::int32_t{0}) == "\000\000\000\000"sv);
    CHECK(kafka_value_bytes(std::int32_t{-1}) == "\377\377\377\377"sv);
    CHECK(kafka_value_bytes(std::numeric_limits<std::int32_t>::min()) == "\200\000\000\000"sv);
    CHECK(kafka_value_bytes(std::numeric_limits<std::int32_t>::max()) == "\177\377\377\377"sv);
  }
  SUBCASE("int64") {
    CHECK(kafka_value_bytes(std::int64_t{(std::int64_t{1} << 40) + 3}) ==
          "\000\000\001\000\000\000\000\003"sv);
    CHECK(kafka_value_bytes(std::int64_t{0}) == "\000\000\000\000\000\000\000\000"sv);
    CHECK(kafka_value_bytes(std::numeric_limits<std::int64_t>::min()) ==
          "\200\000\000\000\000\000\000\000"sv);
    CHECK(kafka_value_bytes(std::int64_t{-2}) == "\377\377\377\377\377\377\377\376"sv);
  }
}

TEST_CASE(
    "Kafka float and double values are big-endian IEEE-754, as Kafka's serializers write them") {
  SUBCASE("float") {
    CHECK(kafka_value_bytes(1.5f) == "\077\300\000\000"sv);
    CHECK(kafka_value_bytes(-0.0f) == "\200\000\000\000"sv);
    CHECK(kafka_value_bytes(0.0f) == "\000\000\000\000"sv);
  }
  SUBCASE("double, as in the vector") {
    const auto m = kafka_egress{"vec/kafka"}.topic("doubles").key("d").value(2.5);
    CHECK(m.value() == "\n\001d\022\010@\004\000\000\000\000\000\000\032\007doubles"sv);
  }
  SUBCASE("double edge values") {
    CHECK(kafka_value_bytes(-0.0) == "\200\000\000\000\000\000\000\000"sv);
    CHECK(kafka_value_bytes(std::numeric_limits<double>::infinity()) ==
          "\177\360\000\000\000\000\000\000"sv);
  }
}

TEST_CASE("a Kafka record with a JSON value carries the JSON text") {
  const auto m = kafka_egress{"vec/kafka"}.topic("typed").value(user{"cy", 1});
  CHECK(m.value_type() == kafka_record_type);
  // "\022" LEN json "\032\005typed": the JSON text is compared as JSON.
  const std::string_view bytes = m.value();
  REQUIRE(bytes.size() > 9);
  CHECK(bytes[0] == '\022');
  const auto length = static_cast<unsigned char>(bytes[1]);
  REQUIRE(bytes.size() == 2 + length + 7u);
  CHECK(bytes.substr(2 + length) == "\032\005typed"sv);
  CHECK(nlohmann::json::parse(bytes.substr(2, length)) ==
        nlohmann::json::parse(R"({"name": "cy", "credit": 1})"));
}

TEST_CASE("a Kafka record needs a topic") {
  SUBCASE("no topic given") {
    try {
      (void)kafka_egress{"vec/kafka"}.key("k").value("v");
      FAIL("no exception");
    } catch (const std::invalid_argument& e) {
      CHECK(contains(e.what(), "'vec/kafka'"));
      CHECK(contains(e.what(), "topic"));
    }
  }
  SUBCASE("an empty topic given") {
    CHECK_THROWS_AS((void)kafka_egress{"vec/kafka"}.topic("").value("v"), std::invalid_argument);
  }
}

// --- Kinesis ---------------------------------------------------------------------------------

TEST_CASE("a Kinesis record with an explicit hash key matches the reference SDK byte for byte") {
  const auto m = kinesis_egress{"vec/kinesis"}
                     .stream("s1")
                     .partition_key("p")
                     .explicit_hash_key("123")
                     .value("v");
  CHECK(m.egress().str() == "vec/kinesis");
  CHECK(m.value_type() == kinesis_record_type);
  CHECK(m.value() == "\n\001p\022\001v\032\002s1\"\003123"sv);
}

TEST_CASE("a Kinesis record without an explicit hash key leaves it out") {
  const std::array<std::byte, 2> raw{std::byte{0x00}, std::byte{0x01}};
  const auto m = kinesis_egress{"vec/kinesis"}.partition_key("p2").stream("s2").value(
      std::span<const std::byte>(raw));
  CHECK(m.value_type() == kinesis_record_type);
  CHECK(m.value() == "\n\002p2\022\002\000\001\032\002s2"sv);
}

TEST_CASE("Kinesis values are encoded as Kafka's are") {
  const auto m =
      kinesis_egress{"vec/kinesis"}.stream("s").partition_key("p").value(std::int64_t{1});
  CHECK(m.value() == "\n\001p\022\010\000\000\000\000\000\000\000\001\032\001s"sv);
}

TEST_CASE("a Kinesis record with an empty partition key is refused, naming the egress") {
  SUBCASE("none given") {
    try {
      (void)kinesis_egress{"vec/kinesis"}.stream("s1").value("v");
      FAIL("no exception");
    } catch (const std::invalid_argument& e) {
      CHECK(contains(e.what(), "'vec/kinesis'"));
      CHECK(contains(e.what(), "partition key"));
    }
  }
  SUBCASE("an empty one given") {
    CHECK_THROWS_AS((void)kinesis_egress{"vec/kinesis"}.stream("s1").partition_key("").value("v"),
                    std::invalid_argument);
  }
}

TEST_CASE("a Kinesis record with an empty stream is refused, naming the egress") {
  SUBCASE("none given") {
    try {
      (void)kinesis_egress{"vec/kinesis"}.partition_key("p").value("v");
      FAIL("no exception");
    } catch (const std::invalid_argument& e) {
      CHECK(contains(e.what(), "'vec/kinesis'"));
      CHECK(contains(e.what(), "stream"));
    }
  }
  SUBCASE("an empty one given") {
    CHECK_THROWS_AS((void)kinesis_egress{"vec/kinesis"}.stream("").partition_key("p").value("v"),
                    std::invalid_argument);
  }
}

// --- Any egress ------------------------------------------------------------------------------

TEST_CASE("egress_to(id).value(v) sends a typed value in its StateFun encoding") {
  SUBCASE("a JSON type, as in the vector") {
    const auto m = egress_to("vec/generic").value(user{"di", 0});
    CHECK(m.egress().str() == "vec/generic");
    CHECK(m.value_type() == "vec/User");
    CHECK(nlohmann::json::parse(m.value()) ==
          nlohmann::json::parse(R"({"name": "di", "credit": 0})"));
    CHECK(statefun::type<user>::decode(m.value()).name == "di");
  }
  SUBCASE("an int is an IntWrapper here, not Kafka's big-endian") {
    const auto m = egress_to("vec/generic").value(258);
    CHECK(m.value_type() == "io.statefun.types/int");
    CHECK(m.value() == "\r\002\001\000\000"sv);
  }
  SUBCASE("a string literal is a StringWrapper here") {
    const auto m = egress_to("vec/generic").value("hi");
    CHECK(m.value_type() == "io.statefun.types/string");
    CHECK(m.value() == "\n\002hi"sv);
  }
  SUBCASE("raw bytes under a chosen type name") {
    const auto m = egress_to("vec/generic").raw_value("vec/Blob", "\001\002");
    CHECK(m.value_type() == "vec/Blob");
    CHECK(m.value() == "\001\002"sv);
  }
}

TEST_CASE("an egress id that is not namespace/name is refused") {
  CHECK_THROWS_AS((void)egress_to("generic"), std::invalid_argument);
  CHECK_THROWS_AS((void)kafka_egress{"vec/kafka/x"}, std::invalid_argument);
  CHECK_THROWS_AS((void)kinesis_egress{"/kinesis"}, std::invalid_argument);
  CHECK_THROWS_AS((void)egress_to("vec/generic").raw_value("bad", "x"), std::invalid_argument);
}

// As in message_builder_test.cpp: a null pointer is no string and must not compile as a value.
TEST_CASE("nullptr is not a record value") {
  CHECK_FALSE(statefun::detail::record_value<std::nullptr_t>);
}
