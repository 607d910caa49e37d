#pragma once

// STATEFUN_CO_TEST_CASE("name") { ... co_await ...; }
//
// Declares the body as a `statefun::task<void>` and runs it with sync_wait inside a doctest
// TEST_CASE. A failing REQUIRE throws inside the coroutine; the task stores the exception and
// sync_wait rethrows it in the TEST_CASE, where doctest records the failure. Decorators work as
// with TEST_CASE: STATEFUN_CO_TEST_CASE("name" * doctest::timeout(5)).
//
// SUBCASE works inside the body as long as the body completes before sync_wait returns, which
// it always does.

#include <statefun/sync_wait.hpp>
#include <statefun/task.hpp>

#include "support/doctest.hpp"

#define STATEFUN_CO_TEST_CASE(...) \
  STATEFUN_DETAIL_CO_TEST_CASE(DOCTEST_ANONYMOUS(statefun_co_test_body_), __VA_ARGS__)

#define STATEFUN_DETAIL_CO_TEST_CASE(body, ...)             \
  static ::statefun::task<void> body();                     \
  TEST_CASE(__VA_ARGS__) { ::statefun::sync_wait(body()); } \
  static ::statefun::task<void> body()
