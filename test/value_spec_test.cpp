#include <statefun/value_spec.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "support/doctest.hpp"
#include "support/text.hpp"

using namespace std::chrono_literals;
using statefun::expiration;
using statefun::expire_after_call;
using statefun::expire_after_write;
using statefun::value_spec;
using statefun_test::contains;

namespace {

// Specs at namespace scope, as users write them: these are constant expressions.
constexpr value_spec<std::int32_t> seen{"seen", expire_after_call{60s}};
constexpr value_spec<std::string> session{"session", expire_after_write{1h}};
constexpr value_spec<bool> flag{"flag"};
constexpr auto count_spec = value_spec<std::int32_t>{"count"};

}  // namespace

static_assert(seen.name() == "seen");
static_assert(seen.expires().kind() == expiration::mode::after_call);
static_assert(seen.expires().after() == 60'000ms);
static_assert(session.expires().kind() == expiration::mode::after_write);
static_assert(session.expires().after() == std::chrono::milliseconds(3'600'000));
static_assert(flag.expires().kind() == expiration::mode::none);
static_assert(flag.expires().after() == 0ms);
static_assert(count_spec.name() == "count");
static_assert(std::is_same_v<decltype(count_spec)::value_type, std::int32_t>);
static_assert(expiration{} == expiration{});
static_assert(expiration{expire_after_call{1s}} != expiration{expire_after_write{1s}});

// A bad name or a non-positive expiry in a constant expression is a compile error: the throw
// makes the expression non-constant, which these concepts detect.
namespace {

template <std::size_t N>
struct name_literal {
  char text[N]{};
  constexpr name_literal(const char (&s)[N]) {  // NOLINT(google-explicit-constructor)
    for (std::size_t i = 0; i < N; ++i) {
      text[i] = s[i];
    }
  }
  [[nodiscard]] constexpr std::string_view view() const { return {text, N - 1}; }
};

template <name_literal Name>
concept constant_spec = requires {
  typename std::integral_constant<bool, (value_spec<std::int32_t>{Name.view()}, true)>;
};

template <long long Millis>
concept constant_expiry = requires {
  typename std::integral_constant<
      bool, (expiration{expire_after_call{std::chrono::milliseconds(Millis)}}, true)>;
};

}  // namespace

static_assert(constant_spec<"count">);
static_assert(constant_spec<"_x9">);
static_assert(!constant_spec<"my-state">);
static_assert(!constant_spec<"9lives">);
static_assert(!constant_spec<"">);
static_assert(constant_expiry<1>);
static_assert(!constant_expiry<0>);
static_assert(!constant_expiry<-1000>);

// The wire enum values of ExpireMode (proto/request-reply.proto): NONE=0, AFTER_WRITE=1, AFTER_INVOKE=2.
static_assert(static_cast<int>(expiration::mode::none) == 0);
static_assert(static_cast<int>(expiration::mode::after_write) == 1);
static_assert(static_cast<int>(expiration::mode::after_call) == 2);

TEST_CASE("a state name matching [A-Za-z_][A-Za-z0-9_]* is accepted") {
  const char* const valid[] = {
      "a",
      "Z",
      "_",
      "__",
      "count",
      "seen_at",
      "_private",
      "CamelCase",
      "x1",
      "a_1_b_2",
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_0123456789",
  };
  for (const char* name : valid) {
    CAPTURE(name);
    CHECK_NOTHROW((void)value_spec<std::int32_t>{name});
    CHECK(value_spec<std::int32_t>{name}.name() == name);
  }
}

TEST_CASE("a state name that does not match [A-Za-z_][A-Za-z0-9_]* is refused") {
  const std::string invalid[] = {
      "",         "1count",      "9",        "count-1",
      "my state", " count",      "count ",   "a.b",
      "a/b",      "caf\xc3\xa9", "\xc3\xa9", "tab\tname",
      "dollar$",  "-",           "count!",   std::string("a\0b", 3),
  };
  for (const auto& name : invalid) {
    CAPTURE(name);
    CHECK_THROWS_AS((void)value_spec<std::int32_t>{name}, std::invalid_argument);
  }
}

TEST_CASE("the refusal of a bad state name names the value and the rule") {
  try {
    (void)value_spec<std::int32_t>{"my-state"};
    FAIL("no exception");
  } catch (const std::invalid_argument& e) {
    CHECK(contains(e.what(), "'my-state'"));
    CHECK(contains(e.what(), "[A-Za-z_][A-Za-z0-9_]*"));
  }
}

TEST_CASE("a spec reports the type name of its value type") {
  CHECK(seen.type_name() == "io.statefun.types/int");
  CHECK(session.type_name() == "io.statefun.types/string");
  CHECK(flag.type_name() == "io.statefun.types/bool");
  CHECK(value_spec<std::int64_t>{"l"}.type_name() == "io.statefun.types/long");
  CHECK(value_spec<float>{"f"}.type_name() == "io.statefun.types/float");
  CHECK(value_spec<double>{"d"}.type_name() == "io.statefun.types/double");
}

TEST_CASE("expire_after_call and expire_after_write take any chrono duration") {
  SUBCASE("seconds") {
    const value_spec<std::int32_t> s{"s", expire_after_call{std::chrono::seconds(60)}};
    CHECK(s.expires().kind() == expiration::mode::after_call);
    CHECK(s.expires().after() == std::chrono::milliseconds(60'000));
  }
  SUBCASE("minutes") {
    const value_spec<std::int32_t> s{"s", expire_after_write{std::chrono::minutes(5)}};
    CHECK(s.expires().kind() == expiration::mode::after_write);
    CHECK(s.expires().after() == std::chrono::milliseconds(300'000));
  }
  SUBCASE("hours") {
    const value_spec<std::int32_t> s{"s", expire_after_write{std::chrono::hours(24)}};
    CHECK(s.expires().after().count() == 86'400'000);
  }
  SUBCASE("one millisecond, the smallest positive expiry") {
    const value_spec<std::int32_t> s{"s", expire_after_call{1ms}};
    CHECK(s.expires().after().count() == 1);
  }
  SUBCASE("a millisecond count past 32 bits") {
    const value_spec<std::int32_t> s{"s", expire_after_write{std::chrono::hours(24 * 365 * 100)}};
    CHECK(s.expires().after().count() == 3'153'600'000'000);
  }
}

TEST_CASE("a spec without an expiry never expires") {
  const value_spec<std::int32_t> s{"s"};
  CHECK(s.expires().kind() == expiration::mode::none);
  CHECK(s.expires() == expiration{});
}

TEST_CASE("a zero or negative expiry is refused") {
  SUBCASE("zero after call") {
    CHECK_THROWS_AS((void)value_spec<std::int32_t>("s", expire_after_call{0ms}),
                    std::invalid_argument);
  }
  SUBCASE("zero after write") {
    CHECK_THROWS_AS((void)value_spec<std::int32_t>("s", expire_after_write{0s}),
                    std::invalid_argument);
  }
  SUBCASE("negative after call") {
    CHECK_THROWS_AS((void)value_spec<std::int32_t>("s", expire_after_call{-1ms}),
                    std::invalid_argument);
  }
  SUBCASE("negative after write") {
    CHECK_THROWS_AS((void)expiration(expire_after_write{std::chrono::minutes(-5)}),
                    std::invalid_argument);
  }
}

TEST_CASE("a value_spec converts to a type-erased state_spec with the same facts") {
  const statefun::state_spec s = seen;
  CHECK(s.name == "seen");
  CHECK(s.type_name == "io.statefun.types/int");
  CHECK(s.expires.kind() == expiration::mode::after_call);
  CHECK(s.expires.after() == 60'000ms);

  SUBCASE("in a braced list, in declaration order") {
    const std::vector<statefun::state_spec> specs{seen, session, flag};
    REQUIRE(specs.size() == 3);
    CHECK(specs[0].name == "seen");
    CHECK(specs[1].name == "session");
    CHECK(specs[1].type_name == "io.statefun.types/string");
    CHECK(specs[1].expires.kind() == expiration::mode::after_write);
    CHECK(specs[1].expires.after() == 3'600'000ms);
    CHECK(specs[2].name == "flag");
    CHECK(specs[2].type_name == "io.statefun.types/bool");
    CHECK(specs[2].expires.kind() == expiration::mode::none);
  }
}
