// StateFun's smoke end-to-end test, re-created against the local runtime (docs/runtime_rules.md §4.4): a
// seeded random command stream to a command interpreter written with this SDK, with snapshots,
// crashes and restores at random points (rules 24-26) and, over HTTP, injected faults (5xx,
// dropped connections, slow and held answers; rule 7). Every instance's counter must end
// exactly where the driver's tracker says: an over-count is an effect applied twice, an
// under-count an effect lost.
//
// Seeded: the seed is printed; STATEFUN_SMOKE_SEED=<n> runs the same commands and faults again
// (over HTTP the interleaving with the network can still differ).

#include <statefun/local/runtime.hpp>

#include <statefun/functions.hpp>

#include <asio/io_context.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "asio/server_support.hpp"
#include "local/smoke/command_interpreter.hpp"
#include "local/smoke/commands.hpp"
#include "local/smoke/fault_proxy.hpp"
#include "local/smoke/generator.hpp"
#include "support/doctest.hpp"

namespace {

namespace local = statefun::local;
namespace smoke = statefun::test::smoke;
namespace names = smoke::names;
using namespace std::chrono_literals;

/// The run's seed: STATEFUN_SMOKE_SEED, or a fresh random one. Printed either way.
std::uint64_t smoke_seed() {
  static const std::uint64_t seed = [] {
    if (const char* text = std::getenv("STATEFUN_SMOKE_SEED"); text != nullptr && *text != '\0') {
      return static_cast<std::uint64_t>(std::stoull(text, nullptr, 0));
    }
    std::random_device device;
    return (static_cast<std::uint64_t>(device()) << 32) | device();
  }();
  MESSAGE("smoke seed " << seed << " (STATEFUN_SMOKE_SEED=" << seed << " repeats it)");
  return seed;
}

// ------------------------------------------------------------------------------- the driver

/// How much the driver sends, and how often it injects snapshot and restore faults.
struct schedule {
  std::size_t commands = 100'000;
  std::size_t mean_burst = 32;  ///< source commands emitted at a time
  double snapshot = 0.25;       ///< at each pause: the chance to take a snapshot...
  double crash = 0.03;          ///< ...or to crash and restore the latest one
  double time_passes = 0.15;    ///< after each burst: the chance that 1 ms of virtual time passes
  bool over_http = false;       ///< pauses may wait for an answer from the network
};

/// The faults the driver injected.
struct fault_report {
  std::uint64_t snapshots = 0;
  std::uint64_t snapshots_in_flight = 0;  ///< taken while requests were out
  std::uint64_t restores = 0;
};

/// Waits for one event of the runtime's loop (an HTTP answer, a retry's timer); false when no
/// request is out, so that nothing could come.
/// Waits for one event of the runtime's loop while a request is out (`run_steps` never waits).
bool wait_for_answer(local::runtime& rt) { return rt.wait_for_event(); }

/**
 * Emits `plan.commands` source commands in random bursts, each to
 * `command-interpreter-fn/<target>` with no caller, and runs the runtime in random-sized chunks
 * of steps in between. At each pause it may take a snapshot, or crash: restore the latest
 * snapshot, as Flink restarts from its last completed checkpoint. Input is durable (the
 * runtime's input positions are part of a snapshot), so a restore re-reads what it had read
 * since; the tracker therefore counts every command once. Ends quiescent.
 */
fault_report drive(local::runtime& rt, smoke::command_generator& generator, smoke::state_tracker& tracker,
                   const schedule& plan, std::uint64_t seed) {
  std::mt19937_64 random(seed);
  auto uniform = [&random](std::size_t low, std::size_t high) {
    return std::uniform_int_distribution<std::size_t>(low, high)(random);
  };
  auto chance = [&random](double p) { return std::bernoulli_distribution(p)(random); };

  fault_report faults;
  local::snapshot latest = rt.take_snapshot();
  ++faults.snapshots;
  for (std::size_t sent = 0; sent < plan.commands;) {
    const std::size_t burst = std::min(plan.commands - sent, uniform(1, 2 * plan.mean_burst - 1));
    for (std::size_t i = 0; i < burst; ++i) {
      const smoke::source_command command = generator.next();
      tracker.apply(command);
      rt.send(smoke::interpreter::instance(command.target), command);
    }
    sent += burst;

    for (std::size_t pause = uniform(0, 4); pause > 0; --pause) {
      if (rt.run_steps(uniform(1, 512)) == 0 && !(plan.over_http && wait_for_answer(rt))) {
        break;  // nothing to do until time passes
      }
      const double roll = std::uniform_real_distribution<double>(0.0, 1.0)(random);
      if (roll < plan.crash) {
        rt.restore(latest);
        ++faults.restores;
      } else if (roll < plan.crash + plan.snapshot) {
        latest = rt.take_snapshot();
        ++faults.snapshots;
        faults.snapshots_in_flight += rt.requests_in_flight() > 0 ? 1 : 0;
      }
    }
    // Time passes between bursts only: `advance` runs everything to idle, and `run_steps` never
    // moves a virtual clock, so delayed messages fall due here and at the end.
    if (chance(plan.time_passes)) {
      rt.advance(1ms);
    }
  }
  rt.run_until_quiescent();
  return faults;
}

// ------------------------------------------------------------------------- verification

/// What the instances reported to the verification sink, against the tracker.
struct verification {
  std::vector<int> results_per_id;  ///< how many results each id reported
  std::vector<std::string> over;    ///< "id: actual > expected": effects applied twice
  std::vector<std::string> under;   ///< "id: actual < expected": effects lost
  std::vector<std::string> wrong_expectation;  ///< a Verify that carried the wrong number
};

/// Sends `Verify{expected}` to every instance, as the original driver's verify phase does.
void send_verify(local::runtime& rt, const smoke::state_tracker& tracker) {
  for (int id = 0; id < tracker.instances(); ++id) {
    smoke::source_command verify{id, {{smoke::command{smoke::command::verify{tracker.state_of(id)}}}}};
    rt.send(smoke::interpreter::instance(id), verify);
  }
}

/// The verification results published since record number `from`.
verification read_results(const local::runtime& rt, const smoke::state_tracker& tracker, std::size_t from) {
  verification v;
  v.results_per_id.assign(static_cast<std::size_t>(tracker.instances()), 0);
  const auto& records = rt.egress(names::verification_sink);
  for (std::size_t i = from; i < records.size(); ++i) {
    const auto result = records[i].value.as<smoke::verification_result>();
    REQUIRE(result.id >= 0);
    REQUIRE(result.id < tracker.instances());
    ++v.results_per_id[static_cast<std::size_t>(result.id)];
    const std::int64_t expected = tracker.state_of(result.id);
    std::ostringstream line;
    line << result.id << ": actual " << result.actual << ", expected " << expected;
    if (result.expected != expected) {
      v.wrong_expectation.push_back(line.str());
    }
    if (result.actual > expected) {
      v.over.push_back(line.str());
    } else if (result.actual < expected) {
      v.under.push_back(line.str());
    }
  }
  return v;
}

std::string first_few(const std::vector<std::string>& lines) {
  std::string text;
  for (std::size_t i = 0; i < lines.size() && i < 8; ++i) {
    text.append(i == 0 ? "" : "; ").append(lines[i]);
  }
  return lines.size() > 8 ? text + "; ... (" + std::to_string(lines.size()) + " in all)" : text;
}

/// Every instance reported `times` results, each exactly the tracker's count.
void require_exact(const verification& v, int times) {
  CHECK_MESSAGE(v.over.empty(), "over-counted (an effect applied twice): " << first_few(v.over));
  CHECK_MESSAGE(v.under.empty(), "under-counted (an effect lost): " << first_few(v.under));
  CHECK_MESSAGE(v.wrong_expectation.empty(), "Verify carried the wrong number: " << first_few(v.wrong_expectation));
  const auto [fewest, most] = std::minmax_element(v.results_per_id.begin(), v.results_per_id.end());
  CHECK(*fewest == times);
  CHECK(*most == times);
}

/// The counters as the runtime stores them, read directly: the same numbers as the tracker's.
void require_states(const local::runtime& rt, const smoke::state_tracker& tracker) {
  std::vector<std::string> over;
  std::vector<std::string> under;
  for (int id = 0; id < tracker.instances(); ++id) {
    const std::int64_t actual = rt.state(smoke::interpreter::instance(id), smoke::state).value_or(0);
    const std::int64_t expected = tracker.state_of(id);
    const std::string line =
        std::to_string(id) + ": state " + std::to_string(actual) + ", expected " + std::to_string(expected);
    if (actual > expected) {
      over.push_back(line);
    } else if (actual < expected) {
      under.push_back(line);
    }
  }
  CHECK_MESSAGE(over.empty(), "over-counted state (an effect applied twice): " << first_few(over));
  CHECK_MESSAGE(under.empty(), "under-counted state (an effect lost): " << first_few(under));
}

/// The two sinks: discard is exactly-once (its records appear at the next snapshot, once each),
/// verification at-least-once (at once, and again after a restore).
void add_sinks(local::runtime& rt) {
  rt.add_egress({.kind = local::egress_kind::any,
                 .id = std::string(names::discard_sink),
                 .semantic = local::delivery_semantic::exactly_once});
  rt.add_egress({.kind = local::egress_kind::any,
                 .id = std::string(names::verification_sink),
                 .semantic = local::delivery_semantic::at_least_once});
}

void report(const std::string& what, const fault_report& faults, const local::runtime_stats& stats,
            const smoke::state_tracker& tracker) {
  MESSAGE(what << ": " << stats.ingress_records << " inputs, " << stats.messages << " messages, " << stats.requests
               << " requests, " << stats.handshakes << " handshakes, " << stats.delayed_fired << " delayed fired, "
               << stats.delayed_cancelled << " cancelled (" << tracker.cancelled_increments()
               << " increments that must never land); " << faults.snapshots << " snapshots ("
               << faults.snapshots_in_flight << " with requests out), " << faults.restores << " restores re-sending "
               << stats.replayed_batches << " in-flight batches");
}

std::string from_hex(std::string_view hex) {
  std::string bytes;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    bytes.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return bytes;
}

}  // namespace

// ----------------------------------------------------------------------------- the protocol

TEST_CASE("the smoke protocol is protobuf: commands encode byte for byte as protoc --encode writes them") {
  using smoke::command;
  // protoc --encode=org.apache.flink.statefun.e2e.smoke.SourceCommand commands.proto <<'EOF'
  // target: 7
  // commands {
  //   command { increment {} }
  //   command { send { target: 3 commands { command { increment {} } } } }
  //   command { send_after { target: 5 commands { command { increment {} } } cancellation_token: "tok-1" } }
  //   command { cancel_send_after { target: 5 cancellation_token: "tok-1" } }
  //   command { send_egress {} }
  //   command { async_operation { failure: true resolved_commands { command { increment {} } } } }
  //   command { verify { expected: 300 } }
  //   command { send { target: -1 } }
  // }
  // EOF
  const std::string golden = from_hex(
      "080712560a020a000a0a1208080312040a020a000a111a0f080512040a020a001a05746f6b2d310a0b3a0908051205746f6b2d31"
      "0a0222000a0a2a08080112040a020a000a05320308ac020a0d120b08ffffffffffffffffff01");
  const smoke::commands one_increment{{command{command::increment_state{}}}};
  const smoke::source_command source{
      7,
      {{command{command::increment_state{}}, command{command::send{3, one_increment}},
        command{command::send_after{5, one_increment, "tok-1"}}, command{command::cancel_send_after{5, "tok-1"}},
        command{command::send_egress{}}, command{command::async_operation{true, one_increment}},
        command{command::verify{300}}, command{command::send{-1, {}}}}}};

  std::string encoded;
  statefun::type<smoke::source_command>::encode(source, encoded);
  CHECK(encoded == golden);

  std::string again;
  statefun::type<smoke::source_command>::encode(statefun::type<smoke::source_command>::decode(golden), again);
  CHECK(again == golden);

  // echo 'id: 12 expected: 1234567890123 actual: -2' | protoc --encode=...VerificationResult commands.proto
  const std::string result_golden = from_hex("080c10cb89ec8ff72318feffffffffffffffff01");
  const smoke::verification_result result{12, 1234567890123, -2};
  std::string result_bytes;
  statefun::type<smoke::verification_result>::encode(result, result_bytes);
  CHECK(result_bytes == result_golden);
  CHECK(statefun::type<smoke::verification_result>::decode(result_golden) == result);

  CHECK_THROWS_AS(statefun::type<smoke::commands>::decode(golden.substr(0, golden.size() - 3)),
                  statefun::decode_error);
}

TEST_CASE("the smoke generator is seeded, and its tracker leaves out the increments a cancellation stops") {
  auto stream = [](std::uint64_t seed) {
    smoke::command_generator generator({}, seed);
    std::string bytes;
    for (int i = 0; i < 200; ++i) {
      statefun::type<smoke::source_command>::encode(generator.next(), bytes);
    }
    return bytes;
  };
  CHECK(stream(42) == stream(42));
  CHECK(stream(42) != stream(43));

  using smoke::command;
  const smoke::commands one_increment{{command{command::increment_state{}}}};
  smoke::state_tracker tracker(4);
  tracker.apply({1,
                 {{command{command::send_after{2, one_increment, "cancelled"}},
                   command{command::cancel_send_after{2, "cancelled"}},
                   command{command::send_after{3, one_increment, "not-cancelled"}},
                   command{command::async_operation{true, one_increment}}, command{command::send_egress{}}}}});
  CHECK(tracker.state_of(1) == 1);  // the asynchronous operation's, failure or not
  CHECK(tracker.state_of(2) == 0);  // cancelled in the same list: must never land
  CHECK(tracker.state_of(3) == 1);
  CHECK(tracker.cancelled_increments() == 1);
  CHECK(tracker.egress_records() == 1);
}

// ----------------------------------------------------------------------------- in process

TEST_CASE(
    "rules 24-26: exactly once through snapshots and restores: 100,000 seeded commands to 128 instances in "
    "process end at the tracker's counts, none over and none lost") {
  const std::uint64_t seed = smoke_seed();
  statefun::functions fns;
  smoke::bind_command_interpreter(fns);
  local::runtime rt({.clock = local::clock::virtual_time()});
  rt.serve(fns);
  add_sinks(rt);

  smoke::command_generator generator({}, seed);
  smoke::state_tracker tracker(generator.options().instances);
  const fault_report faults = drive(rt, generator, tracker, {.commands = 100'000}, seed ^ 0x5eed);
  report("in process", faults, rt.stats(), tracker);

  // The faults really happened: crashes with batches in flight, the handshake after each.
  CHECK(faults.restores > 0);
  CHECK(rt.stats().restores == faults.restores);
  CHECK(faults.snapshots_in_flight > 0);
  CHECK(rt.stats().replayed_batches > 0);
  CHECK(rt.stats().handshakes > 1);
  CHECK(rt.stats().delayed_fired > 0);
  CHECK(rt.stats().delayed_cancelled > 0);
  CHECK(tracker.cancelled_increments() > 0);
  CHECK(tracker.failing_async_operations() > 0);
  CHECK(rt.pending_delayed_messages() == 0);

  require_states(rt, tracker);

  // Rule 26, exactly-once: discard records are published at the snapshot, each exactly once.
  const local::snapshot settled = rt.take_snapshot();
  CHECK(rt.egress(names::discard_sink).size() == static_cast<std::size_t>(tracker.egress_records()));

  const std::size_t mark = rt.egress(names::verification_sink).size();
  send_verify(rt, tracker);
  rt.run_until_quiescent();
  require_exact(read_results(rt, tracker, mark), 1);

  // Rule 26, at-least-once: a crash after the results went out runs Verify again (its input
  // position is restored), and the at-least-once sink shows every result twice; the
  // exactly-once sink shows nothing new.
  rt.restore(settled);
  rt.run_until_quiescent();
  require_exact(read_results(rt, tracker, mark), 2);
  static_cast<void>(rt.take_snapshot());
  CHECK(rt.egress(names::discard_sink).size() == static_cast<std::size_t>(tracker.egress_records()));
  require_states(rt, tracker);
}

// ---------------------------------------------------------------------------------- HTTP

namespace {

/**
 * The smoke run over HTTP: the interpreter served by statefun::asio::http_server behind a
 * fault-injecting proxy, reached through `endpoint` (its URL filled in here), with snapshot and
 * restore faults on top. Fewer commands than in process, so that it stays fast.
 */
void exactly_once_over_http(local::endpoint_spec endpoint, const smoke::fault_rates& rates) {
  const std::uint64_t seed = smoke_seed();
  statefun::functions fns;
  smoke::bind_command_interpreter(fns);
  statefun::test::running_server server(fns);
  smoke::fault_proxy proxy(server.port(), rates, seed ^ 0xfa17);
  endpoint.functions = std::string(names::function_type);
  endpoint.url_path_template = "http://127.0.0.1:" + std::to_string(proxy.port()) + "/statefun";

  local::runtime rt({.clock = local::clock::virtual_time()});
  rt.bind_http(endpoint);
  add_sinks(rt);

  smoke::command_generator generator({}, seed ^ 0x4177);
  smoke::state_tracker tracker(generator.options().instances);
  const fault_report faults =
      drive(rt, generator, tracker, {.commands = 5'000, .mean_burst = 8, .over_http = true}, seed ^ 0x5eed);
  report(endpoint.transport == local::transport_kind::async ? "HTTP, async" : "HTTP, okhttp", faults, rt.stats(),
         tracker);

  // Every kind of fault really happened.
  const smoke::fault_counts injected = proxy.counts();
  MESSAGE("proxy: " << injected.requests << " requests, " << injected.answered << " answered, "
                    << injected.status_500 << " 500s, " << injected.drop_before << " dropped before, "
                    << injected.drop_after << " dropped after, " << injected.slow << " slow, " << injected.held
                    << " held past the read timeout");
  CHECK(injected.status_500 > 0);
  CHECK(injected.drop_before > 0);
  CHECK(injected.drop_after > 0);
  CHECK(injected.slow > 0);
  CHECK((injected.held > 0) == (rates.hold > 0));
  CHECK(faults.restores > 0);
  CHECK(faults.snapshots_in_flight > 0);
  CHECK(rt.stats().replayed_batches > 0);
  CHECK(rt.stats().handshakes > 1);
  CHECK(rt.stats().delayed_cancelled > 0);

  // None of them changed a result.
  require_states(rt, tracker);
  static_cast<void>(rt.take_snapshot());
  CHECK(rt.egress(names::discard_sink).size() == static_cast<std::size_t>(tracker.egress_records()));

  const std::size_t mark = rt.egress(names::verification_sink).size();
  send_verify(rt, tracker);
  rt.run_until_quiescent();
  require_exact(read_results(rt, tracker, mark), 1);
}

}  // namespace

TEST_CASE(
    "rules 7, 24-26: exactly once over HTTP through injected faults: 5xx answers, dropped connections, slow "
    "answers, answers held past the read timeout, snapshots and restores") {
  const smoke::fault_rates faults{.status_500 = 0.02, .drop_before = 0.02, .drop_after = 0.02, .slow = 0.02};

  SUBCASE("the async transport retries every failure") {
    exactly_once_over_http({.transport = local::transport_kind::async}, faults);
  }

  SUBCASE("the okhttp transport retries, and sends again a request whose answer it gave up waiting for") {
    // A held answer is given up on after the per-attempt read timeout. (The async transport has
    // none: a held answer would use up its whole call budget, so it gets no held answers.)
    smoke::fault_rates with_holds = faults;
    with_holds.hold = 0.005;
    exactly_once_over_http({.transport = local::transport_kind::okhttp, .read = 250ms}, with_holds);
  }
}
