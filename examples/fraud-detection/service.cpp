// The fraud-detection functions as an HTTP service for a StateFun cluster (see docker-compose.yml):
//   fraud-detection-functions [PORT]     (default 8000; POST /statefun)
// The merchant function calls the merchant-score service at $MERCHANT_SCORE_URL
// (default http://merchant-score:8080).

#include "../common/service.hpp"
#include "fraud.hpp"

#include <statefun/asio/server.hpp>

#include <cstdlib>
#include <memory>

int main(int argc, char** argv) {
  // The merchant function's client runs on the server's executor, and goes before the server
  // does (its pooled connections belong to the server's loops): serve() keeps it until then.
  return examples::serve(argc, argv, [](statefun::functions& fns, statefun::asio::http_server& server) {
    const char* url = std::getenv("MERCHANT_SCORE_URL");
    auto scores = std::make_unique<fraud::merchant_score_client>(server.executor(),
                                                                 url != nullptr ? url : "http://merchant-score:8080");
    fraud::bind_functions(fns, *scores);
    return scores;
  });
}
