#include <statefun/message.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "support/doctest.hpp"
#include "support/text.hpp"

using namespace std::string_view_literals;
using statefun::message;
using statefun_test::contains;

namespace {

// Payloads written out from test/data/vectors.md.
constexpr auto int_42 = "\r*\000\000\000"sv;
constexpr auto string_hello = "\n\005hello"sv;

}  // namespace

TEST_CASE("a message exposes its type name and raw bytes as sent") {
  const message m{"io.statefun.types/int", int_42, true};
  CHECK(m.type_name() == "io.statefun.types/int");
  CHECK(m.raw_value() == int_42);
  CHECK(m.raw_value().data() == int_42.data());
  CHECK(m.has_value());
}

TEST_CASE("is<T> is true exactly for the type whose name the message carries") {
  const message m{"io.statefun.types/int", int_42, true};
  CHECK(m.is<std::int32_t>());
  CHECK_FALSE(m.is<std::int64_t>());
  CHECK_FALSE(m.is<float>());
  CHECK_FALSE(m.is<std::string>());
  CHECK_FALSE(m.is<bool>());

  SUBCASE("std::string and std::string_view share the string type") {
    const message s{"io.statefun.types/string", string_hello, true};
    CHECK(s.is<std::string>());
    CHECK(s.is<std::string_view>());
    CHECK_FALSE(s.is<std::int32_t>());
  }
}

TEST_CASE("as<T> decodes the value as the type it was sent as") {
  SUBCASE("int") { CHECK(message{"io.statefun.types/int", int_42, true}.as<std::int32_t>() == 42); }
  SUBCASE("long") {
    const message m{"io.statefun.types/long", "\t\003\000\000\000\000\001\000\000"sv, true};
    CHECK(m.as<std::int64_t>() == (std::int64_t{1} << 40) + 3);
  }
  SUBCASE("float") {
    CHECK(message{"io.statefun.types/float", "\r\000\000\300?"sv, true}.as<float>() == 1.5f);
  }
  SUBCASE("double") {
    const message m{"io.statefun.types/double", "\t\000\000\000\000\000\000\320\277"sv, true};
    CHECK(m.as<double>() == -0.25);
  }
  SUBCASE("bool") {
    CHECK(message{"io.statefun.types/bool", "\010\001"sv, true}.as<bool>() == true);
    CHECK(message{"io.statefun.types/bool", ""sv, true}.as<bool>() == false);
  }
  SUBCASE("string") {
    CHECK(message{"io.statefun.types/string", string_hello, true}.as<std::string>() == "hello");
  }
  SUBCASE("a zero value sent as no bytes, with has_value true") {
    CHECK(message{"io.statefun.types/int", ""sv, true}.as<std::int32_t>() == 0);
  }
}

TEST_CASE("as<std::string_view> is a view into the message's bytes") {
  const std::string request_bytes(string_hello);
  const message m{"io.statefun.types/string", request_bytes, true};
  const std::string_view v = m.as<std::string_view>();
  CHECK(v == "hello");
  CHECK(v.data() == request_bytes.data() + 2);
}

TEST_CASE("as<T> on a message of another type throws type_mismatch naming both type names") {
  const message m{"io.statefun.types/int", int_42, true};

  SUBCASE("int read as long") {
    try {
      (void)m.as<std::int64_t>();
      FAIL("no exception");
    } catch (const statefun::type_mismatch& e) {
      CHECK(contains(e.what(), "'io.statefun.types/int'"));
      CHECK(contains(e.what(), "'io.statefun.types/long'"));
    }
  }
  SUBCASE("int read as float, though the bytes would decode") {
    CHECK_THROWS_AS((void)m.as<float>(), statefun::type_mismatch);
  }
  SUBCASE("a user type read as string") {
    const message user{"vec/User", R"({"name":"ann"})"sv, true};
    try {
      (void)user.as<std::string>();
      FAIL("no exception");
    } catch (const statefun::type_mismatch& e) {
      CHECK(contains(e.what(), "'vec/User'"));
      CHECK(contains(e.what(), "'io.statefun.types/string'"));
    }
  }
}

TEST_CASE("a message with no value is exposed, and as<T> on it throws logic_error") {
  const message m{"io.statefun.types/int", ""sv, false};
  CHECK_FALSE(m.has_value());
  CHECK(m.is<std::int32_t>());
  CHECK(m.raw_value().empty());
  CHECK_THROWS_AS((void)m.as<std::int32_t>(), std::logic_error);
  try {
    (void)m.as<std::int32_t>();
  } catch (const std::logic_error& e) {
    CHECK(contains(e.what(), "io.statefun.types/int"));
    CHECK(contains(e.what(), "no value"));
  }
}

TEST_CASE("a default message has no type and no value") {
  const message m;
  CHECK(m.type_name().empty());
  CHECK(m.raw_value().empty());
  CHECK_FALSE(m.has_value());
  CHECK_FALSE(m.is<std::string>());
  CHECK_THROWS_AS((void)m.as<std::string>(), statefun::type_mismatch);
}

TEST_CASE("as<T> on malformed bytes of the right type throws decode_error") {
  const message m{"io.statefun.types/int", "\r\001\002"sv, true};
  CHECK(m.is<std::int32_t>());
  CHECK_THROWS_AS((void)m.as<std::int32_t>(), statefun::decode_error);
}

TEST_CASE("a message is usable in constant expressions") {
  constexpr message m{"io.statefun.types/int", "\r\001\000\000\000"sv, true};
  static_assert(m.type_name() == "io.statefun.types/int");
  static_assert(m.has_value());
  static_assert(m.raw_value().size() == 5);
  CHECK(m.as<std::int32_t>() == 1);
}
