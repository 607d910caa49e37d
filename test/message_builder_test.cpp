#include <statefun/message_builder.hpp>

#include <statefun/json.hpp>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "support/doctest.hpp"
#include "support/values.hpp"

using namespace std::string_literals;
using namespace std::string_view_literals;
using statefun::message_to;

namespace {

using statefun::test::user;

template <class Builder>
concept value_on_lvalue = requires(Builder& b) {
  b.value(1);
};

}  // namespace


// A builder is used once: value() consumes it.
static_assert(!value_on_lvalue<statefun::message_builder>);

// Expected bytes below are the messenger case of test/data/vectors.md.

TEST_CASE("message_to(target).value(v) addresses the target") {
  const auto m = message_to({"vec/counter", "x"}).value("hi");
  CHECK(m.target().type.str() == "vec/counter");
  CHECK(m.target().id == "x");
  CHECK(m.target() == statefun::address{"vec/counter", "x"});
}

TEST_CASE("a string literal travels as an io.statefun.types/string") {
  const auto m = message_to({"vec/counter", "x"}).value("hi");
  CHECK(m.value_type() == "io.statefun.types/string");
  CHECK(m.value() == "\n\002hi"sv);

  SUBCASE("an empty literal is an empty string, no bytes") {
    const auto empty = message_to({"vec/counter", "x"}).value("");
    CHECK(empty.value_type() == "io.statefun.types/string");
    CHECK(empty.value().empty());
  }
  SUBCASE("a const char* pointer") {
    const char* text = "later";
    const auto p = message_to({"vec/counter", "x"}).value(text);
    CHECK(p.value_type() == "io.statefun.types/string");
    CHECK(p.value() == "\n\005later"sv);
  }
}

TEST_CASE("a std::string and a std::string_view travel as strings") {
  const std::string text = "later";
  const auto a = message_to({"vec/counter", "x"}).value(text);
  CHECK(a.value_type() == "io.statefun.types/string");
  CHECK(a.value() == "\n\005later"sv);

  const auto b =
      message_to({"vec/counter", "x"}).value(std::string_view("h\xc3\xa9llo \xe2\x9c\x93"));
  CHECK(b.value_type() == "io.statefun.types/string");
  CHECK(b.value() == "\n\nh\303\251llo \342\234\223"sv);
}

TEST_CASE("the message owns its bytes: the source string may go away") {
  auto make = [] {
    std::string text(100, 'z');
    return message_to({"vec/counter", "x"}).value(text);
  };
  const auto m = make();
  REQUIRE(m.value().size() == 102);
  CHECK(m.value().substr(0, 2) == "\n\144"sv);
  CHECK(m.value().substr(2) == std::string(100, 'z'));
}

TEST_CASE("integers travel as int or long by their C++ type") {
  SUBCASE("an int literal is an io.statefun.types/int") {
    const auto m = message_to({"vec/counter", "y"}).value(42);
    CHECK(m.value_type() == "io.statefun.types/int");
    CHECK(m.value() == "\r*\000\000\000"sv);
  }
  SUBCASE("an int32 of 7") {
    const auto m = message_to({"vec/counter", "x"}).value(std::int32_t{7});
    CHECK(m.value() == "\r\007\000\000\000"sv);
  }
  SUBCASE("an int64 is an io.statefun.types/long") {
    const auto m = message_to({"vec/counter", "y"}).value(std::int64_t{-1});
    CHECK(m.value_type() == "io.statefun.types/long");
    CHECK(m.value() == "\t\377\377\377\377\377\377\377\377"sv);
  }
  SUBCASE("zero is no bytes") {
    const auto m = message_to({"vec/counter", "y"}).value(0);
    CHECK(m.value_type() == "io.statefun.types/int");
    CHECK(m.value().empty());
  }
}

TEST_CASE("bool, float and double travel as their wrapper types") {
  CHECK(message_to({"a/b", "c"}).value(true).value_type() == "io.statefun.types/bool");
  CHECK(message_to({"a/b", "c"}).value(true).value() == "\010\001"sv);
  CHECK(message_to({"a/b", "c"}).value(1.5f).value_type() == "io.statefun.types/float");
  CHECK(message_to({"a/b", "c"}).value(1.5f).value() == "\r\000\000\300?"sv);
  CHECK(message_to({"a/b", "c"}).value(-0.25).value_type() == "io.statefun.types/double");
  CHECK(message_to({"a/b", "c"}).value(-0.25).value() == "\t\000\000\000\000\000\000\320\277"sv);
}

TEST_CASE("a JSON type travels as JSON text under its own type name") {
  const auto m = message_to({"vec/counter", "z"}).value(user{"bo", 3});
  CHECK(m.value_type() == "vec/User");
  CHECK(nlohmann::json::parse(m.value()) ==
        nlohmann::json::parse(R"({"name": "bo", "credit": 3})"));
  const user back = statefun::type<user>::decode(m.value());
  CHECK(back.name == "bo");
  CHECK(back.credit == 3);
}

TEST_CASE("raw_value sends bytes already encoded, under the type name given") {
  const auto m = message_to({"vec/counter", "x"}).raw_value("vec/Blob", std::string("\0\1\2", 3));
  CHECK(m.value_type() == "vec/Blob");
  CHECK(m.value() == "\000\001\002"sv);

  SUBCASE("the message owns the type name even when the caller's is gone") {
    auto make = [] {
      const statefun::type_name name{"some.long.namespace.that.defeats.sso/and.a.long.name"};
      return message_to({"vec/counter", "x"}).raw_value(name, "abc");
    };
    const auto owned = make();
    CHECK(owned.value_type() == "some.long.namespace.that.defeats.sso/and.a.long.name");
    CHECK(owned.value() == "abc");
  }
  SUBCASE("a built-in type name with hand-made bytes") {
    const auto i =
        message_to({"vec/counter", "x"}).raw_value("io.statefun.types/int", "\r*\0\0\0"s);
    CHECK(i.value_type() == "io.statefun.types/int");
    CHECK(i.value() == "\r*\000\000\000"sv);
  }
}

TEST_CASE("an invalid type name is refused at the call site") {
  CHECK_THROWS_AS((void)message_to({"vec/counter", "x"}).raw_value("no-slash", "x"),
                  std::invalid_argument);
  CHECK_THROWS_AS((void)message_to({"vec/counter", "x"}).raw_value("a/b/c", "x"),
                  std::invalid_argument);
  CHECK_THROWS_AS((void)message_to({"counter", "x"}), std::invalid_argument);
  CHECK_THROWS_AS((void)message_to({"vec/counter/x", "y"}), std::invalid_argument);
}

// nullptr converts to const char*, so without a guard `value(nullptr)` would be "sent as" a
// string and build a std::string_view from a null pointer. It must not compile.
TEST_CASE("nullptr is not a value that can be sent") {
  CHECK_FALSE(statefun::detail::sendable<std::nullptr_t>);
}
