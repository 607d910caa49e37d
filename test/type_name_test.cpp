#include <statefun/type_name.hpp>

#include <statefun/address.hpp>

#include <compare>
#include <concepts>
#include <functional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_set>

#include "support/doctest.hpp"
#include "support/text.hpp"

using statefun::type_name;
using statefun_test::contains;

namespace {

/// The message of the std::invalid_argument that constructing a type_name from `text` throws.
std::string refusal(std::string_view text) {
  try {
    (void)type_name{text};
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(accepted)";
}

template <class B>
concept comparable_with_type_name = requires(const type_name& a, const B& b) {
  { a == b } -> std::convertible_to<bool>;
  { a != b } -> std::convertible_to<bool>;
  { b == a } -> std::convertible_to<bool>;
};

}  // namespace

// The rule is usable at compile time.
static_assert(type_name::is_valid("a/b"));
static_assert(type_name::is_valid("io.statefun.types/int"));
static_assert(!type_name::is_valid("a/b/c"));
static_assert(!type_name::is_valid(""));
static_assert(type_name::problem("ns/name").empty());

TEST_CASE("a type name splits into namespace and name at its '/'") {
  SUBCASE("a simple name") {
    const type_name t{"example/greeter"};
    CHECK(t.namespace_name() == "example");
    CHECK(t.name() == "greeter");
    CHECK(t.str() == "example/greeter");
    CHECK(std::string_view(t) == "example/greeter");
  }
  SUBCASE("dots and dashes belong to the parts") {
    const type_name t{"io.statefun.types/int"};
    CHECK(t.namespace_name() == "io.statefun.types");
    CHECK(t.name() == "int");
  }
  SUBCASE("one-character parts") {
    const type_name t{"a/b"};
    CHECK(t.namespace_name() == "a");
    CHECK(t.name() == "b");
  }
  SUBCASE("a protobuf type name") {
    const type_name t{"type.googleapis.com/io.statefun.sdk.egress.KafkaProducerRecord"};
    CHECK(t.namespace_name() == "type.googleapis.com");
    CHECK(t.name() == "io.statefun.sdk.egress.KafkaProducerRecord");
  }
  SUBCASE("non-ASCII and spaces are not the SDK's business") {
    const type_name t{"caf\xc3\xa9 ns/my name"};
    CHECK(t.namespace_name() == "caf\xc3\xa9 ns");
    CHECK(t.name() == "my name");
  }
}

TEST_CASE("a type name is accepted from a C string, a std::string or a string_view") {
  const std::string text = "vec/counter";
  const type_name from_literal = "vec/counter";
  const type_name from_string{text};
  const type_name from_view{std::string_view(text)};
  CHECK(from_literal.str() == "vec/counter");
  CHECK(from_string.str() == "vec/counter");
  CHECK(from_view.str() == "vec/counter");
}

TEST_CASE("a type name without exactly two non-empty parts is refused") {
  struct refused_case {
    const char* text;
    const char* why;
  };
  const refused_case cases[] = {
      {"", "has no '/'"},
      {"noslash", "has no '/'"},
      {"/name", "has an empty namespace"},
      {"ns/", "has an empty name"},
      {"/", "has an empty namespace"},
      {"//", "has an empty name"},
      {"a/b/c", "has more than one '/'"},
      {"a//b", "has more than one '/'"},
      {"/a/b", "has more than one '/'"},
      {"a/b/", "has an empty name"},
      {"io.statefun.types/int/extra", "has more than one '/'"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    CHECK_FALSE(type_name::is_valid(c.text));
    CHECK(contains(type_name::problem(c.text), c.why));
    CHECK_THROWS_AS(type_name{c.text}, std::invalid_argument);
    CHECK_THROWS_AS(type_name::check(c.text), std::invalid_argument);
  }
}

TEST_CASE("the refusal of a bad type name names the value") {
  SUBCASE("two slashes") {
    const std::string what = refusal("shop/cart/v2");
    CHECK(contains(what, "'shop/cart/v2'"));
    CHECK(contains(what, "more than one '/'"));
  }
  SUBCASE("no slash") {
    const std::string what = refusal("greeter");
    CHECK(contains(what, "'greeter'"));
    CHECK(contains(what, "no '/'"));
  }
  SUBCASE("empty") { CHECK(contains(refusal(""), "''")); }
}

TEST_CASE("a type name is built from its two parts, each checked") {
  const type_name t{"example", "greeter"};
  CHECK(t.str() == "example/greeter");
  CHECK(t.namespace_name() == "example");
  CHECK(t.name() == "greeter");

  SUBCASE("an empty namespace") {
    CHECK_THROWS_AS(type_name("", "greeter"), std::invalid_argument);
  }
  SUBCASE("an empty name") { CHECK_THROWS_AS(type_name("example", ""), std::invalid_argument); }
  SUBCASE("a '/' in the namespace") {
    CHECK_THROWS_AS(type_name("a/b", "c"), std::invalid_argument);
  }
  SUBCASE("a '/' in the name") { CHECK_THROWS_AS(type_name("a", "b/c"), std::invalid_argument); }
}

TEST_CASE("try_assign replaces a type name only with a valid one") {
  type_name t{"old/value"};

  SUBCASE("valid parts replace both") {
    CHECK(t.try_assign("io.statefun.types", "long"));
    CHECK(t.str() == "io.statefun.types/long");
    CHECK(t.namespace_name() == "io.statefun.types");
    CHECK(t.name() == "long");
  }
  SUBCASE("a shorter value after a longer one splits correctly") {
    CHECK(t.try_assign("a", "b"));
    CHECK(t.namespace_name() == "a");
    CHECK(t.name() == "b");
  }
  SUBCASE("invalid parts leave the value unchanged") {
    CHECK_FALSE(t.try_assign("", "x"));
    CHECK_FALSE(t.try_assign("x", ""));
    CHECK_FALSE(t.try_assign("a/b", "c"));
    CHECK_FALSE(t.try_assign("a", "b/c"));
    CHECK(t.str() == "old/value");
    CHECK(t.namespace_name() == "old");
    CHECK(t.name() == "value");
  }
}

TEST_CASE("type names compare by their text") {
  const type_name a{"a/b"};
  const type_name a2{"a", "b"};
  const type_name c{"a/c"};
  const type_name z{"b/a"};

  CHECK(a == a2);
  CHECK(a != c);
  CHECK(a < c);
  CHECK(c < z);
  CHECK((a <=> a2) == std::strong_ordering::equal);
  CHECK((a <=> c) == std::strong_ordering::less);
  CHECK((z <=> a) == std::strong_ordering::greater);

  SUBCASE("against a string_view, either way round") {
    CHECK(a == std::string_view("a/b"));
    CHECK(std::string_view("a/b") == a);
    CHECK(a != std::string_view("a/c"));
    CHECK(std::string_view("not a type name") != a);
  }
  SUBCASE("ordered containers") {
    const std::set<type_name> names{z, c, a, a2};
    REQUIRE(names.size() == 3);
    CHECK(names.begin()->str() == "a/b");
    CHECK(names.rbegin()->str() == "b/a");
  }
}

// With only (type_name, type_name) and (type_name, string_view) overloads, `t == "a/b"` would
// be ambiguous, and `"x" == t` would construct a type_name from "x" and throw when "x" is not a
// valid name. These cases guard the overloads for each string kind.
TEST_CASE("a type name compares with a string literal or a std::string") {
  CHECK(comparable_with_type_name<char[4]>);
  CHECK(comparable_with_type_name<const char*>);
  CHECK(comparable_with_type_name<std::string>);
  CHECK(comparable_with_type_name<std::string_view>);
}

TEST_CASE("comparing a type name with a string that is not a type name is false, not an error") {
  const type_name t{"a/b"};
  const std::string other = "not-a-type-name";
  CHECK_NOTHROW((void)("not-a-type-name" == t));
  CHECK_NOTHROW((void)(other == t));
}

TEST_CASE("a type name hashes as its text") {
  const type_name a{"vec/counter"};
  const type_name b{"vec", "counter"};
  CHECK(std::hash<type_name>{}(a) == std::hash<type_name>{}(b));
  CHECK(std::hash<type_name>{}(a) == std::hash<std::string_view>{}("vec/counter"));

  std::unordered_set<type_name> set{a, b, type_name{"vec/echo"}};
  CHECK(set.size() == 2);
  CHECK(set.count(type_name{"vec/echo"}) == 1);
  CHECK(set.count(type_name{"vec/other"}) == 0);
}

TEST_CASE("a type name copies and moves with its split intact") {
  type_name original{"ns/name"};
  const type_name copy = original;
  CHECK(copy.namespace_name() == "ns");
  CHECK(copy.name() == "name");
  const type_name moved = std::move(original);
  CHECK(moved.str() == "ns/name");
  CHECK(moved.name() == "name");
}

// --- address ---------------------------------------------------------------------------------

TEST_CASE("an address is a function type and an id") {
  const statefun::address user{"example/user", "ann"};
  CHECK(user.type.namespace_name() == "example");
  CHECK(user.type.name() == "user");
  CHECK(user.id == "ann");
}

TEST_CASE("an address prints as namespace/name/id") {
  CHECK(statefun::address{"example/user", "ann"}.to_string() == "example/user/ann");
  CHECK(statefun::address{"vec/counter", ""}.to_string() == "vec/counter/");
  CHECK(statefun::address{"vec/counter", "a/b"}.to_string() == "vec/counter/a/b");
}

TEST_CASE("addresses are equal when type and id both are") {
  const statefun::address a{"vec/counter", "x"};
  CHECK(a == statefun::address{"vec/counter", "x"});
  CHECK(a == statefun::address{type_name{"vec", "counter"}, "x"});
  CHECK(a != statefun::address{"vec/counter", "y"});
  CHECK(a != statefun::address{"vec/echo", "x"});
  CHECK(a != statefun::address{"other/counter", "x"});
}

TEST_CASE("an address with an invalid function type is refused") {
  CHECK_THROWS_AS((void)(statefun::address{"counter", "x"}), std::invalid_argument);
  CHECK_THROWS_AS((void)(statefun::address{"vec/counter/x", "y"}), std::invalid_argument);
}
