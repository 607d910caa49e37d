#include <statefun/asio/server.hpp>

#include <statefun/statefun.hpp>

#include <string>

#include "asio/server_support.hpp"
#include "support/doctest.hpp"
#include "support/files.hpp"
#include "support/requests.hpp"

using namespace std::chrono_literals;
using statefun::test::client;
using statefun::test::count;
using statefun::test::running_server;
using statefun::test::runtime_post;
using statefun::test::w1;
using statefun::test::test_functions;

namespace {

/// The count a FromFunction sets (the first mutation's value).
std::int32_t counted(const std::string& body) {
  return statefun::test::response(body).mutation_value<std::int32_t>(0);
}

}  // namespace

TEST_CASE("server: a POST as the runtime sends it is answered 200 with the FromFunction") {
  test_functions f;
  running_server server(f.fns);
  client c(server.port());
  const auto response = c.exchange(runtime_post(w1()));
  CHECK(response.status == 200);
  CHECK(response.content_type == "application/octet-stream");
  REQUIRE(response.content_length);
  CHECK(*response.content_length == std::to_string(response.body.size()));
  auto handler = f.fns.handler();
  const auto expected = handler.handle_sync(w1());
  REQUIRE(expected);
  CHECK(response.body == *expected);
}

TEST_CASE("server: keep-alive serves many requests on one connection") {
  test_functions f;
  running_server server(f.fns);
  client c(server.port());
  for (int i = 0; i < 5; ++i) {
    const auto response = c.exchange(runtime_post(w1()));
    REQUIRE(response.status == 200);
    CHECK(response.connection.empty());
  }
  CHECK(server.server().connections() == 1);
}

TEST_CASE("server: pipelined requests are answered in order") {
  test_functions f;
  running_server server(f.fns);
  client c(server.port());
  const std::string first =
      statefun::test::request("bench", "counter", "a").state("count", std::int32_t{0}).invoke(1).bytes();
  const std::string second =
      statefun::test::request("bench", "counter", "b").state("count", std::int32_t{41}).invoke(1).bytes();
  const std::string unknown = statefun::test::request("no", "such", "c").invoke(1).bytes();
  c.send(runtime_post(first) + runtime_post(unknown) + runtime_post(second));
  const auto a = c.receive();
  const auto b = c.receive();
  const auto d = c.receive();
  CHECK(a.status == 200);
  CHECK(counted(a.body) == 1);
  CHECK(b.status == 500);
  CHECK(d.status == 200);
  CHECK(counted(d.body) == 42);
}

TEST_CASE("server: a chunked request body is read like a Content-Length one") {
  test_functions f;
  running_server server(f.fns);
  client c(server.port());
  const std::string body = w1();
  std::string chunked =
      "POST /statefun HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  for (std::size_t at = 0; at < body.size(); at += 7) {
    const std::string piece = body.substr(at, 7);
    char size[8];
    std::snprintf(size, sizeof size, "%zx", piece.size());
    chunked += std::string(size) + ";ext=1\r\n" + piece + "\r\n";
  }
  chunked += "0\r\nTrailer-Field: x\r\n\r\n";
  const auto response = c.exchange(chunked);
  CHECK(response.status == 200);
  CHECK(counted(response.body) == 42);  // W1 holds count 41
}

TEST_CASE("server: Expect: 100-continue gets 100 Continue before the body is sent") {
  test_functions f;
  running_server server(f.fns);
  client c(server.port());
  const std::string body = w1();
  c.send("POST /statefun HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
         "Expect: 100-continue\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n");
  CHECK(c.receive().status == 100);
  c.send(body);
  const auto response = c.receive();
  CHECK(response.status == 200);
  CHECK(counted(response.body) == 42);
}

TEST_CASE("server: the liveness and readiness paths answer GET and HEAD for orchestrators; /healthz is an alias of /livez") {
  test_functions f;
  running_server server(f.fns, {.path = "/statefun"});
  client c(server.port());
  for (const std::string path : {"/livez", "/healthz", "/readyz"}) {
    CAPTURE(path);
    const auto get = c.exchange("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(get.status == 200);
    CHECK(get.body == (path == "/readyz" ? "ready\n" : "ok\n"));
    const auto head = c.exchange_head("HEAD " + path + "?probe=1 HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(head.status == 200);
    CHECK(head.body.empty());
    const auto post = c.exchange("POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    CHECK(post.status == 405);
    CHECK(post.allow == "GET, HEAD");
  }
}

TEST_CASE("server: empty probe paths are no routes") {
  test_functions f;
  running_server server(f.fns, {.path = "/statefun", .live_path = "", .ready_path = "", .health_path = ""});
  client c(server.port());
  CHECK(c.exchange("GET /livez HTTP/1.1\r\nHost: x\r\n\r\n").status == 404);
  CHECK(c.exchange("GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n").status == 404);
  CHECK(c.exchange("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").status == 404);
}

TEST_CASE("server: with a path set, other paths are 404 and other methods 405") {
  test_functions f;
  running_server server(f.fns, {.path = "/statefun"});
  client c(server.port());
  CHECK(c.exchange(runtime_post(w1(), "/other")).status == 404);
  CHECK(c.exchange(runtime_post(w1(), "/statefun?x=1")).status == 200);
  const auto get = c.exchange("GET /statefun HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(get.status == 405);
  CHECK(get.allow == "POST");
  const auto json = c.exchange(
      "POST /statefun HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
  CHECK(json.status == 415);
  CHECK(c.exchange(runtime_post(w1())).status == 200);  // still serving on the same connection
}

TEST_CASE("server: without a path set, every path serves functions") {
  test_functions f;
  running_server server(f.fns);
  client c(server.port());
  CHECK(c.exchange(runtime_post(w1(), "/")).status == 200);
  CHECK(c.exchange(runtime_post(w1(), "/%2Fstatefun")).status == 200);
  CHECK(c.exchange(runtime_post(w1(), "/any/thing")).status == 200);
}

TEST_CASE("server: failed requests are 500 with a reason and no effects, and serving goes on") {
  test_functions f;
  running_server server(f.fns);
  client c(server.port());
  SUBCASE("an exception from the function") {
    const auto response =
        c.exchange(runtime_post(statefun::test::request("test", "throws", "x").invoke(1).bytes()));
    CHECK(response.status == 500);
    CHECK(response.content_type == "text/plain; charset=utf-8");
    CHECK(response.body.find("the function failed on purpose") != std::string::npos);
  }
  SUBCASE("an unknown function type") {
    const auto response =
        c.exchange(runtime_post(statefun::test::request("no", "such", "x").invoke(1).bytes()));
    CHECK(response.status == 500);
    CHECK(response.body.find("no/such") != std::string::npos);
  }
  SUBCASE("bytes that are not a ToFunction") {
    const auto response = c.exchange(runtime_post("\xff\xff\xff garbage"));
    CHECK(response.status == 500);
    CHECK_FALSE(response.body.empty());
  }
  CHECK(c.exchange(runtime_post(w1())).status == 200);
  CHECK_FALSE(server.log().empty());  // the operator sees why
}
