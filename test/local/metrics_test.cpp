// The local runtime's events (runtime_options::observer) as `metrics::prometheus` counts them:
// messages routed by kind, batches by reason and size, backlogs, delayed messages pending,
// requests in flight, egress records, snapshots and restores. Functions are played by the
// scripted endpoint, so each case knows exactly what the runtime did.

#include <statefun/local/runtime.hpp>
#include <statefun/metrics/prometheus.hpp>
#include <statefun/observer_fanout.hpp>

#include "local/support/scripted_endpoint.hpp"
#include "support/doctest.hpp"
#include "support/exposition.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace {

namespace local = statefun::local;
using statefun::address;
using statefun::test::answer;
using statefun::test::scripted_endpoint;

local::typed_value observed_text(std::string value) { return {"test/text", std::move(value), true}; }

statefun::test::exposition local_scrape(const statefun::metrics::prometheus& metrics) {
  std::string out;
  metrics.write(out);
  return statefun::test::parse_exposition(out);
}

std::string routed_series(std::string_view type, std::string_view kind) {
  return "statefun_local_messages_routed_total{function_type=\"" + std::string(type) + "\",kind=\"" +
         std::string(kind) + "\"}";
}
std::string batches_series(std::string_view type, std::string_view reason) {
  return "statefun_local_batches_total{function_type=\"" + std::string(type) + "\",reason=\"" + std::string(reason) +
         "\"}";
}
std::string backlog_series(std::string_view type) {
  return "statefun_local_backlog_messages{function_type=\"" + std::string(type) + "\"}";
}

/// A virtual-time runtime observed by `metrics`, whose `test/fn` is played by `fn` and whose
/// `test/sink` answers every request at once with nothing.
struct observed {
  explicit observed(statefun::observer* o, int max_batch = 1000)
      : rt({.clock = local::clock::virtual_time(), .observer = o}) {
    rt.bind("test/fn", fn, max_batch);
    rt.bind("test/sink", sink);
    rt.add_egress({.kind = local::egress_kind::any, .id = "test/out"});
    rt.add_egress({.kind = local::egress_kind::any, .id = "test/once", .semantic = local::delivery_semantic::exactly_once});
  }

  void send(std::string id, std::string value) { rt.send(address{"test/fn", std::move(id)}, observed_text(std::move(value))); }

  std::shared_ptr<scripted_endpoint> fn = std::make_shared<scripted_endpoint>();
  std::shared_ptr<scripted_endpoint> sink =
      std::make_shared<scripted_endpoint>([](const statefun::test::held_request&) { return answer{}.bytes(); });
  local::runtime rt;
};

}  // namespace

TEST_CASE("the local runtime's families appear once a runtime takes the observer, at zero") {
  statefun::metrics::prometheus metrics;
  std::string before;
  metrics.write(before);
  CHECK(before.find("statefun_local_") == std::string::npos);  // a function service shows none

  observed o(&metrics);
  const auto e = local_scrape(metrics);
  CHECK(e.types.at("statefun_local_messages_routed_total") == "counter");
  CHECK(e.types.at("statefun_local_batch_size") == "histogram");
  CHECK(e.types.at("statefun_local_backlog_messages") == "gauge");
  CHECK(e.at("statefun_local_delayed_messages") == 0);
  CHECK(e.at("statefun_local_requests_in_flight") == 0);
  CHECK(e.at("statefun_local_snapshots_total") == 0);
  CHECK(e.at("statefun_local_restores_total") == 0);
}

TEST_CASE("messages routed are counted per target function type and kind: ingress, function-to-function, delayed") {
  statefun::metrics::prometheus metrics;
  observed o(&metrics);
  o.send("a", "1");
  o.send("b", "2");
  o.rt.drain();
  REQUIRE(o.fn->held() == 2);
  o.fn->reply("a", answer{}.send("test", "sink", "x", "test/text", "m1").send("test", "sink", "y", "test/text", "m2").bytes());
  o.fn->reply("b", answer{}.send_after(1000, "test", "sink", "x", "later").bytes());
  o.rt.run_until_quiescent();

  const auto e = local_scrape(metrics);
  CHECK(e.at(routed_series("test/fn", "ingress")) == 2);
  CHECK(e.at(routed_series("test/fn", "message")) == 0);
  CHECK(e.at(routed_series("test/sink", "ingress")) == 0);
  CHECK(e.at(routed_series("test/sink", "message")) == 2);
  CHECK(e.at(routed_series("test/sink", "delayed")) == 1);
  CHECK(e.at(batches_series("test/sink", "fresh")) == 3);
  CHECK(e.at("statefun_local_batch_size_count{function_type=\"test/sink\"}") == 3);
}

TEST_CASE("batches are counted by reason, their sizes in a histogram, and the backlog behind them in a gauge") {
  statefun::metrics::prometheus metrics;
  observed o(&metrics);
  o.send("a", "1");
  o.rt.drain();
  o.send("a", "2");
  o.send("a", "3");
  o.send("a", "4");
  o.rt.drain();
  auto e = local_scrape(metrics);
  CHECK(e.at(backlog_series("test/fn")) == 3);  // waiting behind "1"
  CHECK(e.at("statefun_local_requests_in_flight") == 1);

  // The first answer asks for a state: the same batch goes again, then the backlog as one batch.
  o.fn->reply(answer::missing({{"n", "test/int", statefun::codec::expire_mode::none, 0}}));
  o.rt.drain();
  o.fn->reply(answer{}.bytes());
  o.rt.drain();
  e = local_scrape(metrics);
  CHECK(e.at(backlog_series("test/fn")) == 0);
  CHECK(e.at(batches_series("test/fn", "fresh")) == 2);
  CHECK(e.at(batches_series("test/fn", "missing_state")) == 1);
  CHECK(e.at(batches_series("test/fn", "replay")) == 0);
  CHECK(e.at("statefun_local_batch_size_bucket{function_type=\"test/fn\",le=\"1\"}") == 2);  // "1", twice
  CHECK(e.at("statefun_local_batch_size_bucket{function_type=\"test/fn\",le=\"5\"}") == 3);  // then "2" to "4"
  CHECK(e.at("statefun_local_batch_size_sum{function_type=\"test/fn\"}") == 5);
  o.fn->reply(answer{}.bytes());
  o.rt.drain();
  CHECK(local_scrape(metrics).at("statefun_local_requests_in_flight") == 0);
}

TEST_CASE("delayed messages pending: a gauge that follows scheduling, cancellation and firing") {
  statefun::metrics::prometheus metrics;
  observed o(&metrics);
  o.send("a", "1");
  o.rt.drain();
  o.fn->reply(answer{}
                  .send_after(1000, "test", "sink", "x", "one", "t1")
                  .send_after(2000, "test", "sink", "x", "two", "t2")
                  .send_after(3000, "test", "sink", "x", "three")
                  .bytes());
  o.rt.drain();
  CHECK(local_scrape(metrics).at("statefun_local_delayed_messages") == 3);
  o.send("a", "2");
  o.rt.drain();
  o.fn->reply(answer{}.cancel("t2").bytes());
  o.rt.drain();
  CHECK(local_scrape(metrics).at("statefun_local_delayed_messages") == 2);
  o.rt.advance(std::chrono::milliseconds{1500});
  CHECK(local_scrape(metrics).at("statefun_local_delayed_messages") == 1);
  o.rt.run_until_quiescent();
  const auto e = local_scrape(metrics);
  CHECK(e.at("statefun_local_delayed_messages") == 0);
  CHECK(e.at(routed_series("test/sink", "delayed")) == 2);
}

TEST_CASE("egress records are counted per egress; exactly-once ones when a snapshot publishes them") {
  statefun::metrics::prometheus metrics;
  observed o(&metrics);
  o.send("a", "1");
  o.rt.drain();
  o.fn->reply(answer{}
                  .egress("test", "out", "test/text", "r1")
                  .egress("test", "out", "test/text", "r2")
                  .egress("test", "once", "test/text", "r3")
                  .bytes());
  o.rt.drain();
  auto e = local_scrape(metrics);
  CHECK(e.at("statefun_local_egress_records_total{egress=\"test/out\"}") == 2);
  CHECK_FALSE(e.samples.contains("statefun_local_egress_records_total{egress=\"test/once\"}"));
  (void)o.rt.take_snapshot();
  e = local_scrape(metrics);
  CHECK(e.at("statefun_local_egress_records_total{egress=\"test/once\"}") == 1);
  CHECK(e.at("statefun_local_snapshots_total") == 1);
  CHECK(e.at("statefun_local_snapshot_egress_records_total") == 1);
}

TEST_CASE("a restore is counted, replays the batches in flight, and sets the gauges to the restored state") {
  statefun::metrics::prometheus metrics;
  observed o(&metrics);
  o.send("a", "1");
  o.rt.drain();
  o.send("a", "2");
  o.rt.drain();
  const auto snap = o.rt.take_snapshot();  // "1" in flight, "2" in the backlog, nothing delayed
  o.fn->reply(answer{}.send_after(1000, "test", "sink", "x", "later").bytes());
  o.rt.drain();  // "2" goes out; a delayed message is pending
  auto e = local_scrape(metrics);
  CHECK(e.at(backlog_series("test/fn")) == 0);
  CHECK(e.at("statefun_local_delayed_messages") == 1);

  o.rt.restore(snap);
  e = local_scrape(metrics);
  CHECK(e.at("statefun_local_restores_total") == 1);
  CHECK(e.at(batches_series("test/fn", "replay")) == 1);
  CHECK(e.at(backlog_series("test/fn")) == 1);  // "2" waits again behind the replayed "1"
  CHECK(e.at("statefun_local_delayed_messages") == 0);
  CHECK(e.at("statefun_local_requests_in_flight") == 1);
}

TEST_CASE("a runtime destroyed with work under way takes its gauges back; another's stay") {
  statefun::metrics::prometheus metrics;
  observed keeps(&metrics);
  keeps.send("k", "1");
  keeps.rt.drain();
  {
    observed goes(&metrics);
    goes.send("a", "1");
    goes.send("a", "2");
    goes.rt.drain();
    goes.fn->reply(answer{}.send_after(1000, "test", "sink", "x", "later").bytes());
    goes.rt.drain();
    goes.send("a", "3");
    goes.rt.drain();  // "2" in flight, "3" waiting, one delayed message
    const auto e = local_scrape(metrics);
    CHECK(e.at(backlog_series("test/fn")) == 1);
    CHECK(e.at("statefun_local_requests_in_flight") == 2);  // both runtimes' requests
    CHECK(e.at("statefun_local_delayed_messages") == 1);
  }
  const auto e = local_scrape(metrics);
  CHECK(e.at(backlog_series("test/fn")) == 0);
  CHECK(e.at("statefun_local_requests_in_flight") == 1);  // `keeps`'s request
  CHECK(e.at("statefun_local_delayed_messages") == 0);
}

TEST_CASE("observer_fanout hands the local runtime's events to each of its observers") {
  statefun::metrics::prometheus first;
  statefun::metrics::prometheus second;
  statefun::observer_fanout both{&first, &second};
  observed o(&both);
  o.send("a", "1");
  o.rt.drain();
  o.fn->reply(answer{}.egress("test", "out", "test/text", "r").send_after(10, "test", "sink", "x", "later").bytes());
  o.rt.drain();
  (void)o.rt.take_snapshot();
  for (const auto* m : {&first, &second}) {
    const auto e = local_scrape(*m);
    CHECK(e.at(routed_series("test/fn", "ingress")) == 1);
    CHECK(e.at(batches_series("test/fn", "fresh")) == 1);
    CHECK(e.at("statefun_local_delayed_messages") == 1);
    CHECK(e.at("statefun_local_egress_records_total{egress=\"test/out\"}") == 1);
    CHECK(e.at("statefun_local_snapshots_total") == 1);
  }
}

TEST_CASE("an observer that overrides none of the local runtime's methods keeps working (empty defaults)") {
  struct only_server final : statefun::observer {
    void tls_handshake_failed() noexcept override {}
  } quiet;
  observed o(&quiet);
  o.send("a", "1");
  o.rt.drain();
  o.fn->reply(answer{}.egress("test", "out", "test/text", "r").bytes());
  o.rt.run_until_quiescent();
  CHECK(o.rt.egress("test/out").size() == 1);
}
