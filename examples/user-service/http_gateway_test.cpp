// The HTTP gateway on its own, over real loopback sockets, with a request bus the test controls:
// answers held back, given in any order, or never given.

#include "http_gateway.hpp"
#include "test_client.hpp"

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace user_service;
using user_service::test::test_connection;
using json = nlohmann::json;
using namespace std::chrono_literals;

/// A bus that keeps what is published and answers as the test says.
class scripted_bus final : public request_bus {
 public:
  /// Answers each request as soon as it is published (with the request it answers, as JSON).
  bool answer_at_once = false;
  /// Holds answers until this many requests wait, then gives them all, last first.
  std::size_t answer_together = 0;
  /// Answers every request with someone else's request id.
  bool answer_with_wrong_id = false;

  void publish(const user_request& request) override {
    published_.push_back(request);
    published_count_.fetch_add(1);
    published_count_.notify_all();
    if (answer_at_once) {
      answer(request);
    } else if (answer_with_wrong_id) {
      deliver_({.request_id = "another-gateway-1", .status = 200, .body = json::object()});
    } else if (answer_together > 0 && published_.size() == answer_together) {
      for (auto it = published_.rbegin(); it != published_.rend(); ++it) {
        answer(*it);
      }
    }
  }

  void on_answer(std::function<void(user_response)> deliver) override { deliver_ = std::move(deliver); }

  /// What was published (read it on the gateway's thread, or once it has stopped).
  const std::vector<user_request>& published() const { return published_; }

  /// Waits (on the test's thread) until `n` requests have been published.
  void wait_until_published(std::size_t n) const {
    for (std::size_t now = published_count_.load(); now < n; now = published_count_.load()) {
      published_count_.wait(now);
    }
  }

 private:
  void answer(const user_request& request) {
    deliver_({.request_id = request.request_id, .status = 200, .body = request});
  }

  std::vector<user_request> published_;
  std::atomic<std::size_t> published_count_{0};
  std::function<void(user_response)> deliver_;
};

/// The gateway on an event loop of its own, on another thread, listening on a free port.
struct gateway_on_a_thread {
  asio::io_context io;
  scripted_bus bus;
  std::unique_ptr<http_gateway> gateway;
  std::uint16_t port = 0;
  std::thread loop;

  explicit gateway_on_a_thread(gateway_options options = {}) {
    options.port = 0;
    gateway = std::make_unique<http_gateway>(io, bus, options);
    port = gateway->port();
    loop = std::thread([this] { io.run(); });  // the listener keeps it running until stop()
  }

  /// Runs `work` on the gateway's thread and returns its result.
  template <class Work>
  auto on_loop(Work work) {
    std::packaged_task<decltype(work())()> task(std::move(work));
    auto result = task.get_future();
    asio::post(io, std::ref(task));
    return result.get();
  }

  ~gateway_on_a_thread() { stop(); }

  /// Stops the gateway and waits until the event loop has nothing left: every connection over.
  void stop() {
    if (loop.joinable()) {
      asio::post(io, [this] { gateway->stop(); });
      loop.join();
    }
  }
};

}  // namespace

TEST_CASE("requests wait for their answers at once, and each gets its own, matched by request id") {
  gateway_on_a_thread app;
  constexpr std::size_t clients = 20;
  app.bus.answer_together = clients;  // no answer until all of them wait, then last first
  std::vector<std::unique_ptr<test_connection>> connections;
  for (std::size_t i = 0; i < clients; ++i) {
    connections.push_back(std::make_unique<test_connection>(app.port));
    connections.back()->send_request("GET", "/users/find/" + std::to_string(i));
  }
  for (std::size_t i = 0; i < clients; ++i) {
    const auto response = connections[i]->receive();
    CHECK(response.status == 200);
    CHECK(response.json["user_id"] == std::to_string(i));
    CHECK(response.json["op"] == "find");
  }
  app.stop();
  std::vector<std::string> ids;
  for (const auto& request : app.bus.published()) {
    ids.push_back(request.request_id);
  }
  std::sort(ids.begin(), ids.end());
  CHECK(std::adjacent_find(ids.begin(), ids.end()) == ids.end());  // all different
}

TEST_CASE("a request with no answer in time is 504, and its connection goes on serving") {
  gateway_on_a_thread app({.answer_timeout = 20ms});
  test_connection client(app.port);
  const auto timed_out = client.request("POST", "/users/create");
  CHECK(timed_out.status == 504);
  CHECK(timed_out.json == json{{"error", "no answer from the user service in time"}});
  CHECK(client.request("GET", "/nowhere").status == 404);
  CHECK(app.on_loop([&] { return app.gateway->requests_waiting(); }) == 0);
}

TEST_CASE("an answer to a request nobody waits for is dropped") {
  gateway_on_a_thread app({.answer_timeout = 20ms});
  app.bus.answer_with_wrong_id = true;
  test_connection client(app.port);
  CHECK(client.request("GET", "/users/find/1").status == 504);
}

TEST_CASE("routes answered at once never reach the bus") {
  gateway_on_a_thread app;
  test_connection client(app.port);
  const auto not_found = client.request("GET", "/users/find/abc");
  CHECK(not_found.status == 404);
  const auto wrong_method = client.request("PUT", "/users/create");
  CHECK(wrong_method.status == 405);
  CHECK(wrong_method.allow == "POST");
  CHECK(client.request("POST", "/users/credit/add/1/-5").status == 400);
  app.stop();
  CHECK(app.bus.published().empty());
}

TEST_CASE("pipelined requests are answered in order, even when answers come at once") {
  gateway_on_a_thread app;
  app.bus.answer_at_once = true;  // the answer is in before the request starts waiting
  test_connection client(app.port);
  client.send(
      "GET /users/find/1 HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /users/credit/add/2/30 HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /users/credit/3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(client.receive().json["user_id"] == "1");
  const auto second = client.receive();
  CHECK(second.json["op"] == "add_credit");
  CHECK(second.json["amount"] == 30);
  const auto third = client.receive();
  CHECK(third.json["user_id"] == "3");
  CHECK(third.connection == "close");
  CHECK(client.closed_by_gateway());
}

TEST_CASE("keep-alive is the default; HTTP/1.0 and Connection: close end the connection after the answer") {
  gateway_on_a_thread app;
  app.bus.answer_at_once = true;
  test_connection keep(app.port);
  for (int i = 0; i < 3; ++i) {
    const auto response = keep.request("GET", "/users/find/1");
    CHECK(response.status == 200);
    CHECK(response.connection == "keep-alive");
  }
  test_connection old(app.port);
  old.send("GET /users/find/1 HTTP/1.0\r\n\r\n");
  CHECK(old.receive().connection == "close");
  CHECK(old.closed_by_gateway());
}

TEST_CASE("malformed HTTP is refused with its status, the connection closed, and the gateway goes on") {
  gateway_on_a_thread app({.max_head_bytes = 1024, .max_body_bytes = 16});
  app.bus.answer_at_once = true;
  struct refusal {
    const char* bytes;
    int status;
  };
  for (const refusal r : {
           refusal{"this is not HTTP\r\n\r\n", 400},
           refusal{"GET /users/find/1 HTTP/1.1\r\n\r\n", 400},  // no Host
           refusal{"GET /users/find/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400},
           refusal{"POST /users/create HTTP/1.1\r\nHost: x\r\nContent-Length: 17\r\n\r\n", 413},
           refusal{"GET /users/find/1 HTTP/2.0\r\nHost: x\r\n\r\n", 505},
       }) {
    CAPTURE(r.bytes);
    test_connection client(app.port);
    client.send(r.bytes);
    const auto response = client.receive();
    CHECK(response.status == r.status);
    CHECK(response.json.contains("error"));
    CHECK(response.connection == "close");
    CHECK(client.closed_by_gateway());
  }
  test_connection big_head(app.port);
  big_head.send("GET /users/find/1 HTTP/1.1\r\nHost: x\r\nX-Padding: " + std::string(2000, 'x') + "\r\n\r\n");
  CHECK(big_head.receive().status == 431);

  test_connection after(app.port);
  CHECK(after.request("GET", "/users/find/1").status == 200);
}

TEST_CASE("a body within the limit is accepted and ignored; Expect: 100-continue is honoured") {
  gateway_on_a_thread app;
  app.bus.answer_at_once = true;
  test_connection client(app.port);
  client.send("POST /users/create HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n");
  CHECK(client.receive().status == 100);
  client.send("{}");
  const auto created = client.receive();
  CHECK(created.status == 200);
  CHECK(created.json["op"] == "create");
}

TEST_CASE("a client that does not finish its request within the idle timeout is disconnected") {
  gateway_on_a_thread app({.idle_timeout = 20ms});
  test_connection slow(app.port);
  slow.send("GET /users/fi");
  CHECK(slow.closed_by_gateway());
}

TEST_CASE("waiting for an answer is not idleness: the idle timeout does not cut it short") {
  // The idle timeout leaves a loaded machine time to send the request after connecting.
  gateway_on_a_thread app({.answer_timeout = 600ms, .idle_timeout = 200ms});
  test_connection client(app.port);
  CHECK(client.request("GET", "/users/find/1").status == 504);  // after 600 ms, on a live connection
}

TEST_CASE("stop() closes the listener and every connection, and the event loop runs out of work") {
  gateway_on_a_thread app({.answer_timeout = 60s});
  test_connection idle(app.port);
  test_connection waiting(app.port);
  waiting.send_request("POST", "/users/create");  // never answered: it waits until the stop
  app.bus.wait_until_published(1);
  CHECK(app.on_loop([&] { return app.gateway->requests_waiting(); }) == 1);
  CHECK(app.on_loop([&] { return app.gateway->connections(); }) == 2);
  app.stop();  // returns once io.run() has returned: nothing of the gateway is left running
  CHECK(app.gateway->connections() == 0);
  CHECK(app.gateway->requests_waiting() == 0);
  CHECK(idle.closed_by_gateway());
  CHECK(waiting.closed_by_gateway());
  CHECK_THROWS_AS(test_connection{app.port}, std::system_error);
}
