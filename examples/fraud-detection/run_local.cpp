// The fraud-detection simulator: the whole application on the local runtime, configured by the
// module.yaml deployed to the cluster, with the functions in this process, a virtual clock, and
// the merchant-score service as a child process. A seeded stream of transactions and confirmed
// frauds goes through the Kafka ingress; alerts are printed as they are published, then a
// summary.
//
//   build/examples/fraud-detection/fraud-detection [TRANSACTIONS [SEED]]    (default: 200 1)

#include "fraud.hpp"
#include "score_service_process.hpp"
#include "simulation.hpp"

#include <statefun/local/module_yaml.hpp>
#include <statefun/local/runtime.hpp>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>
#include <stdexcept>
#include <string>
#include <variant>

namespace {

std::uint64_t number_argument(const char* text, const char* what) {
  std::uint64_t n = 0;
  const char* end = text + std::strlen(text);
  if (const auto [at, error] = std::from_chars(text, end, n); error != std::errc{} || at != end) {
    throw std::invalid_argument(std::string("the ") + what + " must be a whole number, not '" + text + "'");
  }
  return n;
}

std::string money(std::int64_t cents) {
  char text[32];
  std::snprintf(text, sizeof text, "%lld.%02lld", static_cast<long long>(cents / 100),
                static_cast<long long>(cents % 100));
  return text;
}

void print(const fraud::alert& a) {
  const fraud::feature_vector& f = a.features;
  std::cout << "alert: " << a.transaction.id << ' ' << a.transaction.account << ' ' << a.transaction.merchant << ' '
            << money(a.transaction.amount_cents) << " -> score " << a.score << " (merchant risk "
            << (f.merchant_known ? std::to_string(f.merchant_score) : "unknown") << ", recent frauds "
            << f.recent_frauds << ")\n";
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc > 3) {
    std::cerr << "usage: " << argv[0] << " [TRANSACTIONS [SEED]]\n";
    return 2;
  }
  const std::uint64_t transactions = argc > 1 ? number_argument(argv[1], "number of transactions") : 200;
  const std::uint64_t seed = argc > 2 ? number_argument(argv[2], "seed") : 1;

  fraud::score_service_process service(EXAMPLE_SCORE_SERVICE, {"--scores", fraud::simulated_merchant_scores()});
  statefun::functions fns;
  statefun::local::runtime rt(statefun::local::load_module(EXAMPLE_MODULE_YAML),
                              {.clock = statefun::local::clock::virtual_time()});
  // Calls from the functions run on the runtime's event loop: so does the client.
  fraud::merchant_score_client scores(rt.io_context().get_executor(), service.url());
  fraud::bind_functions(fns, scores);
  rt.serve(fns);  // in process: the module's endpoint (fraud-detection-functions:8000) is not needed
  rt.on_egress([](const statefun::local::egress_record& r) { print(statefun::type<fraud::alert>::decode(r.kafka->value)); });

  const auto start = rt.now();
  std::size_t reports = 0;
  for (const auto& event : fraud::simulate(transactions, seed)) {
    fraud::feed(rt, event);
    reports += std::holds_alternative<fraud::confirmed_fraud>(event.what) ? 1 : 0;
  }

  const auto elapsed = std::chrono::duration_cast<std::chrono::minutes>(rt.now() - start);
  std::cout << transactions << " transactions and " << reports << " confirmed frauds in " << elapsed.count() / 60
            << "h " << elapsed.count() % 60 << "min: " << rt.egress("fraud/alerts").size() << " alerts; merchant score "
            << "unavailable " << scores.unavailable() << " times\n";
  return 0;
} catch (const std::exception& e) {
  std::cerr << "fraud-detection: " << e.what() << '\n';
  return 1;
}
