// The metrics against a real Prometheus (Debian's prometheus package, 2.42 in Debian 12): it
// scrapes a live http_server every 250 ms while the test drives a known number of requests,
// invocations (in batches of three) and failures of known kinds, and its HTTP API answers what
// the test sent: the counters, increase(...), histogram_quantile(...), promtool's lint of the
// exposition, and every query of the Grafana dashboards in docs/grafana. A local runtime drives
// durable flows and a coroutine function (which calls out through an observed http_client) on a
// second server of the same functions, and Prometheus scrapes the runtime's own metrics too, so
// that every series the dashboards query exists, with what the test made happen.
//
// It takes 5 to 7 s of wall time, nearly all of it idle: Prometheus 2.42 hands its targets to the
// scrape loops through a discovery manager that sends updates every 5 s, with no flag to shorten
// that, so the first scrape comes 4 to 5 s after the start; the rest takes well under a second.
//
// Nothing sleeps: the test waits for events. The service's observer tells it when the server
// has written its responses; the scrape server's exposition tells it when Prometheus scraped
// (a target is scraped by one loop, one scrape at a time, so once scrape k+1 has begun, scrape
// k is stored). Where Prometheus must become ready, the test asks again after each scrape,
// within an overall deadline.

#include <statefun/asio/http_client.hpp>
#include <statefun/asio/server.hpp>
#include <statefun/durable.hpp>
#include <statefun/local/runtime.hpp>
#include <statefun/metrics/prometheus.hpp>
#include <statefun/observer_fanout.hpp>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <nlohmann/json.hpp>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "asio/server_support.hpp"
#include "support/doctest.hpp"
#include "support/exposition.hpp"
#include "support/grafana.hpp"
#include "support/process.hpp"
#include "support/requests.hpp"
#include "support/run_on.hpp"

#ifndef STATEFUN_TEST_DASHBOARDS
#error "the build passes STATEFUN_TEST_DASHBOARDS, the folder of the Grafana dashboards (docs/grafana)"
#endif

using namespace std::chrono_literals;
using statefun::test::client;
using statefun::test::request;
using statefun::test::runtime_post;

namespace {

constexpr std::string_view job = "statefun-live";
/// The scrape job of the local runtime's metrics.
constexpr std::string_view local_job = "statefun-local";
/// The `client` label of the http_client that `live/fetch` calls /livez with.
constexpr std::string_view livez_client_name = "livez";
/// The bound on every wait: generous, so that only a hang fails on it.
constexpr auto wait_bound = 30s;

constexpr statefun::value_spec<std::int32_t> live_count{"count"};

/// The client `live/fetch` calls with (set by live_run while its servers run; a coroutine
/// function cannot capture it, see docs/task.md on coroutine lambdas).
statefun::asio::http_client* livez_client = nullptr;

/// A coroutine function that waits on an outside call (so it counts as suspended meanwhile) and
/// answers its status.
statefun::task<std::string> fetch_livez(statefun::context& /*ctx*/, statefun::message /*msg*/) {
  const auto response = co_await livez_client->get("/livez");
  co_return std::to_string(response.status);
}

/// A durable flow: a sleep, a call to `live/fetch`, an egress record. Each step is replayed by
/// the batches after it.
statefun::task<> live_flow(statefun::durable_context& ctx, const statefun::message& /*msg*/) {
  co_await ctx.sleep(1s);
  const auto status = co_await ctx.call<std::string>({"live/fetch", ctx.self().id}, std::string("livez"));
  ctx.send_egress(statefun::egress_to("live/out").value(ctx.self().id + ": " + status));
}

/// Functions that count (and send one message per invocation), one that throws, a coroutine
/// function and a durable one.
struct live_functions {
  explicit live_functions(statefun::observer& observer) {
    fns.bind("live/counter", {live_count}, [](statefun::context& ctx, const statefun::message&) {
      ctx.storage().set(live_count, ctx.storage().get(live_count).value_or(0) + 1);
      ctx.send(statefun::message_to({"live/sink", "a"}).value(1));
    });
    fns.bind("live/throws", [](statefun::context&, const statefun::message&) {
      throw std::runtime_error("on purpose");
    });
    fns.bind("live/fetch", fetch_livez);
    fns.bind("live/flow", live_flow);
    fns.observe(&observer);
  }
  statefun::functions fns;
};

/**
 * What the test waits on: the responses the service wrote (as its observer, beside the
 * Prometheus one) and the scrapes of the exposition (as the scrape server's metrics source,
 * forwarding to the Prometheus observer).
 */
class witness final : public statefun::observer {
 public:
  explicit witness(const statefun::metrics::prometheus& metrics) : metrics_(metrics) {}

  void response(const statefun::response_event& /*event*/) noexcept override { bump(responses_); }

  bool expose(std::string& out) const override {
    metrics_.write(out);
    bump(scrapes_);  // after the write: a scrape counted here began after the caller read the count
    return true;
  }

  std::uint64_t scrapes() const {
    const std::lock_guard lock(mutex_);
    return scrapes_;
  }

  /// Waits until at least `n` responses were written.
  void wait_responses(std::uint64_t n) const { wait(responses_, n, "responses"); }

  /// Waits until the exposition was served at least `n` times.
  void wait_scrapes(std::uint64_t n) const { wait(scrapes_, n, "scrapes (is Prometheus running?)"); }

 private:
  void bump(std::uint64_t& count) const noexcept {
    {
      const std::lock_guard lock(mutex_);
      ++count;
    }
    changed_.notify_all();
  }

  void wait(const std::uint64_t& count, std::uint64_t n, std::string_view what) const {
    std::unique_lock lock(mutex_);
    if (!changed_.wait_for(lock, wait_bound, [&] { return count >= n; })) {
      throw std::runtime_error("waited in vain for " + std::to_string(n) + " " + std::string(what) + "; " +
                               std::to_string(count) + " so far");
    }
  }

  const statefun::metrics::prometheus& metrics_;
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  mutable std::uint64_t responses_ = 0;
  mutable std::uint64_t scrapes_ = 0;
};

/// A free TCP port on 127.0.0.1 (Prometheus cannot report the port it bound for :0).
std::uint16_t free_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  return acceptor.local_endpoint().port();
}

/**
 * A Prometheus server of its own: config and storage in a temporary directory, listening on
 * 127.0.0.1, scraping each job's target every 250 ms. Stopped (SIGTERM, then SIGKILL should it not exit)
 * and its directory removed on destruction; started under `setpriv --pdeathsig KILL` so that
 * the kernel kills it should the test process die without unwinding.
 */
class prometheus_server {
 public:
  /// `targets`: job name -> target (`host:port`).
  explicit prometheus_server(const std::map<std::string, std::string>& targets) : port_(free_port()) {
    std::string yaml = "global:\n"
                       "  scrape_interval: 250ms\n"
                       "  scrape_timeout: 250ms\n"
                       "scrape_configs:\n";
    for (const auto& [name, target] : targets) {
      yaml += "  - job_name: " + name + "\n"
              "    static_configs:\n"
              "      - targets: [\"" + target + "\"]\n";
    }
    const std::string config = dir_.write("prometheus.yml", yaml);
    std::vector<std::string> argv;
    if (::access("/usr/bin/setpriv", X_OK) == 0) {
      argv = {"/usr/bin/setpriv", "--pdeathsig", "KILL"};
    }
    argv.insert(argv.end(), {STATEFUN_TEST_PROMETHEUS, "--config.file=" + config,
                             "--storage.tsdb.path=" + (dir_ / "data"),
                             "--web.listen-address=127.0.0.1:" + std::to_string(port_), "--log.level=error"});
    child_.emplace(argv);
  }

  prometheus_server(const prometheus_server&) = delete;
  prometheus_server& operator=(const prometheus_server&) = delete;

  ~prometheus_server() {
    try {
      child_->signal(SIGTERM);
      (void)child_->wait(10s);  // kills it if it does not exit by then
    } catch (const std::exception& e) {
      std::fprintf(stderr, "stopping prometheus: %s\n", e.what());
    }
    // (child_ reaps or kills, then dir_ removes the storage.)
  }

  std::uint16_t port() const noexcept { return port_; }

 private:
  statefun::test::temp_dir dir_;  // destroyed after the child
  std::uint16_t port_;
  std::optional<statefun::test::child> child_;
};

/// `text` percent-encoded for a query string (RFC 3986: all but the unreserved characters).
std::string url_encode(std::string_view text) {
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      char escaped[4];
      std::snprintf(escaped, sizeof escaped, "%%%02X", byte);
      out += escaped;
    }
  }
  return out;
}

/// Prometheus' HTTP API through statefun::asio::http_client.
class prometheus_api {
 public:
  explicit prometheus_api(std::uint16_t port) : client_(io_.get_executor(), "http://127.0.0.1:" + std::to_string(port)) {}

  /// GET `target`: the status and the body.
  std::pair<int, std::string> get(const std::string& target) {
    const auto response = statefun::test::run_on(io_, client_.get(target));
    return {response.status, response.body};
  }

  /// The `data` of a successful API answer to GET `target`; throws with Prometheus' error.
  nlohmann::json data(const std::string& target) {
    const auto [status, body] = get(target);
    const auto answer = nlohmann::json::parse(body);
    if (status != 200 || answer.at("status") != "success") {
      throw std::runtime_error("GET " + target + ": " + std::to_string(status) + " " + body);
    }
    return answer.at("data");
  }

  /// The result of the instant query `expr` at `time` (Prometheus' now if empty).
  nlohmann::json query(std::string_view expr, const std::string& time = {}) {
    return data("/api/v1/query?query=" + url_encode(expr) + (time.empty() ? "" : "&time=" + time)).at("result");
  }

  /// The value of the one series `expr` selects at `time`.
  double value(std::string_view expr, const std::string& time) {
    const auto result = query(expr, time);
    if (result.size() != 1) {
      throw std::runtime_error(std::string(expr) + " selects " + std::to_string(result.size()) + " series: " +
                               result.dump());
    }
    return std::stod(result[0].at("value").at(1).get<std::string>());
  }

 private:
  asio::io_context io_;
  statefun::asio::http_client client_;
};

/// A sample's timestamp (seconds, as the API writes them) as the API reads them: milliseconds.
std::string api_time(double seconds) {
  const auto ms = std::llround(seconds * 1000);
  char text[32];
  std::snprintf(text, sizeof text, "%lld.%03lld", ms / 1000, ms % 1000);
  return text;
}

/// Bytes of `v` as a state value on the wire.
std::size_t live_state_bytes(std::int32_t v) {
  std::string bytes;
  statefun::type<std::int32_t>::encode(v, bytes);
  return bytes.size();
}

/// What the test sent, and what each series must therefore read.
struct traffic {
  static constexpr int counter_batches = 5;
  static constexpr int batch_size = 3;  // in the histogram's (2, 5] bucket
  static constexpr int throwing_batches = 2;
  static constexpr int flows = 3;  // durable flows the local runtime starts, one per address
  std::size_t state_read = 0;
  std::size_t state_written = 0;
  std::uint64_t responses = 0;
};

/**
 * The whole run, once for all the test cases: the service, a scrape server for its metrics
 * (so that scrapes are not the service's traffic), Prometheus scraping it, the traffic, and the
 * Prometheus timestamp of a sample stored after the traffic (`end`).
 */
struct live_run {
  live_run() {
    livez.emplace(flows.server().executor(), "http://127.0.0.1:" + std::to_string(flows.port()),
                  statefun::asio::client_options{.observer = &metrics, .name = std::string(livez_client_name)});
    livez_client = &*livez;
    prometheus.emplace(std::map<std::string, std::string>{{std::string(job), scrape_target()},
                                                          {std::string(local_job), local_target()}});
    api.emplace(prometheus->port());
    wait_until_up();
    drive();
    drive_runtime();
    // Every event of the traffic is counted once the server wrote the last response (the
    // runtime's once run_until_quiescent returned); the next scrape begins after that, and it is
    // stored once the one after it begins. The local target first: its sample after the traffic
    // is then older than the service's last one, at which the test cases evaluate.
    seen.wait_responses(sent.responses);
    local_seen.wait_scrapes(local_seen.scrapes() + 2);
    seen.wait_scrapes(seen.scrapes() + 2);
    const auto samples = api->query(
        "statefun_function_invocations_total{function_type=\"live/counter\"}[1h]").at(0).at("values");
    first_value = std::stod(samples.front().at(1).get<std::string>());
    end = api_time(samples.back().at(0).get<double>());
  }

  live_run(const live_run&) = delete;
  live_run& operator=(const live_run&) = delete;

  ~live_run() {
    // The client's pooled connection belongs to the flows server's event loop: stop that first.
    flows.stop();
    livez_client = nullptr;
    livez.reset();
  }

  std::string scrape_target() const { return "127.0.0.1:" + std::to_string(scraper.port()); }
  std::string local_target() const { return "127.0.0.1:" + std::to_string(local_scraper.port()); }

  /// Waits until Prometheus is ready and its targets up, asking again after each scrape.
  void wait_until_up() {
    const auto deadline = std::chrono::steady_clock::now() + wait_bound;
    for (std::uint64_t scrapes = 2;; ++scrapes) {
      seen.wait_scrapes(scrapes);  // the first scrape is stored once the second begins
      try {
        const auto up = api->query("up");
        if (up.size() == 2 && std::all_of(up.begin(), up.end(), [](const auto& s) { return s.at("value").at(1) == "1"; })) {
          return;
        }
      } catch (const std::exception& e) {
        MESSAGE("Prometheus not ready yet: " << e.what());  // 503 until its storage is open
      }
      if (std::chrono::steady_clock::now() > deadline) {
        throw std::runtime_error("Prometheus did not report its target up within the deadline");
      }
    }
  }

  /// The requests, invocations and failures the test cases count on.
  void drive() {
    const auto expect = [this](client<>& c, const std::string& bytes, int status) {
      REQUIRE(c.exchange(bytes).status == status);
      ++sent.responses;
    };
    client service_client(service.port());
    for (int b = 0; b < traffic::counter_batches; ++b) {
      request batch("live", "counter", "id-" + std::to_string(b));
      batch.state("count", std::int32_t{b});
      sent.state_read += live_state_bytes(b);
      sent.state_written += live_state_bytes(b + traffic::batch_size);
      for (int i = 0; i < traffic::batch_size; ++i) {
        batch.invoke("x");
      }
      expect(service_client, runtime_post(batch.bytes()), 200);
    }
    // The runtime lacks the declared state: the missing-state handshake, not a batch.
    expect(service_client, runtime_post(request("live", "counter", "new").invoke("x").bytes()), 200);
    for (int b = 0; b < traffic::throwing_batches; ++b) {
      expect(service_client, runtime_post(request("live", "throws", "1").invoke("x").invoke("y").bytes()), 500);
    }
    expect(service_client, runtime_post(request("live", "nobody", "1").invoke("x").bytes()), 500);
    expect(service_client, runtime_post("not a batch"), 500);
    expect(service_client, "GET /elsewhere HTTP/1.1\r\nHost: x\r\n\r\n", 404);
    client refused(service.port());
    expect(refused, "HELLO\r\n\r\n", 400);
  }

  /**
   * The durable flows, through a local runtime observed by `local_metrics` that calls the flows
   * server: each flow sleeps (a delayed message), calls `live/fetch` (which calls /livez through
   * `livez`), and writes an egress record; then a snapshot and its restore. Virtual time: the
   * sleeps take none.
   */
  void drive_runtime() {
    namespace local = statefun::local;
    local::runtime rt({.clock = local::clock::virtual_time(), .observer = &local_metrics});
    rt.bind_http({.functions = "live/*", .url_path_template = "http://127.0.0.1:" + std::to_string(flows.port()) + "/statefun"});
    rt.add_egress({.kind = local::egress_kind::any, .id = "live/out"});
    for (int f = 0; f < traffic::flows; ++f) {
      rt.send(statefun::address{"live/flow", "f" + std::to_string(f)}, std::string("go"));
    }
    rt.run_until_quiescent();
    REQUIRE(rt.egress("live/out").size() == traffic::flows);
    rt.restore(rt.take_snapshot());
    rt.run_until_quiescent();
  }

  statefun::metrics::prometheus metrics;
  witness seen{metrics};
  statefun::observer_fanout service_observer{&metrics, &seen};
  live_functions functions{metrics};
  // The service answers no scrape: only the test's requests are its traffic.
  statefun::test::running_server service{functions.fns, {.path = "/statefun", .observer = &service_observer, .metrics_path = ""}};
  const statefun::functions none;
  statefun::test::running_server scraper{none, {.path = "/-", .metrics_source = &seen}};
  // The local runtime's traffic goes to a server of its own, the same functions (so their
  // events reach `metrics`) with no server observer: the service's server counts stay exactly
  // the test's requests. `live/fetch` calls its /livez.
  statefun::test::running_server flows{functions.fns, {.path = "/statefun", .metrics_path = ""}};
  std::optional<statefun::asio::http_client> livez;
  statefun::metrics::prometheus local_metrics;
  witness local_seen{local_metrics};
  statefun::test::running_server local_scraper{none, {.path = "/-", .metrics_source = &local_seen}};
  std::optional<prometheus_server> prometheus;  // stopped first
  std::optional<prometheus_api> api;
  traffic sent;
  double first_value = -1;
  std::string end;
};

/// The run, made by the first test case that needs it (a failure to make it fails each).
live_run& run() {
  static std::unique_ptr<live_run> made;
  static std::exception_ptr failed;
  if (failed) {
    std::rethrow_exception(failed);
  }
  if (!made) {
    try {
      made = std::make_unique<live_run>();
    } catch (...) {
      failed = std::current_exception();
      throw;
    }
  }
  return *made;
}

std::string series(std::string_view name, std::string_view labels) {
  return std::string(name) + "{job=\"" + std::string(job) + "\"" + (labels.empty() ? "" : ",") + std::string(labels) + "}";
}

}  // namespace

TEST_CASE("prometheus live: the counters Prometheus stored equal what the test sent") {
  auto& r = run();
  auto& api = *r.api;
  const auto at = [&](std::string_view name, std::string_view labels) { return api.value(series(name, labels), r.end); };
  const std::string counter = "function_type=\"live/counter\"";
  const std::string throws = "function_type=\"live/throws\"";
  CHECK(at("statefun_function_batches_total", counter) == traffic::counter_batches);
  CHECK(at("statefun_function_invocations_total", counter) == traffic::counter_batches * traffic::batch_size);
  CHECK(at("statefun_function_batch_size_count", counter) == traffic::counter_batches);
  CHECK(at("statefun_function_batch_size_sum", counter) == traffic::counter_batches * traffic::batch_size);
  CHECK(at("statefun_function_batch_duration_seconds_count", counter) == traffic::counter_batches);
  CHECK(at("statefun_function_missing_state_total", counter) == 1);
  CHECK(at("statefun_function_effects_total", counter + ",kind=\"message\"") == traffic::counter_batches * traffic::batch_size);
  CHECK(at("statefun_function_effects_total", counter + ",kind=\"reply\"") == 0);
  CHECK(at("statefun_function_state_read_bytes_total", counter) == static_cast<double>(r.sent.state_read));
  CHECK(at("statefun_function_state_written_bytes_total", counter) == static_cast<double>(r.sent.state_written));
  CHECK(at("statefun_function_batches_total", throws) == traffic::throwing_batches);
  CHECK(at("statefun_function_invocations_total", throws) == traffic::throwing_batches * 2);
  CHECK(at("statefun_function_failures_total", throws + ",kind=\"exception\"") == traffic::throwing_batches);
  CHECK(at("statefun_function_failures_total", "function_type=\"\",kind=\"unknown_function_type\"") == 1);
  CHECK(at("statefun_function_failures_total", "function_type=\"\",kind=\"malformed_request\"") == 1);
  CHECK(at("statefun_function_failures_total", counter + ",kind=\"exception\"") == 0);
  CHECK(at("statefun_server_responses_total", "status=\"200\"") == traffic::counter_batches + 1);
  CHECK(at("statefun_server_responses_total", "status=\"500\"") == traffic::throwing_batches + 2);
  CHECK(at("statefun_server_responses_total", "status=\"404\"") == 1);
  CHECK(at("statefun_server_responses_total", "status=\"400\"") == 1);
  CHECK(at("statefun_server_parser_refusals_total", "reason=\"bad_request\"") == 1);
  CHECK(at("statefun_server_connections_accepted_total", "") == 2);
  CHECK(at("statefun_server_connections_refused_total", "") == 0);
  CHECK(api.value("sum(" + series("statefun_server_responses_total", "") + ")", r.end) == static_cast<double>(r.sent.responses));
}

// increase(x[R]) extrapolates (last - first) to the window's edges, by the distance from each
// edge to the nearest sample when that is under 1.1 sample intervals. Here neither edge moves it:
// evaluated at the timestamp of the last sample, the window ends on a sample; and the window
// (an hour) reaches back before Prometheus started, so its first sample is the first scrape,
// taken before any traffic, where the counter was 0, and a counter is never extrapolated below
// zero. So increase() is last - first exactly, with no tolerance.
TEST_CASE("prometheus live: increase() over a window from before the traffic to after it is exactly what was sent") {
  auto& r = run();
  auto& api = *r.api;
  REQUIRE(r.first_value == 0);  // the premise: a sample before the traffic
  CHECK(api.value("increase(" + series("statefun_function_invocations_total", "function_type=\"live/counter\"") + "[1h])", r.end) ==
        traffic::counter_batches * traffic::batch_size);
  CHECK(api.value("increase(" + series("statefun_function_batches_total", "function_type=\"live/throws\"") + "[1h])", r.end) ==
        traffic::throwing_batches);
  CHECK(api.value("sum(increase(" + series("statefun_function_failures_total", "") + "[1h]))", r.end) ==
        traffic::throwing_batches + 2);
  CHECK(api.value("sum(increase(" + series("statefun_server_responses_total", "") + "[1h]))", r.end) ==
        static_cast<double>(r.sent.responses));
}

// Every batch of live/counter held 3 invocations: all in the (2, 5] bucket. histogram_quantile
// interpolates linearly inside it: the median is 2 + (5 - 2) * 0.5 = 3.5.
TEST_CASE("prometheus live: histogram_quantile() of the batch sizes falls in the bucket of the batches sent") {
  auto& r = run();
  auto& api = *r.api;
  const std::string buckets = series("statefun_function_batch_size_bucket", "function_type=\"live/counter\"");
  const double median = api.value("histogram_quantile(0.5, sum by (le) (increase(" + buckets + "[1h])))", r.end);
  CHECK(median > 2);
  CHECK(median <= 5);
  CHECK(median == doctest::Approx(3.5));
  const double p99 = api.value("histogram_quantile(0.99, sum by (le) (" + buckets + "))", r.end);
  CHECK(p99 > 2);
  CHECK(p99 <= 5);
  const double duration = api.value(
      "histogram_quantile(0.99, sum by (le) (" +
          series("statefun_function_batch_duration_seconds_bucket", "function_type=\"live/counter\"") + "))",
      r.end);
  CHECK(duration > 0);
  CHECK(duration <= 10);  // inside the buckets (the largest is 10 s)
}

TEST_CASE("prometheus live: promtool check metrics accepts the exposition the scrape server serves") {
  auto& r = run();
  client c(r.scraper.port());
  const auto response = c.exchange("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  REQUIRE(response.status == 200);
  statefun::test::temp_dir dir;
  const std::string file = dir.write("metrics.txt", response.body);
  const auto result = statefun::test::run({STATEFUN_TEST_PROMTOOL, "check", "metrics"}, statefun::test::hang_guard, file);
  INFO("promtool said: " << result.out << result.err);
  CHECK(result.status == statefun::test::exit_status::exited_with(0));
  CHECK(result.err.empty());
}

TEST_CASE("prometheus live: every query of the dashboards in docs/grafana evaluates, with data") {
  auto& r = run();
  auto& api = *r.api;
  const std::map<std::string, std::string> service_values{
      {"job", std::string(job)},
      {"instance", r.scrape_target()},
      {"function_type", "live/counter"},
      {"client", std::string(livez_client_name)},
      {"__rate_interval", "1m"},
      {"__interval", "1s"},
      {"__range", "1h"},
  };
  // The local runtime's dashboard reads the runtime's target.
  auto local_values = service_values;
  local_values["job"] = local_job;
  local_values["instance"] = r.local_target();
  local_values["function_type"] = "live/flow";
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(STATEFUN_TEST_DASHBOARDS)) {
    if (entry.path().extension() != ".json") {
      continue;
    }
    const auto& values = entry.path().filename() == "statefun-local.json" ? local_values : service_values;
    const auto dashboard = nlohmann::json::parse(statefun::test::read_file(entry.path().string()));
    for (const auto& query : statefun::test::dashboard_queries(dashboard)) {
      const std::string expr = statefun::test::substitute(query.expr, values);
      INFO(entry.path().filename().string() << ", " << query.where << ": " << expr);
      ++checked;
      if (!query.label.empty()) {
        // label_values(selector, label), as Grafana asks for it: the variable's value is offered.
        const auto offered = api.data("/api/v1/label/" + query.label + "/values?match[]=" + url_encode(expr));
        CHECK(std::find(offered.begin(), offered.end(), values.at(query.variable)) != offered.end());
        continue;
      }
      nlohmann::json result;
      CHECK_NOTHROW(result = api.query(expr, r.end));
      CHECK_FALSE(result.empty());  // a query that names a series Prometheus lacks has no data
    }
  }
  CHECK(checked > 10);
}

// Each flow: batch 1 starts it and sleeps; batch 2 (the sleep's delayed message) replays the
// sleep and calls live/fetch; batch 3 (the reply) replays the sleep and the call, then ends.
TEST_CASE("prometheus live: the durable flows, the coroutine function's outside call and the local runtime's routing are what the runtime did") {
  auto& r = run();
  auto& api = *r.api;
  const auto at = [&](std::string_view name, std::string_view labels) { return api.value(series(name, labels), r.end); };
  const std::string flow = "function_type=\"live/flow\"";
  const std::string fetch = "function_type=\"live/fetch\"";
  const std::string client = "client=\"" + std::string(livez_client_name) + "\"";
  CHECK(at("statefun_durable_flows_started_total", flow) == traffic::flows);
  CHECK(at("statefun_durable_flows_finished_total", flow) == traffic::flows);
  CHECK(at("statefun_durable_steps_replayed_total", flow) == 3 * traffic::flows);
  CHECK(at("statefun_durable_journal_read_bytes_total", flow) > 0);
  CHECK(at("statefun_durable_journal_written_bytes_total", flow) > 0);
  CHECK(at("statefun_durable_flows_started_total", fetch) == 0);
  CHECK(at("statefun_function_invocations_total", fetch) == traffic::flows);
  CHECK(at("statefun_function_suspended", fetch) == 0);  // every call came back
  CHECK(at("statefun_client_calls_total", client + ",outcome=\"2xx\"") == traffic::flows);
  CHECK(api.value("sum(" + series("statefun_client_calls_total", client) + ")", r.end) == traffic::flows);
  CHECK(at("statefun_client_call_duration_seconds_count", client) == traffic::flows);
  CHECK(at("statefun_client_retries_total", client) == 0);
  CHECK(at("statefun_client_connections_opened_total", client) >= 1);

  const auto local_at = [&](std::string_view name, std::string_view labels) {
    return api.value(std::string(name) + "{job=\"" + std::string(local_job) + "\"" + (labels.empty() ? "" : ",") +
                         std::string(labels) + "}",
                     r.end);
  };
  CHECK(local_at("statefun_local_messages_routed_total", flow + ",kind=\"ingress\"") == traffic::flows);
  CHECK(local_at("statefun_local_messages_routed_total", flow + ",kind=\"delayed\"") == traffic::flows);
  CHECK(local_at("statefun_local_messages_routed_total", flow + ",kind=\"message\"") == traffic::flows);  // the replies
  CHECK(local_at("statefun_local_messages_routed_total", fetch + ",kind=\"message\"") == traffic::flows);
  CHECK(local_at("statefun_local_egress_records_total", "egress=\"live/out\"") == traffic::flows);
  CHECK(local_at("statefun_local_snapshots_total", "") == 1);
  CHECK(local_at("statefun_local_restores_total", "") == 1);
  CHECK(local_at("statefun_local_delayed_messages", "") == 0);
  CHECK(local_at("statefun_local_requests_in_flight", "") == 0);
  CHECK(local_at("statefun_local_backlog_messages", flow) == 0);
}
