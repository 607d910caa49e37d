#include <statefun/http/request_parser.hpp>
#include <statefun/http/response_parser.hpp>

// The HTTP/1.1 parsers: every refusal RFC 9112 asks of a strict server, the requests real
// clients send, and the incremental contract (any split, a moving buffer, pipelining).

#include "support/doctest.hpp"
#include "support/files.hpp"
#include "support/views_inside.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace std::string_literals;
using statefun::http::parse_status;
using statefun::http::parser_limits;
using statefun::http::request_parser;
using statefun::http::response_parser;

// --- Feeding bytes as a reader would ------------------------------------------------------------

/**
 * Feeds `raw` to `parser` in pieces that end at each of `cuts`, then at the end of `raw`, and
 * stops at the first call that completes or fails. Before every call the bytes so far move to a
 * new allocation, as in a reader that reallocates; the old one is scribbled over first, so a
 * pointer kept across calls shows.
 */
template <class Parser>
parse_status feed(Parser& parser, std::vector<char>& buffer, std::string_view raw, std::span<const std::size_t> cuts) {
  parse_status status = parse_status::need_more;
  std::size_t done = 0;
  const auto deliver = [&](std::size_t end) {
    std::vector<char> moved(end);
    std::copy(buffer.begin(), buffer.end(), moved.begin());
    std::copy(raw.begin() + static_cast<std::ptrdiff_t>(done), raw.begin() + static_cast<std::ptrdiff_t>(end),
              moved.begin() + static_cast<std::ptrdiff_t>(done));
    std::fill(buffer.begin(), buffer.end(), '\x7f');
    buffer = std::move(moved);
    done = end;
    status = parser.parse(buffer);
  };
  for (const std::size_t cut : cuts) {
    if (status == parse_status::need_more && cut > done && cut < raw.size()) {
      deliver(cut);
    }
  }
  if (status == parse_status::need_more && (done < raw.size() || raw.empty())) {
    deliver(raw.size());
  }
  return status;
}

std::vector<std::size_t> every_byte(std::string_view raw) {
  std::vector<std::size_t> cuts(raw.size());
  for (std::size_t i = 0; i < cuts.size(); ++i) {
    cuts[i] = i + 1;
  }
  return cuts;
}

/// Views must point into the buffer of the last call.
bool inside(const std::vector<char>& buffer, std::string_view view) {
  return statefun::test::inside({buffer.data(), buffer.size()}, view);
}

/// What parsing produced, comparable across ways of feeding the same bytes.
struct outcome {
  parse_status status = parse_status::need_more;
  int error = 0;
  bool head_complete = false;
  std::string start_line;           // method and target, or status code and reason
  std::vector<std::string> fields;  // "name: value", then "trailer name: value"
  bool keep_alive = false;
  std::string body;
  std::size_t message_size = 0;
  bool views_inside = true;

  friend bool operator==(const outcome&, const outcome&) = default;
  friend std::ostream& operator<<(std::ostream& out, const outcome& o) {
    out << "{status " << static_cast<int>(o.status) << ", error " << o.error << ", head " << o.head_complete << ", '"
        << o.start_line << "', " << o.fields.size() << " fields, keep-alive " << o.keep_alive << ", body of "
        << o.body.size() << ", size " << o.message_size << (o.views_inside ? "" : ", a view OUTSIDE the buffer")
        << "}";
    return out;
  }
};

std::string start_line_of(const request_parser& p) { return std::string(p.method()) + " " + std::string(p.target()); }
std::string start_line_of(const response_parser& p) {
  return std::to_string(p.status_code()) + " " + std::string(p.reason());
}

template <class Parser>
outcome outcome_of(const Parser& p, parse_status status, const std::vector<char>& buffer) {
  outcome o;
  o.status = status;
  if (status == parse_status::failed) {
    o.error = p.error().status;
  }
  if (status == parse_status::failed || !p.head_complete()) {
    return o;
  }
  o.head_complete = true;
  o.start_line = start_line_of(p);
  o.keep_alive = p.keep_alive();
  for (std::size_t i = 0; i < p.header_count(); ++i) {
    const auto f = p.header_at(i);
    o.fields.push_back(std::string(f.name) + ": " + std::string(f.value));
    o.views_inside = o.views_inside && inside(buffer, f.name) && inside(buffer, f.value);
  }
  if (status == parse_status::complete) {
    for (std::size_t i = 0; i < p.trailer_count(); ++i) {
      const auto f = p.trailer_at(i);
      o.fields.push_back("trailer " + std::string(f.name) + ": " + std::string(f.value));
    }
    o.body = std::string(p.body());
    o.message_size = p.message_size();
    o.views_inside = o.views_inside && inside(buffer, p.body()) && o.message_size <= buffer.size();
  }
  return o;
}

outcome parse_request(std::string_view raw, std::span<const std::size_t> cuts = {}, parser_limits limits = {}) {
  request_parser parser(limits);
  std::vector<char> buffer;
  const parse_status status = feed(parser, buffer, raw, cuts);
  return outcome_of(parser, status, buffer);
}

/// A response fed in pieces; with `eof`, the peer closes after the last byte (`finish`).
outcome parse_response(std::string_view raw, std::span<const std::size_t> cuts = {}, bool eof = false,
                       bool head_request = false) {
  response_parser parser;
  parser.expect_no_body(head_request);
  std::vector<char> buffer;
  parse_status status = feed(parser, buffer, raw, cuts);
  if (eof) {
    status = parser.finish(buffer);
  }
  return outcome_of(parser, status, buffer);
}

// --- Requests -----------------------------------------------------------------------------------

std::string request(std::string_view fields, std::string_view body = {}) {
  return "POST /f HTTP/1.1\r\nHost: h\r\n"s.append(fields).append("\r\n").append(body);
}
std::string chunked(std::string_view chunks, std::string_view more_fields = {}) {
  return request("Transfer-Encoding: chunked\r\n"s.append(more_fields), chunks);
}

std::string repeat(std::string_view s, std::size_t times) {
  std::string out;
  for (std::size_t i = 0; i < times; ++i) {
    out += s;
  }
  return out;
}

/// A request that only its one defect makes invalid, and the status that defect must get.
struct bad_request {
  const char* name;
  std::string raw;
  int status;
  parser_limits limits = {};
};

std::vector<bad_request> bad_requests() {
  std::string many_fields;
  for (int i = 0; i < 100; ++i) {
    many_fields += "X-" + std::to_string(i) + ": v\r\n";  // + Host = 101
  }
  const std::string big_field = "X-Big: " + std::string(16 * 1024, 'a') + "\r\n";
  const parser_limits small{.max_head_bytes = 64, .max_body_bytes = 8, .max_header_fields = 4};
  const parser_limits few_fields{.max_head_bytes = 1024, .max_body_bytes = 8, .max_header_fields = 3};
  return {
      // Request line (RFC 9112 §3)
      {"lowercase HTTP name", "GET / http/1.1\r\nHost: h\r\n\r\n", 400},
      {"HTTP/2.0", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505},
      {"HTTP/1.2", "GET / HTTP/1.2\r\nHost: h\r\n\r\n", 505},
      {"HTTP/0.9: no version", "GET /\r\n\r\n", 400},
      {"version without a minor", "GET / HTTP/1\r\nHost: h\r\n\r\n", 400},
      {"space after the version", "GET / HTTP/1.1 \r\nHost: h\r\n\r\n", 400},
      {"two spaces after the method", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"method that is not a token", "GE@T / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"no method", " / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"control character in the target", "GET /a\x01z HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"tab in the target", "GET /a\tz HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"non-ASCII in the target", "GET /\xC3\xA9 HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"relative target", "GET index.html HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"absolute-form without a scheme", "GET :x HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"asterisk-form outside OPTIONS", "GET * HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"bare LF after the request line", "GET / HTTP/1.1\nHost: h\r\n\r\n", 400},
      {"bare CR in the request line", "GET / HTTP/1.1\rHost: h\r\n\r\n", 400},
      {"bare LF before the request line", "\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      // Field lines (RFC 9112 §5)
      {"obs-fold", request("X-A: a\r\n b\r\n"), 400},
      {"whitespace before the first field", "GET / HTTP/1.1\r\n Host: h\r\n\r\n", 400},
      {"space before the colon", request("X-A : a\r\n"), 400},
      {"tab before the colon", request("X-A\t: a\r\n"), 400},
      {"NUL in a value", request("X-A: a\0b\r\n"s), 400},
      {"CR in a value", request("X-A: a\rb\r\n"), 400},
      {"DEL in a value", request("X-A: a\x7f\r\n"), 400},
      {"bare LF ending a field", request("X-A: a\nX-B: b\r\n"), 400},
      {"empty field name", request(": a\r\n"), 400},
      {"field name that is not a token", request("X(A): a\r\n"), 400},
      {"field without a colon", request("X-A a\r\n"), 400},
      {"Connection option that is not a token", request("Connection: close;now\r\n"), 400},
      // Host (RFC 9112 §3.2) and Expect (RFC 9110 §10.1.1)
      {"HTTP/1.1 without Host", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400},
      {"two Host fields", request("Host: h\r\n"), 400},
      {"two Host fields in HTTP/1.0", "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400},
      {"Expect other than 100-continue", request("Expect: 100-continue-please\r\nContent-Length: 0\r\n"), 417},
      // Framing: whatever two parsers could read differently (RFC 9112 §6)
      {"Content-Length then Transfer-Encoding",
       request("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"), 400},
      {"Transfer-Encoding then Content-Length",
       request("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", "0\r\n\r\n"), 400},
      {"two equal Content-Length fields", request("Content-Length: 1\r\nContent-Length: 1\r\n", "x"), 400},
      {"Content-Length list", request("Content-Length: 1, 1\r\n", "x"), 400},
      {"Content-Length with a sign", request("Content-Length: +1\r\n", "x"), 400},
      {"negative Content-Length", request("Content-Length: -1\r\n", "x"), 400},
      {"space inside Content-Length", request("Content-Length: 1 0\r\n", "0123456789"), 400},
      {"hex Content-Length", request("Content-Length: 0x1\r\n", "x"), 400},
      {"Content-Length over 64 bits", request("Content-Length: 18446744073709551616\r\n"), 400},
      {"empty Content-Length", request("Content-Length:\r\n"), 400},
      {"Transfer-Encoding: chunked, chunked", request("Transfer-Encoding: chunked, chunked\r\n", "0\r\n\r\n"), 501},
      {"Transfer-Encoding: gzip", request("Transfer-Encoding: gzip\r\n"), 501},
      {"Transfer-Encoding: gzip, chunked", request("Transfer-Encoding: gzip, chunked\r\n", "0\r\n\r\n"), 501},
      {"Transfer-Encoding in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"two Transfer-Encoding fields",
       request("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"), 400},
      // Chunked bodies (RFC 9112 §7.1)
      {"chunk size that is not hex", chunked("zz\r\n0\r\n\r\n"), 400},
      {"empty chunk size", chunked("\r\nhello\r\n0\r\n\r\n"), 400},
      {"chunk size of 17 hex digits", chunked("00000000000000005\r\nhello\r\n0\r\n\r\n"), 400},
      {"chunk size with 0x", chunked("0x5\r\nhello\r\n0\r\n\r\n"), 400},
      {"negative chunk size", chunked("-5\r\nhello\r\n0\r\n\r\n"), 400},
      {"space after the chunk size", chunked("5 \r\nhello\r\n0\r\n\r\n"), 400},
      {"chunk data longer than its size", chunked("5\r\nhelloXX\r\n0\r\n\r\n"), 400},
      {"chunk data followed by a bare LF", chunked("5\r\nhello\n0\r\n\r\n"), 400},
      {"chunk-size line ending in a bare LF", chunked("5\nhello\r\n0\r\n\r\n"), 400},
      {"empty chunk extension", chunked("5;\r\nhello\r\n0\r\n\r\n"), 400},
      {"chunk extension without a value", chunked("5;a=\r\nhello\r\n0\r\n\r\n"), 400},
      {"unterminated quoted chunk extension", chunked("5;a=\"b\r\nhello\r\n0\r\n\r\n"), 400},
      {"obs-fold in the trailers", chunked("0\r\nX-T: a\r\n b\r\n\r\n"), 400},
      {"space before the colon of a trailer", chunked("0\r\nX-T : a\r\n\r\n"), 400},
      // Limits
      {"head over 16 KiB", request(big_field), 431},
      {"head over 16 KiB, its end not arrived yet", request(big_field).substr(0, 17000), 431},
      {"101 header fields", request(many_fields), 431},
      {"Content-Length over 64 MiB, before any body", request("Content-Length: 67108865\r\n"), 413},
      {"chunk size over 64 MiB, before its data", chunked("4000001\r\n"), 413},
      {"chunk size of 16 f's", chunked("ffffffffffffffff\r\n"), 413},
      {"chunks adding up over the body limit", chunked("5\r\nhello\r\n5\r\nhello\r\n0\r\n\r\n"), 413, small},
      {"chunk extensions over the head budget", chunked("5;aaaaaaaaaa\r\nhello\r\n0\r\n\r\n"), 431, small},
      {"chunk extension running past the head budget", chunked("5;" + std::string(100, 'a')), 431, small},
      {"trailers over the head budget", chunked("0\r\nX-T: 1234567\r\n\r\n"), 431, small},
      {"trailer fields over the field limit", chunked("0\r\nX-A: 1\r\nX-B: 2\r\n\r\n"), 431, few_fields},
      {"empty lines before the request line, past the head limit", repeat("\r\n", 40) + "GET / HTTP/1.1\r\n", 431, small},
  };
}

}  // namespace

TEST_CASE("malformed requests are refused with the status RFC 9112 asks for, whole and byte by byte") {
  const auto rows = bad_requests();
  REQUIRE(rows.size() >= 40);
  for (const auto& row : rows) {
    CAPTURE(row.name);
    const outcome whole = parse_request(row.raw, {}, row.limits);
    const auto bytes = every_byte(row.raw);
    const outcome byte_by_byte = parse_request(row.raw, bytes, row.limits);
    CHECK(whole.status == parse_status::failed);
    CHECK(whole.error == row.status);
    CHECK(byte_by_byte == whole);
  }
}

namespace {

/// The request the StateFun runtime's Netty transport sends: its header names are Netty's
/// lower-case constants, in the order NettyHeaders adds them, Content-Length last.
std::string netty_request(std::string_view body) {
  return "POST /statefun HTTP/1.1\r\n"
         "content-type: application/octet-stream\r\n"
         "accept: application/octet-stream\r\n"
         "accept-encoding: gzip,deflate\r\n"
         "connection: keep-alive\r\n"
         "user-agent: statefun\r\n"
         "host: functions:8000\r\n"
         "content-length: " +
         std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

/// OkHttp's (the runtime's default transport), as its BridgeInterceptor writes it.
std::string okhttp_request(std::string_view body) {
  return "POST /statefun HTTP/1.1\r\n"
         "Content-Type: application/octet-stream\r\n"
         "Content-Length: " +
         std::to_string(body.size()) +
         "\r\n"
         "Host: functions:8000\r\n"
         "Connection: Keep-Alive\r\n"
         "Accept-Encoding: gzip\r\n"
         "User-Agent: okhttp/3.14.9\r\n\r\n" +
         std::string(body);
}

std::string curl_request(std::string_view body) {
  return "POST /statefun HTTP/1.1\r\n"
         "Host: localhost:8000\r\n"
         "User-Agent: curl/7.88.1\r\n"
         "Accept: */*\r\n"
         "Content-Type: application/octet-stream\r\n"
         "Content-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

/// Chunks with extensions (token and quoted values, BWS), mixed-case hex, and two trailers.
const std::string chunked_with_trailers = chunked(
    "5;name=value;q=\"a \\\"quoted\\\" one\"\r\nhello\r\n"
    "1A ; ext = token\r\nabcdefghijklmnopqrstuvwxyz\r\n"
    "1a\r\nABCDEFGHIJKLMNOPQRSTUVWXYZ\r\n"
    "0;last\r\n"
    "Expires: never\r\n"
    "X-Checksum:  42 \r\n"
    "\r\n");

std::string w1_body() { return statefun::test::read_data("workloads/w1_counter.bin"); }

/// Requests that must parse, for the properties every valid request has.
std::vector<std::string> valid_requests() {
  const std::string body = w1_body();
  return {netty_request(body),
          okhttp_request(body),
          curl_request(body),
          chunked_with_trailers,
          "GET / HTTP/1.0\r\n\r\n",
          "\r\nGET /index.html?q=1 HTTP/1.1\r\nHost: h\r\n\r\n",
          "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
          "GET http://h/x HTTP/1.1\r\nHost: h\r\n\r\n",
          request("Content-Length: 0\r\n")};
}

}  // namespace

TEST_CASE("the StateFun runtime's Netty request parses, its binary body in place") {
  const std::string body = w1_body();
  REQUIRE(body.size() == 113);
  const std::string raw = netty_request(body);
  std::vector<char> buffer(raw.begin(), raw.end());
  request_parser parser;

  REQUIRE(parser.parse(buffer) == parse_status::complete);
  CHECK(parser.method() == "POST");
  CHECK(parser.target() == "/statefun");
  CHECK(parser.minor_version() == 1);
  CHECK(parser.keep_alive());
  CHECK_FALSE(parser.expect_continue());
  CHECK(parser.header_count() == 7);
  CHECK(parser.header_at(5).name == "host");
  CHECK(parser.header_at(5).value == "functions:8000");
  CHECK(parser.header("Content-Type") == "application/octet-stream");
  CHECK(parser.header("User-Agent") == "statefun");
  CHECK(parser.content_length() == 113u);
  CHECK_FALSE(parser.chunked());
  CHECK(parser.body() == body);
  CHECK(parser.body().data() == buffer.data() + (raw.size() - body.size()));  // zero copy
  CHECK(parser.message_size() == raw.size());
}

TEST_CASE("OkHttp's and curl's requests parse with the body in place") {
  const std::string body = w1_body();
  for (const std::string& raw : {okhttp_request(body), curl_request(body)}) {
    std::vector<char> buffer(raw.begin(), raw.end());
    request_parser parser;
    REQUIRE(parser.parse(buffer) == parse_status::complete);
    CHECK(parser.method() == "POST");
    CHECK(parser.keep_alive());
    CHECK(parser.header("content-type") == "application/octet-stream");
    CHECK(parser.body() == body);
    CHECK(parser.body().data() == buffer.data() + (raw.size() - body.size()));
    CHECK(parser.message_size() == raw.size());
  }
}

TEST_CASE("a chunked body is de-chunked in place, right after the head, with its trailers kept apart") {
  std::vector<char> buffer(chunked_with_trailers.begin(), chunked_with_trailers.end());
  request_parser parser;

  REQUIRE(parser.parse(buffer) == parse_status::complete);
  CHECK(parser.chunked());
  CHECK_FALSE(parser.content_length());
  CHECK(parser.body() == "helloabcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
  CHECK(parser.body().data() == buffer.data() + chunked_with_trailers.find("\r\n\r\n") + 4);
  CHECK(parser.message_size() == chunked_with_trailers.size());
  CHECK(parser.header_count() == 2);
  CHECK_FALSE(parser.header("Expires"));  // a trailer is not a header
  CHECK(parser.trailer_count() == 2);
  CHECK(parser.trailer("expires") == "never");
  CHECK(parser.trailer("X-Checksum") == "42");
  CHECK(parser.trailer_at(1).name == "X-Checksum");
}

TEST_CASE("every valid request gives the same result at every split point, and byte by byte") {
  for (const std::string& raw : valid_requests()) {
    CAPTURE(raw);
    const outcome whole = parse_request(raw);
    REQUIRE(whole.status == parse_status::complete);
    CHECK(whole.message_size == raw.size());
    CHECK(whole.views_inside);
    for (std::size_t cut = 1; cut < raw.size(); ++cut) {
      const std::size_t cuts[] = {cut};
      CHECK(parse_request(raw, cuts) == whole);
    }
    CHECK(parse_request(raw, every_byte(raw)) == whole);
  }
}

TEST_CASE("views point into the buffer of the last call after it moved between calls") {
  const std::string raw = chunked_with_trailers;
  request_parser parser;
  std::vector<char> buffer;
  const std::size_t cuts[] = {10, 40, 70, 90, 130};
  REQUIRE(feed(parser, buffer, raw, cuts) == parse_status::complete);
  CHECK(parser.body().data() == buffer.data() + raw.find("\r\n\r\n") + 4);
  CHECK(parser.method().data() == buffer.data());
  CHECK(inside(buffer, parser.header_at(1).value));
  CHECK(inside(buffer, parser.trailer_at(0).value));
}

TEST_CASE("pipelined requests parse one after the other") {
  const std::string first = netty_request("abc");
  const std::string second = chunked("3\r\nxyz\r\n0\r\n\r\n");
  const std::string third = "GET /next HTTP/1.1\r\nHost: h\r\n\r\n";
  std::string buffer = first + second + third + "GET /partial HT";
  request_parser parser;

  REQUIRE(parser.parse(buffer) == parse_status::complete);
  CHECK(parser.body() == "abc");
  REQUIRE(parser.message_size() == first.size());
  buffer.erase(0, parser.message_size());
  parser.reset();

  REQUIRE(parser.parse(buffer) == parse_status::complete);
  CHECK(parser.body() == "xyz");
  REQUIRE(parser.message_size() == second.size());
  buffer.erase(0, parser.message_size());
  parser.reset();

  REQUIRE(parser.parse(buffer) == parse_status::complete);
  CHECK(parser.target() == "/next");
  CHECK(parser.body().empty());  // no Content-Length, no chunked: the next bytes are the next request
  CHECK(parser.message_size() == third.size());
  buffer.erase(0, parser.message_size());
  parser.reset();

  CHECK(parser.parse(buffer) == parse_status::need_more);
  CHECK_FALSE(parser.head_complete());
}

TEST_CASE("keep-alive follows the version and the Connection options") {
  struct row {
    const char* version;
    const char* fields;
    bool keep_alive;
  };
  const row rows[] = {
      {"HTTP/1.1", "", true},
      {"HTTP/1.1", "Connection: close\r\n", false},
      {"HTTP/1.1", "Connection: Close\r\n", false},
      {"HTTP/1.1", "Connection: keep-alive, close\r\n", false},
      {"HTTP/1.1", "Connection: Upgrade,CLOSE\r\n", false},
      {"HTTP/1.1", "Connection: , ,close ,\r\n", false},
      {"HTTP/1.1", "Connection: keep-alive\r\n", true},
      {"HTTP/1.1", "Connection: closed\r\n", true},
      {"HTTP/1.0", "", false},
      {"HTTP/1.0", "Connection: keep-alive\r\n", true},
      {"HTTP/1.0", "Connection: Keep-Alive\r\n", true},
      {"HTTP/1.0", "Connection: foo, keep-alive\r\n", true},
      {"HTTP/1.0", "Connection: keep-alive\r\nConnection: close\r\n", false},
  };
  for (const row& r : rows) {
    CAPTURE(r.version);
    CAPTURE(r.fields);
    const std::string raw = "GET / "s + r.version + "\r\nHost: h\r\n" + r.fields + "\r\n";
    std::string buffer = raw;
    request_parser parser;
    REQUIRE(parser.parse(buffer) == parse_status::complete);
    CHECK(parser.keep_alive() == r.keep_alive);
  }
}

TEST_CASE("Expect: 100-continue completes the head before the body arrives") {
  std::string buffer = request("Expect: 100-Continue\r\nContent-Length: 5\r\n");
  request_parser parser;

  CHECK(parser.parse(buffer) == parse_status::need_more);
  CHECK(parser.head_complete());
  CHECK(parser.expect_continue());
  CHECK(parser.body_bytes_expected() == 5);

  buffer += "hello";
  REQUIRE(parser.parse(buffer) == parse_status::complete);
  CHECK(parser.body() == "hello");

  SUBCASE("an HTTP/1.0 client cannot take a 100 Continue: the expectation is ignored") {
    std::string old = "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n";
    request_parser p;
    CHECK(p.parse(old) == parse_status::need_more);
    CHECK(p.head_complete());
    CHECK_FALSE(p.expect_continue());
  }
}

TEST_CASE("body_bytes_expected says how many body bytes are still missing") {
  request_parser parser;
  std::string buffer = request("Content-Length: 10\r\n", "abc");
  CHECK(parser.parse(buffer) == parse_status::need_more);
  CHECK(parser.body_bytes_expected() == 7);

  request_parser chunks;
  std::string chunked_buffer = chunked("a\r\nabcd");
  CHECK(chunks.parse(chunked_buffer) == parse_status::need_more);
  CHECK(chunks.body_bytes_expected() == 6);

  request_parser head;
  std::string partial = "GET / HT";
  CHECK(head.parse(partial) == parse_status::need_more);
  CHECK(head.body_bytes_expected() == 0);
}

TEST_CASE("a Content-Length over the body limit fails as soon as the head is in, before the body") {
  std::string buffer = request("Content-Length: 101\r\n");
  request_parser parser({.max_body_bytes = 100});
  REQUIRE(parser.parse(buffer) == parse_status::failed);
  CHECK(parser.error().status == 413);
  CHECK_FALSE(parser.head_complete());
  CHECK(parser.parse(buffer) == parse_status::failed);  // and stays failed
}

TEST_CASE("a head over the limit fails before its end arrives") {
  std::string buffer = "GET /" + std::string(200, 'a');
  request_parser parser({.max_head_bytes = 100});
  REQUIRE(parser.parse(buffer) == parse_status::failed);
  CHECK(parser.error().status == 431);

  SUBCASE("a head of exactly the limit is accepted") {
    const std::string exact = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
    std::string copy = exact;
    request_parser p({.max_head_bytes = exact.size()});
    CHECK(p.parse(copy) == parse_status::complete);
    request_parser smaller({.max_head_bytes = exact.size() - 1});
    CHECK(smaller.parse(copy) == parse_status::failed);
  }
}

TEST_CASE("header lookup is case-insensitive, trims OWS, and finds the first occurrence") {
  std::string buffer = request("X-Tag: \t one \t\r\nx-tag: two\r\nEmpty:\r\nObs: caf\xC3\xA9\r\n");
  request_parser parser;
  REQUIRE(parser.parse(buffer) == parse_status::complete);
  CHECK(parser.header("X-TAG") == "one");
  CHECK(parser.header("empty") == "");
  CHECK(parser.header("obs") == "caf\xC3\xA9");  // obs-text is allowed, and passed through
  CHECK_FALSE(parser.header("X-Ta"));
  CHECK(parser.header_count() == 5);
  CHECK(parser.header_at(2).name == "x-tag");
  CHECK(parser.header_at(2).value == "two");
}

TEST_CASE("each byte value is allowed in a field value exactly when RFC 9110 allows it, wherever it stands") {
  // VCHAR, obs-text, SP and HTAB; a long value, so that bytes are also checked eight at a time.
  for (int c = 0; c < 256; ++c) {
    const bool allowed = (c >= 0x20 && c != 0x7F) || c == '\t';
    for (const std::size_t at : {1u, 7u, 12u, 31u}) {
      std::string value(40, 'v');
      value[at] = static_cast<char>(c);
      const std::string raw = request("X-Value: " + value + "\r\n");
      CAPTURE(c);
      CAPTURE(at);
      const outcome o = parse_request(raw);
      CHECK(o.status == (allowed ? parse_status::complete : parse_status::failed));
      if (allowed) {
        CHECK(o.fields.at(1) == "X-Value: " + value);
      } else {
        CHECK(o.error == 400);
      }
    }
  }
}

TEST_CASE("lenient where RFC 9112 allows: leading empty lines, leading zeros, case-insensitive chunked") {
  for (const std::string& raw : {"\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"s, request("Content-Length: 007\r\n", "1234567"),
                                 request("Transfer-Encoding:  Chunked \r\n", "0\r\n\r\n")}) {
    CAPTURE(raw);
    const outcome o = parse_request(raw);
    CHECK(o.status == parse_status::complete);
    CHECK(o.message_size == raw.size());
  }
}

TEST_CASE("a parser resets to a clean state, whatever the message before left behind") {
  request_parser parser;
  std::string failed = request("Content-Length: 1\r\nContent-Length: 1\r\n");
  REQUIRE(parser.parse(failed) == parse_status::failed);
  parser.reset();
  std::string expecting = request("Expect: 100-continue\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n");
  REQUIRE(parser.parse(expecting) == parse_status::complete);
  parser.reset();
  std::string plain = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
  REQUIRE(parser.parse(plain) == parse_status::complete);
  CHECK_FALSE(parser.expect_continue());
  CHECK(parser.keep_alive());
  CHECK_FALSE(parser.chunked());
  CHECK(parser.error().status == 0);
  CHECK(parser.header_count() == 1);
}

// --- Responses ----------------------------------------------------------------------------------

TEST_CASE("a response's status line, reason with spaces and Content-Length body parse") {
  std::string buffer = "HTTP/1.1 404 Not Found Here\r\nContent-Type: application/octet-stream\r\nContent-Length: 3\r\n\r\nabc";
  response_parser parser;
  REQUIRE(parser.parse(buffer) == parse_status::complete);
  CHECK(parser.status_code() == 404);
  CHECK(parser.reason() == "Not Found Here");
  CHECK(parser.minor_version() == 1);
  CHECK(parser.keep_alive());
  CHECK(parser.header("content-type") == "application/octet-stream");
  CHECK(parser.body() == "abc");
  CHECK(parser.message_size() == buffer.size());

  SUBCASE("the reason may be empty, and its SP left out") {
    for (std::string line : {"HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n"s, "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n"s}) {
      response_parser p;
      REQUIRE(p.parse(line) == parse_status::complete);
      CHECK(p.status_code() == 200);
      CHECK(p.reason().empty());
    }
  }
}

TEST_CASE("a chunked response is de-chunked in place") {
  const std::string raw = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwire\r\n5\r\nbytes\r\n0\r\n\r\n";
  const outcome whole = parse_response(raw);
  REQUIRE(whole.status == parse_status::complete);
  CHECK(whole.body == "wirebytes");
  CHECK(whole.message_size == raw.size());
  CHECK(parse_response(raw, every_byte(raw)) == whole);
}

TEST_CASE("a response with neither Content-Length nor chunked ends when the peer closes") {
  const std::string raw = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall the bytes\r\n\r\nuntil close";
  std::string buffer = raw;
  response_parser parser;
  CHECK(parser.parse(buffer) == parse_status::need_more);
  CHECK(parser.head_complete());
  CHECK_FALSE(parser.keep_alive());
  REQUIRE(parser.finish(buffer) == parse_status::complete);
  CHECK(parser.body() == "all the bytes\r\n\r\nuntil close");
  CHECK(parser.message_size() == raw.size());

  const outcome whole = parse_response(raw, {}, true);
  CHECK(parse_response(raw, every_byte(raw), true) == whole);
}

TEST_CASE("100 Continue is a complete message with no body, and the final response follows") {
  const std::string interim = "HTTP/1.1 100 Continue\r\n\r\n";
  std::string buffer = interim + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  response_parser parser;
  REQUIRE(parser.parse(buffer) == parse_status::complete);
  CHECK(parser.status_code() == 100);
  CHECK(parser.body().empty());
  REQUIRE(parser.message_size() == interim.size());
  buffer.erase(0, parser.message_size());
  parser.reset();
  REQUIRE(parser.parse(buffer) == parse_status::complete);
  CHECK(parser.status_code() == 200);
  CHECK(parser.body() == "ok");
}

TEST_CASE("204, 304 and responses to HEAD have no body, whatever their fields say") {
  const std::string after = "HTTP/1.1 200 OK\r\n";  // the next response on the connection
  SUBCASE("204") {
    std::string buffer = "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n" + after;
    response_parser parser;
    REQUIRE(parser.parse(buffer) == parse_status::complete);
    CHECK(parser.body().empty());
    CHECK(parser.message_size() == buffer.size() - after.size());
  }
  SUBCASE("304") {
    std::string buffer = "HTTP/1.1 304 Not Modified\r\nContent-Length: 500\r\n\r\n" + after;
    response_parser parser;
    REQUIRE(parser.parse(buffer) == parse_status::complete);
    CHECK(parser.content_length() == 500u);
    CHECK(parser.body().empty());
  }
  SUBCASE("HEAD, with Content-Length or chunked") {
    for (std::string fields : {"Content-Length: 500\r\n"s, "Transfer-Encoding: chunked\r\n"s}) {
      std::string buffer = "HTTP/1.1 200 OK\r\n" + fields + "\r\n" + after;
      response_parser parser;
      parser.expect_no_body(true);
      REQUIRE(parser.parse(buffer) == parse_status::complete);
      CHECK(parser.body().empty());
      CHECK(parser.message_size() == buffer.size() - after.size());
      parser.reset();  // clears expect_no_body: the next response has its body
      std::string next = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
      REQUIRE(parser.parse(next) == parse_status::complete);
      CHECK(parser.body() == "ok");
    }
  }
}

TEST_CASE("malformed status lines are refused") {
  struct row {
    const char* name;
    const char* line;
    int status;
  };
  const row rows[] = {
      {"two-digit code", "HTTP/1.1 20 OK", 400},
      {"four-digit code", "HTTP/1.1 2000 OK", 400},
      {"code below 100", "HTTP/1.1 099 Early", 400},
      {"code above 599", "HTTP/1.1 600 Late", 400},
      {"two spaces before the code", "HTTP/1.1  200 OK", 400},
      {"no space before the reason", "HTTP/1.1 200OK", 400},
      {"no code", "HTTP/1.1", 400},
      {"control character in the reason", "HTTP/1.1 200 O\x01K", 400},
      {"lowercase HTTP name", "http/1.1 200 OK", 400},
      {"another protocol", "ICY 200 OK", 400},
      {"HTTP/2.0", "HTTP/2.0 200 OK", 505},
      {"bare LF", "HTTP/1.1 200 OK\n", 400},
  };
  for (const row& r : rows) {
    CAPTURE(r.name);
    const std::string raw = r.line + "\r\nContent-Length: 0\r\n\r\n"s;
    const outcome whole = parse_response(raw);
    CHECK(whole.status == parse_status::failed);
    CHECK(whole.error == r.status);
    CHECK(parse_response(raw, every_byte(raw)) == whole);
  }
}

TEST_CASE("a response cut short by the peer closing fails at finish") {
  for (const std::string& raw : {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"s,
                                 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"s,
                                 "HTTP/1.1 200 OK\r\nContent-Len"s, ""s}) {
    CAPTURE(raw);
    const outcome o = parse_response(raw, {}, true);
    CHECK(o.status == parse_status::failed);
    CHECK(o.error == 400);
  }
}

TEST_CASE("a response body over the limit fails, close-delimited or by Content-Length") {
  std::string close_delimited = "HTTP/1.1 200 OK\r\n\r\n" + std::string(11, 'x');
  response_parser parser({.max_body_bytes = 10});
  REQUIRE(parser.parse(close_delimited) == parse_status::failed);
  CHECK(parser.error().status == 413);

  std::string by_length = "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n";
  response_parser second({.max_body_bytes = 10});
  REQUIRE(second.parse(by_length) == parse_status::failed);
  CHECK(second.error().status == 413);
}

TEST_CASE("response framing is refused where two parsers could disagree") {
  for (const std::string& fields : {"Content-Length: 1\r\nTransfer-Encoding: chunked\r\n"s,
                                    "Content-Length: 1\r\nContent-Length: 2\r\n"s, "Transfer-Encoding: gzip\r\n"s}) {
    CAPTURE(fields);
    const outcome o = parse_response("HTTP/1.1 200 OK\r\n" + fields + "\r\n0\r\n\r\n");
    CHECK(o.status == parse_status::failed);
    CHECK(o.error >= 400);
  }
}

// --- Compaction: a chunked body's framing does not pile up --------------------------------------

namespace {

/**
 * Feeds `raw` as `feed` does (a piece ending at each cut, the buffer moved before each call), but
 * after every call compacts and drops the freed bytes from the end, as the server and the client
 * do. `most` is the largest the buffer grew (just before a call).
 */
template <class Parser>
parse_status feed_compacting(Parser& parser, std::vector<char>& buffer, std::string_view raw,
                             std::span<const std::size_t> cuts, std::size_t& most) {
  parse_status status = parse_status::need_more;
  std::size_t done = 0;
  const auto deliver = [&](std::size_t end) {
    std::vector<char> moved(buffer.size() + (end - done));
    std::copy(buffer.begin(), buffer.end(), moved.begin());
    std::copy(raw.begin() + static_cast<std::ptrdiff_t>(done), raw.begin() + static_cast<std::ptrdiff_t>(end),
              moved.begin() + static_cast<std::ptrdiff_t>(buffer.size()));
    std::fill(buffer.begin(), buffer.end(), '\x7f');
    buffer = std::move(moved);
    done = end;
    most = std::max(most, buffer.size());
    status = parser.parse(buffer);
    const std::size_t freed = parser.compact();
    REQUIRE(freed <= buffer.size());
    buffer.resize(buffer.size() - freed);
  };
  for (const std::size_t cut : cuts) {
    if (status == parse_status::need_more && cut > done && cut < raw.size()) {
      deliver(cut);
    }
  }
  if (status == parse_status::need_more && done < raw.size()) {
    deliver(raw.size());
  }
  return status;
}

/// `outcome_of` without `message_size`, which compaction changes (the framing is gone).
template <class Parser>
outcome compacted_outcome(const Parser& p, parse_status status, const std::vector<char>& buffer) {
  outcome o = outcome_of(p, status, buffer);
  o.message_size = 0;
  return o;
}

/// `body` in chunks of `piece` bytes, each size written with `digits` hex digits (zero-padded).
std::string chunks_of(std::string_view body, std::size_t piece, int digits) {
  std::string out;
  for (std::size_t at = 0; at < body.size(); at += piece) {
    const std::string_view data = body.substr(at, piece);
    char size[32];
    std::snprintf(size, sizeof size, "%0*zx", digits, data.size());
    out.append(size).append("\r\n").append(data).append("\r\n");
  }
  return out;
}

std::string some_body(std::size_t size) {
  std::string body(size, '\0');
  for (std::size_t i = 0; i < size; ++i) {
    body[i] = static_cast<char>('a' + i % 26);
  }
  return body;
}

}  // namespace

TEST_CASE("compaction: byte by byte, a body of one-byte chunks never takes more than the head, the body so far and one chunk line") {
  const std::string body = some_body(300);
  const std::string raw = chunked(chunks_of(body, 1, 16) + "0\r\n\r\n");
  const std::size_t head = raw.size() - (chunks_of(body, 1, 16).size() + 5);
  REQUIRE(raw.size() > 20 * body.size());

  request_parser parser;
  std::vector<char> buffer;
  std::size_t most = 0;
  REQUIRE(feed_compacting(parser, buffer, raw, every_byte(raw), most) == parse_status::complete);
  CHECK(parser.body() == body);
  CHECK(inside(buffer, parser.body()));
  // The head, the body, and at most a size line (16 digits and CRLF) not parsed yet.
  CHECK(most <= head + body.size() + 18);
  CHECK(parser.message_size() == buffer.size());
  CHECK(parser.message_size() == head + body.size() + 2);  // the empty trailer line is all that stays
}

TEST_CASE("compaction: every split point gives what parsing without it gives, trailers and extensions included") {
  const std::string chunky = chunked(chunks_of(some_body(40), 3, 16) + "0;end=\"yes\"\r\nX-Sum: 40\r\nX-Other:  two \r\n\r\n");
  for (const std::string& raw : {chunked_with_trailers, chunky}) {
    CAPTURE(raw);
    const outcome plain = [&] {
      outcome o = parse_request(raw);
      o.message_size = 0;
      return o;
    }();
    REQUIRE(plain.status == parse_status::complete);
    REQUIRE(plain.fields.size() >= 2);
    for (std::size_t cut = 1; cut < raw.size(); ++cut) {
      const std::size_t cuts[] = {cut};
      request_parser parser;
      std::vector<char> buffer;
      std::size_t most = 0;
      const parse_status status = feed_compacting(parser, buffer, raw, cuts, most);
      CHECK(compacted_outcome(parser, status, buffer) == plain);
    }
    request_parser parser;
    std::vector<char> buffer;
    std::size_t most = 0;
    const parse_status status = feed_compacting(parser, buffer, raw, every_byte(raw), most);
    CHECK(compacted_outcome(parser, status, buffer) == plain);
    CHECK(parser.trailer_count() == 2);
    CHECK(inside(buffer, parser.trailer_at(1).value));
  }
}

TEST_CASE("compaction: requests pipelined after a chunked body keep their bytes, at every split point") {
  const std::string first = chunked(chunks_of(some_body(25), 2, 16) + "0\r\nX-T: 1\r\n\r\n");
  const std::string second = netty_request("abc");
  const std::string third = chunked("3\r\nxyz\r\n0\r\n\r\n");
  const std::string raw = first + second + third;
  for (std::size_t cut = 1; cut < raw.size(); ++cut) {
    CAPTURE(cut);
    request_parser parser;
    std::vector<char> buffer;
    std::size_t most = 0;
    const std::size_t cuts[] = {cut};
    REQUIRE(feed_compacting(parser, buffer, raw, cuts, most) == parse_status::complete);
    CHECK(parser.body() == some_body(25));
    CHECK(parser.trailer("X-T") == "1");
    // (A cut past the first message completes it: the rest has not been delivered yet.)
    if (cut >= first.size()) {
      buffer.insert(buffer.end(), raw.begin() + static_cast<std::ptrdiff_t>(cut), raw.end());
    }
    // What follows the message, at message_size(), is the next request, whole.
    buffer.erase(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(parser.message_size()));
    parser.reset();
    REQUIRE(parser.parse(buffer) == parse_status::complete);
    CHECK(parser.body() == "abc");
    CHECK(parser.compact() == 0);  // Content-Length: nothing to reclaim
    buffer.erase(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(parser.message_size()));
    parser.reset();
    REQUIRE(parser.parse(buffer) == parse_status::complete);
    CHECK(parser.body() == "xyz");
    CHECK(parser.message_size() == buffer.size());
  }
}

TEST_CASE("compaction moves nothing for a head, a Content-Length body, a complete or a failed message") {
  const std::string length = netty_request(some_body(100));
  std::vector<char> buffer(length.begin(), length.begin() + 60);
  request_parser parser;
  REQUIRE(parser.parse(buffer) == parse_status::need_more);
  CHECK(parser.compact() == 0);
  buffer.assign(length.begin(), length.end() - 10);
  REQUIRE(parser.parse(buffer) == parse_status::need_more);
  CHECK(parser.compact() == 0);
  buffer.assign(length.begin(), length.end());
  REQUIRE(parser.parse(buffer) == parse_status::complete);
  CHECK(parser.compact() == 0);
  CHECK(parser.body().data() == buffer.data() + (length.size() - 100));

  // Complete: the bytes between the body and message_size() (the last chunk, trailers) stay.
  const std::string raw = chunked("3\r\nxyz\r\n0\r\nX-T: 1\r\n\r\n");
  request_parser chunks;
  std::vector<char> whole(raw.begin(), raw.end());
  REQUIRE(chunks.parse(whole) == parse_status::complete);
  CHECK(chunks.compact() == 0);
  CHECK(chunks.trailer("X-T") == "1");

  request_parser broken;
  std::string bad = chunked("3\r\nxyzXX");
  REQUIRE(broken.parse(bad) == parse_status::failed);
  CHECK(broken.compact() == 0);

  request_parser fresh;
  CHECK(fresh.compact() == 0);
}

TEST_CASE("compaction: a large chunk arriving after its size line is written where it lands, never moved") {
  const std::string data = some_body(5000);
  const std::string raw = chunked(chunks_of(data, 5000, 4) + "0\r\n\r\n");
  const std::size_t head = raw.find("\r\n\r\n") + 4;
  request_parser parser;
  std::vector<char> buffer(raw.begin(), raw.begin() + static_cast<std::ptrdiff_t>(head + 6 + 10));
  REQUIRE(parser.parse(buffer) == parse_status::need_more);
  CHECK(parser.compact() == 6);  // "1388\r\n"
  buffer.resize(buffer.size() - 6);
  CHECK(std::string_view(buffer.data() + head, 10) == data.substr(0, 10));
  CHECK(parser.body_bytes_expected() == 4990);
  // The rest of the chunk goes right after it: de-chunking it moves nothing.
  buffer.insert(buffer.end(), raw.begin() + static_cast<std::ptrdiff_t>(head + 16), raw.end());
  REQUIRE(parser.parse(buffer) == parse_status::complete);
  CHECK(parser.body() == data);
  CHECK(parser.body().data() == buffer.data() + head);
}

TEST_CASE("compaction: a chunked response too, and set_limits gives the next response its body limit") {
  const std::string body = some_body(200);
  const std::string raw = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks_of(body, 1, 16) + "0\r\n\r\n";
  response_parser parser;
  std::vector<char> buffer;
  std::size_t most = 0;
  REQUIRE(feed_compacting(parser, buffer, raw, every_byte(raw), most) == parse_status::complete);
  CHECK(parser.body() == body);
  CHECK(most <= raw.find("\r\n\r\n") + 4 + body.size() + 18);

  parser.reset();
  parser.set_limits({.max_body_bytes = 199});
  CHECK(parser.limits().max_body_bytes == 199);
  buffer.clear();
  most = 0;
  REQUIRE(feed_compacting(parser, buffer, raw, every_byte(raw), most) == parse_status::failed);
  CHECK(parser.error().status == 413);
  CHECK(most <= raw.find("\r\n\r\n") + 4 + 199 + 18);
}
