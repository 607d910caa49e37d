// Example: unit tests of the greeter's function with statefun::testing and GoogleTest
// (Debian: googletest, libgtest-dev). The same harness as with doctest: the harness reports,
// the test framework asserts.

#include "../greeter/greeter.hpp"

#include <statefun/testing.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>

using namespace std::chrono_literals;

namespace {

class GreeterTest : public ::testing::Test {
 protected:
  GreeterTest() { greeter::bind_functions(fns_); }

  statefun::functions fns_;
  statefun::testing::instance ann_{fns_, {"greeter/user", "ann"}};
};

TEST_F(GreeterTest, CountsLoginsAndPublishesTheCount) {
  ann_.set(greeter::seen, 2);

  const auto out = ann_.receive(greeter::user_login{"ann", "WEB"});

  EXPECT_EQ(out.state(greeter::seen), 3);
  ASSERT_EQ(out.egress().size(), 1u);
  ASSERT_TRUE(out.egress()[0].kafka.has_value());
  EXPECT_EQ(out.egress()[0].kafka->topic, "seen");
  EXPECT_EQ(out.egress()[0].kafka->key, "ann");
  EXPECT_EQ(out.egress()[0].kafka->value, "3");
}

TEST_F(GreeterTest, ResetsAfterAMinuteOfQuiet) {
  ann_.receive(greeter::user_login{"ann", "WEB"});

  EXPECT_TRUE(ann_.advance(59s).removed_states().empty());
  EXPECT_TRUE(ann_.advance(1s).removed(greeter::seen));
  EXPECT_EQ(ann_.get(greeter::seen), std::nullopt);
}

TEST_F(GreeterTest, RefusesAMessageThatIsNotALogin) {
  const auto out = ann_.receive(42);

  EXPECT_TRUE(out.failed());
  EXPECT_THROW(out.rethrow(), statefun::type_mismatch);
  EXPECT_EQ(ann_.get(greeter::seen), std::nullopt);  // a failed invocation changes nothing
}

}  // namespace
