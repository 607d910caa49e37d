// The fraud-detection functions as an HTTP service for a StateFun cluster (see docker-compose.yml):
//   fraud-detection-functions [PORT]     (default 8000; POST /statefun)
// The merchant function calls the merchant-score service at $MERCHANT_SCORE_URL
// (default http://merchant-score:8080).

#include "../common/service.hpp"
#include "fraud.hpp"

#include <statefun/asio/server.hpp>

#include <cstdlib>
#include <exception>
#include <iostream>

int main(int argc, char** argv) try {
  const auto port = examples::port_argument(argc, argv);
  if (!port) {
    return 2;
  }
  const char* score_url = std::getenv("MERCHANT_SCORE_URL");

  // Not examples::serve: the merchant function's HTTP client is made on the server's executor,
  // and must go before the server does (its pooled connections belong to the server's loops).
  statefun::functions fns;
  statefun::asio::http_server server{fns, {.port = *port, .path = "/statefun"}};
  fraud::merchant_score_client scores(server.executor(), score_url != nullptr ? score_url : "http://merchant-score:8080");
  fraud::bind_functions(fns, scores);  // before run(): the server looks functions up as requests come
  std::cerr << argv[0] << ": serving on port " << *port << " at /statefun\n";
  server.run();
  return 0;
} catch (const std::exception& e) {
  std::cerr << argv[0] << ": " << e.what() << '\n';
  return 1;
}
