// The official SDK's request/response pairs (test/data/*.bin, described in test/data/vectors.md),
// replayed through equivalent C++ functions.
#include <statefun/request_reply_handler.hpp>

#include <statefun/egress.hpp>
#include <statefun/json.hpp>

#include "support/counter.hpp"
#include "support/doctest.hpp"
#include "support/values.hpp"
#include "support/vector_functions.hpp"
#include "support/equivalent.hpp"
#include "support/files.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>


namespace {

/// Replays vector `name`; returns our response bytes after checking equivalence.
std::string replay(const std::string& name) {
  static const statefun::functions fns = statefun::test::vector_functions();
  auto handler = fns.handler();
  const std::string request = statefun::test::read_data(name + ".request.bin");
  const std::string expected_bytes = statefun::test::read_data(name + ".response.bin");
  const auto response = handler.handle_sync(request);
  REQUIRE_MESSAGE(response.has_value(), (response ? "" : response.error().message()));
  statefun::codec::from_function_view ours;
  statefun::codec::from_function_view theirs;
  REQUIRE(static_cast<bool>(ours.decode(*response)));
  REQUIRE(static_cast<bool>(theirs.decode(expected_bytes)));
  CHECK_MESSAGE(statefun::test::difference(ours, theirs).empty(), statefun::test::difference(ours, theirs));
  return std::string(*response);
}

}  // namespace

TEST_CASE("every official vector is answered with an equivalent response") {
  for (const char* name : {"counter-absent", "counter-no-state-value", "counter-existing", "counter-batch",
                           "counter-missing-state", "ttl-missing-state", "types-write", "delete-state",
                           "read-only", "echo-caller", "messenger"}) {
    CAPTURE(name);
    (void)replay(name);
  }
}

TEST_CASE("canonical responses match the official SDK byte for byte") {
  // Where the reference is canonical proto3 in field order, so are we.
  for (const char* name : {"counter-absent", "counter-no-state-value", "counter-existing", "counter-batch",
                           "delete-state", "read-only", "echo-caller"}) {
    CAPTURE(name);
    CHECK(replay(name) == statefun::test::read_data(std::string(name) + ".response.bin"));
  }
}

TEST_CASE("the missing-state reply leaves out the expiration spec of a state that never expires") {
  // The reference writes an empty ExpirationSpec; absent means the same (NONE), as Java and JS do.
  const std::string ours = replay("counter-missing-state");
  CHECK(ours.size() < statefun::test::read_data("counter-missing-state.response.bin").size());
  statefun::codec::from_function_view view;
  REQUIRE(static_cast<bool>(view.decode(ours)));
  REQUIRE(view.missing_values.size() == 1);
  CHECK(view.missing_values[0].mode == statefun::codec::expire_mode::none);
}

TEST_CASE("the benchmark workloads get the responses the official SDKs gave") {
  statefun::functions fns;
  statefun::test::bind_workload_functions(fns);
  auto handler = fns.handler();
  for (const auto& pair : {std::pair{"w1_counter.bin", "w1_counter.response.bin"},
                           {"w2_counter_batch100.bin", "w2_counter_batch100.response.bin"},
                           {"w3_fanout.bin", "w3_fanout.response.bin"},
                           {"w4_missing_state.bin", "w4_missing_state.response.js.bin"}}) {
    const char* request = pair.first;
    const char* response = pair.second;
    CAPTURE(request);
    const std::string request_bytes = statefun::test::read_data(std::string("workloads/") + request);
    const std::string reference = statefun::test::read_data(std::string("workloads/") + response);
    const auto ours = handler.handle_sync(request_bytes);
    REQUIRE(ours.has_value());
    // Views point into the bytes they decode, which therefore live in variables above.
    statefun::codec::from_function_view a;
    statefun::codec::from_function_view b;
    REQUIRE(static_cast<bool>(a.decode(*ours)));
    REQUIRE(static_cast<bool>(b.decode(reference)));
    CHECK_MESSAGE(statefun::test::difference(a, b).empty(), statefun::test::difference(a, b));
  }
}
