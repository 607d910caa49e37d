#include <statefun/cgi.hpp>

#include "support/doctest.hpp"
#include "support/files.hpp"
#include "support/requests.hpp"
#include "support/counter.hpp"

#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <streambuf>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using statefun::context;
using statefun::message;
using statefun_test::count;
using statefun_test::counter;
namespace cgi = statefun::cgi;

namespace {

statefun::functions counter_functions() {
  statefun::functions fns;
  fns.bind("bench/counter", {count}, counter);
  return fns;
}

/// A CGI response split into its status, header fields and body.
struct cgi_response {
  std::string status;
  std::vector<std::pair<std::string, std::string>> headers;  // in order, Status excluded
  std::string body;
  /// Every header line, the blank line included, ended in CR LF.
  bool crlf = true;

  /// The values of header `name`, in order.
  [[nodiscard]] std::vector<std::string> all(std::string_view name) const {
    std::vector<std::string> values;
    for (const auto& [field, value] : headers) {
      if (field == name) {
        values.push_back(value);
      }
    }
    return values;
  }

  /// The one value of header `name` ("" when absent; fails the test when repeated).
  [[nodiscard]] std::string field(std::string_view name) const {
    const std::vector<std::string> values = all(name);
    REQUIRE(values.size() <= 1);
    return values.empty() ? std::string() : values.front();
  }
};

cgi_response parse(const std::string& output) {
  cgi_response r;
  std::size_t at = 0;
  while (true) {
    const std::size_t newline = output.find('\n', at);
    REQUIRE_MESSAGE(newline != std::string::npos, "no blank line ends the CGI header in: " << output);
    std::string line = output.substr(at, newline - at);
    at = newline + 1;
    if (line.empty() || line.back() != '\r') {
      r.crlf = false;
    } else {
      line.pop_back();
    }
    if (line.empty()) {
      break;
    }
    const std::size_t colon = line.find(": ");
    REQUIRE_MESSAGE(colon != std::string::npos, "not a header line: " << line);
    std::string name = line.substr(0, colon);
    std::string value = line.substr(colon + 2);
    if (name == "Status") {
      CHECK_MESSAGE(r.headers.empty(), "Status comes first");
      r.status = std::move(value);
    } else {
      r.headers.emplace_back(std::move(name), std::move(value));
    }
  }
  r.body = output.substr(at);
  return r;
}

/// Runs `serve` on one request and parses what it wrote; `exit_code` must be 0.
cgi_response serve(const statefun::functions& fns, const cgi::environment& env, const std::string& input,
                   const cgi::options& opts = {}) {
  std::istringstream in(input);
  std::ostringstream out;
  const int exit_code = cgi::serve(fns, env, in, out, opts);
  CHECK(exit_code == 0);
  return parse(out.str());
}

cgi::environment post(const std::string& content_length) { return {"POST", content_length}; }

/// The response to a failure: text/plain whose body is the reason, with a matching length.
void check_failure(const cgi_response& r, std::string_view status) {
  CHECK(r.status == status);
  CHECK(r.field("Content-Type") == "text/plain");
  CHECK(r.field("Content-Length") == std::to_string(r.body.size()));
  CHECK_FALSE(r.body.empty());
  CHECK(r.crlf);
}

}  // namespace

TEST_CASE("a POST of W1 is answered 200 with exactly the FromFunction handle_sync gives") {
  const statefun::functions fns = counter_functions();
  const std::string request = statefun::test::read_data("workloads/w1_counter.bin");

  const cgi_response r = serve(fns, post(std::to_string(request.size())), request);

  auto handler = fns.handler();
  const auto expected = handler.handle_sync(request);
  REQUIRE(expected.has_value());
  CHECK(r.status == "200 OK");
  CHECK(r.all("Content-Type") == std::vector<std::string>{"application/octet-stream"});
  CHECK(r.field("Content-Length") == std::to_string(expected->size()));
  CHECK(r.body == *expected);
  // ...which is also the response the official SDKs gave (count 41 -> 42), byte for byte.
  CHECK(r.body == statefun::test::read_data("workloads/w1_counter.response.bin"));
  CHECK(statefun::test::response(r.body).mutation_value<std::int32_t>(0) == 42);
}

TEST_CASE("the response head is Status first, then the fields, every line ended in CR LF") {
  const statefun::functions fns = counter_functions();
  const std::string request = statefun::test::read_data("workloads/w1_counter.bin");
  std::istringstream in(request);
  std::ostringstream out;

  REQUIRE(cgi::serve(fns, post(std::to_string(request.size())), in, out) == 0);

  const std::string expected_head =
      "Status: 200 OK\r\n"
      "Content-Type: application/octet-stream\r\n"
      "Content-Length: 48\r\n"
      "\r\n";
  CHECK(out.str().substr(0, expected_head.size()) == expected_head);
  CHECK(out.str().size() == expected_head.size() + 48);
}

TEST_CASE("the missing-state handshake is an answer, not an error") {
  const statefun::functions fns = counter_functions();
  const std::string request = statefun::test::read_data("workloads/w4_missing_state.bin");

  const cgi_response r = serve(fns, post(std::to_string(request.size())), request);

  CHECK(r.status == "200 OK");
  CHECK(r.field("Content-Type") == "application/octet-stream");
  REQUIRE(statefun::test::response(r.body)->incomplete);
  CHECK(statefun::test::response(r.body)->missing_values.at(0).state_name == "count");
}

TEST_CASE("a coroutine function is served as a plain one is") {
  statefun::functions fns;
  fns.bind("bench/counter", {count}, [](context& ctx, const message&) -> statefun::task<> {
    ctx.storage().set(count, ctx.storage().get(count).value_or(0) + 1);
    co_return;
  });
  const std::string request = statefun::test::read_data("workloads/w1_counter.bin");

  const cgi_response r = serve(fns, post(std::to_string(request.size())), request);

  CHECK(r.status == "200 OK");
  CHECK(r.body == statefun::test::read_data("workloads/w1_counter.response.bin"));
}

TEST_CASE("a method other than POST is answered 405 with Allow: POST") {
  const statefun::functions fns = counter_functions();
  std::string method;
  SUBCASE("GET") { method = "GET"; }
  SUBCASE("HEAD") { method = "HEAD"; }
  SUBCASE("PUT") { method = "PUT"; }
  SUBCASE("lower-case post (methods are case-sensitive)") { method = "post"; }
  SUBCASE("unset") { method = ""; }
  const std::string request = statefun::test::read_data("workloads/w1_counter.bin");

  const cgi_response r = serve(fns, {method, std::to_string(request.size())}, request);

  check_failure(r, "405 Method Not Allowed");
  CHECK(r.field("Allow") == "POST");
}

TEST_CASE("a POST without CONTENT_LENGTH is answered 411") {
  const cgi_response r = serve(counter_functions(), post(""), "");
  check_failure(r, "411 Length Required");
  CHECK(r.field("Allow").empty());
}

TEST_CASE("a CONTENT_LENGTH that is not a byte count is answered 400") {
  std::string length;
  SUBCASE("letters") { length = "abc"; }
  SUBCASE("digits then letters") { length = "12a"; }
  SUBCASE("hexadecimal") { length = "0x10"; }
  SUBCASE("negative") { length = "-1"; }
  SUBCASE("plus sign") { length = "+5"; }
  SUBCASE("leading space") { length = " 5"; }
  SUBCASE("trailing space") { length = "5 "; }
  SUBCASE("a fraction") { length = "5.0"; }
  SUBCASE("beyond size_t") { length = "99999999999999999999999999"; }
  CAPTURE(length);

  const cgi_response r = serve(counter_functions(), post(length), "hello");

  check_failure(r, "400 Bad Request");
  CHECK(r.body.find(length) != std::string::npos);
}

TEST_CASE("a body that ends before CONTENT_LENGTH is answered 400") {
  const std::string request = statefun::test::read_data("workloads/w1_counter.bin");

  const cgi_response r = serve(counter_functions(), post(std::to_string(request.size() + 1)), request);

  check_failure(r, "400 Bad Request");
  CHECK(r.body == "the body ends after 113 of 114 bytes");
}

TEST_CASE("a body above the limit is answered 413 without reading any of it") {
  const statefun::functions fns = counter_functions();
  const std::string request = statefun::test::read_data("workloads/w1_counter.bin");

  SUBCASE("a configured limit") {
    std::istringstream in(request);
    std::ostringstream out;
    REQUIRE(cgi::serve(fns, post(std::to_string(request.size())), in, out, {.max_body_size = 112}) == 0);
    const cgi_response r = parse(out.str());
    check_failure(r, "413 Content Too Large");
    CHECK(in.tellg() == 0);  // not a byte read
  }
  SUBCASE("the default limit, 64 MiB: one byte more is refused even though nothing follows") {
    const cgi_response r = serve(fns, post(std::to_string((64u << 20) + 1)), "");
    check_failure(r, "413 Content Too Large");
  }
  SUBCASE("a body exactly at the limit is served") {
    const cgi_response r =
        serve(fns, post(std::to_string(request.size())), request, {.max_body_size = request.size()});
    CHECK(r.status == "200 OK");
  }
}

TEST_CASE("exactly CONTENT_LENGTH bytes are read, whatever follows them") {
  const std::string request = statefun::test::read_data("workloads/w1_counter.bin");
  std::istringstream in(request + "trailing bytes");
  std::ostringstream out;

  REQUIRE(cgi::serve(counter_functions(), post(std::to_string(request.size())), in, out) == 0);

  CHECK(parse(out.str()).status == "200 OK");
  std::string rest(14, '\0');
  in.read(rest.data(), 14);
  CHECK(rest == "trailing bytes");
}

TEST_CASE("a body the handler refuses is answered 500 with the handler's reason") {
  const statefun::functions fns = counter_functions();
  std::string request;
  SUBCASE("malformed protobuf") { request = "\x0a\xff"; }
  SUBCASE("an empty body") { request = ""; }
  SUBCASE("an unknown function type") {
    request = statefun::test::request("bench", "nobody", "1").state("count", 41).invoke("hello").bytes();
  }
  auto handler = fns.handler();
  const auto expected = handler.handle_sync(request);
  REQUIRE_FALSE(expected.has_value());

  const cgi_response r = serve(fns, post(std::to_string(request.size())), request);

  check_failure(r, "500 Internal Server Error");
  CHECK(r.body == expected.error().message());
}

TEST_CASE("an unknown function type is named in the 500") {
  const std::string request = statefun::test::read_data("workloads/w3_fanout.bin");  // bench/fanout
  const cgi_response r = serve(counter_functions(), post(std::to_string(request.size())), request);
  check_failure(r, "500 Internal Server Error");
  CHECK(r.body == "unknown function type: bench/fanout");
}

TEST_CASE("an exception from the function is a 500 with its reason and no FromFunction bytes") {
  statefun::functions fns;
  fns.bind("bench/counter", {count}, [](context& ctx, const message&) {
    ctx.storage().set(count, 7);  // an effect that must not reach the response
    throw std::runtime_error("the ledger is closed");
  });
  const std::string request = statefun::test::read_data("workloads/w1_counter.bin");

  const cgi_response r = serve(fns, post(std::to_string(request.size())), request);

  check_failure(r, "500 Internal Server Error");
  CHECK(r.body == "function failed: bench/counter/user-1: the ledger is closed");
  CHECK(r.all("Content-Type") == std::vector<std::string>{"text/plain"});
  CHECK(r.body.find("io.statefun.types/int") == std::string::npos);  // no trace of the mutation
}

TEST_CASE("serve returns 1 when the response cannot be written") {
  // A stream buffer with no room: std::streambuf's overflow() refuses every byte.
  struct full_buffer : std::streambuf {};
  full_buffer full;
  std::ostream out(&full);
  const std::string request = statefun::test::read_data("workloads/w1_counter.bin");
  std::istringstream in(request);

  SUBCASE("the stream sets badbit") {}
  SUBCASE("the stream throws") { out.exceptions(std::ios::badbit); }

  CHECK(cgi::serve(counter_functions(), post(std::to_string(request.size())), in, out) == 1);
}

#if defined(__unix__) || defined(__APPLE__)
TEST_CASE("the process environment is read from REQUEST_METHOD and CONTENT_LENGTH") {
  // POSIX setenv: the test binary is single-threaded while it runs.
  REQUIRE(::setenv("REQUEST_METHOD", "POST", 1) == 0);
  REQUIRE(::setenv("CONTENT_LENGTH", "113", 1) == 0);
  const cgi::environment set = cgi::environment::from_process();
  CHECK(set.request_method == "POST");
  CHECK(set.content_length == "113");

  REQUIRE(::unsetenv("REQUEST_METHOD") == 0);
  REQUIRE(::unsetenv("CONTENT_LENGTH") == 0);
  const cgi::environment unset = cgi::environment::from_process();
  CHECK(unset.request_method.empty());
  CHECK(unset.content_length.empty());
}
#endif
