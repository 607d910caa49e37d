// The Grafana dashboards of docs/grafana/ against the exposition: every query names only series
// that `metrics::prometheus` writes, and the dashboards are importable as they are. (That each
// query also evaluates in a real Prometheus is test/asio/prometheus_live_test.cpp's part.)

#include <statefun/metrics/prometheus.hpp>

#include <statefun/request_reply_handler.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "support/doctest.hpp"
#include "support/exposition.hpp"
#include "support/grafana.hpp"
#include "support/process.hpp"
#include "support/requests.hpp"

#ifndef STATEFUN_TEST_DASHBOARDS
#error "the build passes STATEFUN_TEST_DASHBOARDS, the folder of the Grafana dashboards (docs/grafana)"
#endif

namespace {

constexpr statefun::value_spec<std::int32_t> dashboard_seen{"seen"};

/// The dashboards of docs/grafana, parsed, by file name.
std::vector<std::pair<std::string, nlohmann::json>> shipped_dashboards() {
  std::vector<std::pair<std::string, nlohmann::json>> dashboards;
  for (const auto& entry : std::filesystem::directory_iterator(STATEFUN_TEST_DASHBOARDS)) {
    if (entry.path().extension() == ".json") {
      dashboards.emplace_back(entry.path().filename().string(),
                              nlohmann::json::parse(statefun::test::read_file(entry.path().string())));
    }
  }
  return dashboards;
}

/// The families (name -> type) of the exposition of an observer that saw a batch, a failure,
/// the server's events, an HTTP client and a local runtime (whose families appear once one
/// takes the observer).
std::map<std::string, std::string> exposed_families() {
  statefun::metrics::prometheus metrics;
  statefun::functions fns;
  fns.bind("dash/counter", {dashboard_seen}, [](statefun::context& ctx, const statefun::message&) {
    ctx.storage().set(dashboard_seen, ctx.storage().get(dashboard_seen).value_or(0) + 1);
  });
  fns.observe(&metrics);
  auto handler = fns.handler();
  REQUIRE(handler.handle_sync(statefun::test::request("dash", "counter", "1").state("seen", std::int32_t{1}).invoke("a").bytes()));
  CHECK_FALSE(handler.handle_sync("not a batch"));
  metrics.connection(statefun::connection_event::accepted);
  metrics.bytes_received(100);
  metrics.response({.status = 200, .bytes = 50});
  (void)metrics.client("dash");
  metrics.local_runtime_attached();
  std::string text;
  metrics.write(text);
  return statefun::test::parse_exposition(text).types;
}

}  // namespace

TEST_CASE("metric_names picks the metrics out of PromQL, not functions, labels, variables or durations") {
  using statefun::test::metric_names;
  CHECK(metric_names(R"(histogram_quantile(0.99, sum by (le, function_type) (rate(a_bucket{job=~"$job",x="y{z}"}[$__rate_interval]))))") ==
        std::set<std::string>{"a_bucket"});
  CHECK(metric_names("sum without (instance) (rate(b_total[5m] offset 1h)) / on(job) group_left(x) c and ignoring (k) d > bool 0.5") ==
        std::set<std::string>{"b_total", "c", "d"});
  CHECK(metric_names("count(up) - 1e3 + max(${v}) * topk(3, e:recorded)") == std::set<std::string>{"up", "e:recorded"});
}

TEST_CASE("every query of every dashboard in docs/grafana names only series the exposition has") {
  const auto families = exposed_families();
  const auto dashboards = shipped_dashboards();
  REQUIRE_FALSE(dashboards.empty());
  for (const auto& shipped : dashboards) {
    const std::string& file = shipped.first;  // (clang 14: INFO's lambda cannot capture a structured binding)
    const nlohmann::json& dashboard = shipped.second;
    const auto queries = statefun::test::dashboard_queries(dashboard);
    CHECK(queries.size() > 10);
    for (const auto& query : queries) {
      INFO(file << ", " << query.where << ": " << query.expr);
      const auto names = statefun::test::metric_names(query.expr);
      CHECK_FALSE(names.empty());  // a query that selects no metric shows nothing
      for (const std::string& name : names) {
        CHECK(statefun::test::unknown_series(name, families) == "");
      }
    }
  }
}

TEST_CASE("the dashboards import as they are: one datasource variable that every panel and query uses") {
  for (const auto& shipped : shipped_dashboards()) {
    const std::string& file = shipped.first;
    const nlohmann::json& dashboard = shipped.second;
    INFO(file);
    CHECK_FALSE(dashboard.at("title").get<std::string>().empty());
    CHECK_FALSE(dashboard.at("uid").get<std::string>().empty());
    CHECK_FALSE(dashboard.contains("id"));  // an exported id would clash with the importer's dashboards
    std::set<std::string> datasource_variables;
    for (const auto& variable : dashboard.at("templating").at("list")) {
      if (variable.at("type") == "datasource") {
        CHECK(variable.at("query") == "prometheus");
        datasource_variables.insert(variable.at("name").get<std::string>());
      }
    }
    REQUIRE(datasource_variables.size() == 1);
    const nlohmann::json datasource{{"type", "prometheus"}, {"uid", "${" + *datasource_variables.begin() + "}"}};
    std::set<int> ids;
    const auto check_panels = [&](const nlohmann::json& panels, const auto& self) -> void {
      for (const auto& panel : panels) {
        INFO("panel " << panel.value("title", std::string("?")));
        CHECK(ids.insert(panel.at("id").get<int>()).second);
        const auto& at = panel.at("gridPos");
        CHECK(at.at("x").get<int>() + at.at("w").get<int>() <= 24);
        if (panel.at("type") != "row") {
          CHECK(panel.at("datasource") == datasource);
          REQUIRE_FALSE(panel.at("targets").empty());
          for (const auto& target : panel.at("targets")) {
            CHECK(target.at("datasource") == datasource);
          }
        }
        if (panel.contains("panels")) {
          self(panel.at("panels"), self);
        }
      }
    };
    check_panels(dashboard.at("panels"), check_panels);
  }
}
