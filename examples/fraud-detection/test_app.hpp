#pragma once

// The fraud-detection application as the tests run it: configured by its module.yaml, on the
// local runtime with a virtual clock, its functions in process, and the merchant-score service
// as a real process on a loopback port. Inputs go through the Kafka ingress, alerts are
// read at the Kafka egress.
//
// Time: the runtime's clock (delayed messages) is virtual and moves only when a test says so;
// the HTTP client's timeouts are real (Asio timers), and `run_until_idle` waits for them.

#include "fraud.hpp"
#include "score_service_process.hpp"
#include "simulation.hpp"

#include <statefun/asio/async_run.hpp>
#include <statefun/asio/http_client.hpp>
#include <statefun/local/module_yaml.hpp>
#include <statefun/local/runtime.hpp>

#include <asio/io_context.hpp>
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace fraud_test {

using namespace std::chrono_literals;
namespace local = statefun::local;

/// Merchants whose scores the tests choose.
inline const std::string crafted_scores = R"({"trusted-shop": 0, "average-shop": 50, "risky-shop": 100})";

/**
 * One merchant-score service for the tests of this program, started on first use: starting
 * Python takes longer than most tests. Each `fraud_app` resets it. Tests that leave attempts
 * behind (timeouts, the service still working on them) start one of their own instead, so that
 * those attempts cannot reach another test.
 */
inline const std::string& shared_service_url() {
  static const fraud::score_service_process service = [] {
    auto scores = nlohmann::json::parse(crafted_scores);  // and the simulation's merchants
    scores.update(nlohmann::json::parse(fraud::simulated_merchant_scores()));
    return fraud::score_service_process(EXAMPLE_SCORE_SERVICE, {"--scores", scores.dump()});
  }();
  static const std::string url = service.url();
  return url;
}

/// Generous per attempt: a loaded machine must not turn a prompt answer into a timeout.
inline constexpr fraud::score_service_options patient{.timeout = 2s, .retries = 2, .backoff = 10ms};

/// One blocking HTTP exchange with the service, outside the runtime (its own event loop).
inline statefun::asio::http_response call(const std::string& url, statefun::asio::http_request request) {
  ::asio::io_context io;
  statefun::asio::http_client client(io.get_executor(), url);
  std::exception_ptr error;
  statefun::asio::http_response response;
  statefun::asio::async_run(io.get_executor(), client.request(std::move(request)),
                            [&](std::exception_ptr e, statefun::asio::http_response r) {
                              error = e;
                              response = std::move(r);
                            });
  io.run();
  if (error) {
    std::rethrow_exception(error);
  }
  return response;
}

struct fraud_app {
  std::string service_url;
  statefun::functions fns;
  local::runtime rt{local::load_module(EXAMPLE_MODULE_YAML), {.clock = local::clock::virtual_time()}};
  fraud::merchant_score_client scores;  // after the runtime: it goes first, with its connections

  /// The application, with the shared merchant-score service as it started.
  explicit fraud_app(fraud::score_service_options options = patient) : fraud_app(shared_service_url(), options) {
    control({{"reset", true}});
  }

  /// The application, with the merchant-score service at `url`.
  fraud_app(std::string url, fraud::score_service_options options)
      : service_url(std::move(url)), scores(rt.io_context().get_executor(), service_url, options) {
    fraud::bind_functions(fns, scores);
    rt.serve(fns);
  }

  void transact(const fraud::transaction& tx) {
    rt.ingest("fraud/transactions", tx.id, tx, "transactions");
    rt.run_until_idle();
  }

  void confirm_fraud(const std::string& account, const std::string& transaction_id = "tx-earlier") {
    rt.ingest("fraud/transactions", account, fraud::confirmed_fraud{account, transaction_id}, "confirmed-fraud");
    rt.run_until_idle();
  }

  /// Every alert published so far, each checked to be on the topic "alerts" keyed by its account.
  std::vector<fraud::alert> alerts() const {
    std::vector<fraud::alert> out;
    for (const auto& record : rt.egress("fraud/alerts")) {
      REQUIRE(record.kafka);
      const auto a = statefun::type<fraud::alert>::decode(record.kafka->value);
      CHECK(record.kafka->topic == "alerts");
      CHECK(record.kafka->key == a.transaction.account);
      out.push_back(a);
    }
    return out;
  }

  /// The counter's state: frauds confirmed on `account` in the last 30 minutes (none: nothing stored).
  std::optional<std::int32_t> recent_frauds(const std::string& account) const {
    return rt.state(statefun::address{fraud::counter_type, account}, fraud::recent_frauds);
  }

  /// Whether the transaction manager of `id` still holds anything.
  bool holds_state(const std::string& id) const {
    const statefun::address manager{fraud::transaction_manager_type, id};
    return rt.state(manager, fraud::pending_transaction) || rt.state(manager, fraud::merchant_feature) ||
           rt.state(manager, fraud::fraud_feature);
  }

  /// Tells the service how to behave (see merchant_score_service.py).
  void control(const nlohmann::json& settings) {
    const auto answer = call(service_url, {"POST", "/control", {{"Content-Type", "application/json"}}, settings.dump()});
    REQUIRE_MESSAGE(answer.status == 200, answer.body);
  }

  /// How many score requests the service has received.
  std::int64_t score_requests() {
    const auto answer = call(service_url, {"GET", "/stats", {}, {}});
    REQUIRE(answer.status == 200);
    return nlohmann::json::parse(answer.body).at("score_requests").get<std::int64_t>();
  }
};

/// A transaction of `account` at `merchant` for `cents`.
inline fraud::transaction tx(std::string id, std::string account, std::string merchant, std::int64_t cents) {
  return {std::move(id), std::move(account), std::move(merchant), cents};
}

}  // namespace fraud_test

// Failed comparisons of alerts print them as JSON.
template <>
struct doctest::StringMaker<std::vector<fraud::alert>> {
  static doctest::String convert(const std::vector<fraud::alert>& alerts) {
    return nlohmann::json(alerts).dump().c_str();
  }
};
