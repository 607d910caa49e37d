#include <statefun/cancellation_token.hpp>

#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

#include "support/doctest.hpp"

using statefun::cancellation_token;

// Only an explicit construction makes a token, so a stray string cannot become one.
static_assert(!std::is_convertible_v<std::string, cancellation_token>);
static_assert(std::is_constructible_v<cancellation_token, std::string>);

TEST_CASE("an empty cancellation token is refused, since the runtime would fail the job") {
  CHECK_THROWS_AS(cancellation_token{""}, std::invalid_argument);
  CHECK_THROWS_AS(cancellation_token{std::string()}, std::invalid_argument);
  try {
    (void)cancellation_token{""};
    FAIL("no exception");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string_view(e.what()).find("empty") != std::string_view::npos);
  }
}

TEST_CASE("a cancellation token keeps its text exactly") {
  CHECK(cancellation_token{"tok-1"}.str() == "tok-1");
  CHECK(cancellation_token{" "}.str() == " ");
  CHECK(cancellation_token{"caf\xc3\xa9/\xe2\x9c\x93"}.str() == "caf\xc3\xa9/\xe2\x9c\x93");
  const std::string long_token(10'000, 't');
  CHECK(cancellation_token{long_token}.str() == long_token);
}

TEST_CASE("cancellation tokens are equal when their text is") {
  CHECK(cancellation_token{"tok-0"} == cancellation_token{"tok-0"});
  CHECK(cancellation_token{"tok-0"} != cancellation_token{"tok-1"});
  CHECK(cancellation_token{"a"} != cancellation_token{"A"});
}
