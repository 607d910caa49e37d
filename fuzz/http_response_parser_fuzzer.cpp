// libFuzzer target: the HTTP/1.1 response parser, fed whole and fed in pieces.
//
// The first input byte is a control byte: bit 7 picks small limits (from bits 0-4), bit 6 says
// the responses answer HEAD requests (expect_no_body), bit 5 that the peer closes after the last
// byte (finish); all of it seeds the piece sizes. The rest is what a server sent.
//
// For every message in the input, the same properties as fuzz/http_request_parser_fuzzer.cpp:
// the same outcome whole and in pieces (over a buffer that moves before every call, with a parser
// reset between messages), failures with a status and a reason, views within the buffer, the body
// within max_body_bytes, message_size within the bytes given; then the next message. Besides:
//   - a close-delimited body ends only at finish(), where it takes every byte given;
//   - HEAD, 1xx, 204 and 304 responses have no body.

#include <statefun/http/response_parser.hpp>

#include "fuzz_check.hpp"
#include "support/views_inside.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace {

using statefun::fuzz::require;
using statefun::http::parse_status;
using statefun::http::parser_limits;
using statefun::http::response_parser;

struct settings {
  parser_limits limits;
  bool head_request = false;  // expect_no_body
  bool peer_closes = false;   // finish() after the last byte
  std::uint32_t seed = 0;
};

struct outcome {
  parse_status status = parse_status::need_more;
  int error = 0;
  int status_code = 0;
  std::string reason;
  std::string fields;  // "name: value\n" each, headers then trailers
  std::string body;
  std::size_t message_size = 0;
  bool keep_alive = false;

  friend bool operator==(const outcome&, const outcome&) = default;
};

std::string describe(const outcome& o) {
  return "status " + std::to_string(static_cast<int>(o.status)) + " error " + std::to_string(o.error) + " code " +
         std::to_string(o.status_code) + " body " + std::to_string(o.body.size()) + " size " +
         std::to_string(o.message_size) + "\n" + o.fields;
}

/// Parses `message` as `s` says: whole when `piece_seed` is 0, else in pieces sized from it.
/// The buffer moves to a new allocation before every call (ASan sees a kept pointer).
parse_status run(response_parser& parser, std::string_view message, const settings& s, std::uint32_t piece_seed,
                 std::vector<char>& buffer) {
  parser.expect_no_body(s.head_request);
  const bool whole = piece_seed == 0;
  parse_status status = parse_status::need_more;
  std::size_t done = 0;
  while (status == parse_status::need_more && done < message.size()) {
    piece_seed = piece_seed * 1103515245u + 12345u;
    const std::size_t piece = whole ? message.size() : 1 + (piece_seed >> 16) % 23;
    const std::size_t n = std::min(piece, message.size() - done);
    std::vector<char> moved(buffer);
    moved.insert(moved.end(), message.begin() + static_cast<std::ptrdiff_t>(done),
                 message.begin() + static_cast<std::ptrdiff_t>(done + n));
    buffer = std::move(moved);
    done += n;
    status = parser.parse(buffer);
  }
  return status == parse_status::need_more && s.peer_closes ? parser.finish(buffer) : status;
}

outcome outcome_of(const response_parser& p, parse_status status, const std::vector<char>& bytes, const settings& s) {
  const std::string_view buffer(bytes.data(), bytes.size());
  const auto keep = [&buffer](std::string_view view) {
    require(statefun::test::inside(buffer, view), "a view points outside the buffer");
    return std::string(view);
  };
  outcome o;
  o.status = status;
  if (status == parse_status::failed) {
    o.error = p.error().status;
    require(o.error >= 400 && o.error <= 505 && !p.error().reason.empty(), "a failure without a status or reason");
    return o;
  }
  if (!p.head_complete()) {
    return o;
  }
  o.status_code = p.status_code();
  o.reason = keep(p.reason());
  o.keep_alive = p.keep_alive();
  require(o.status_code >= 100 && o.status_code <= 599, "an accepted status code outside 100-599");
  for (std::size_t i = 0; i < p.header_count(); ++i) {
    o.fields += keep(p.header_at(i).name) + ": " + keep(p.header_at(i).value) + "\n";
  }
  if (status != parse_status::complete) {
    return o;
  }
  for (std::size_t i = 0; i < p.trailer_count(); ++i) {
    o.fields += "trailer " + keep(p.trailer_at(i).name) + ": " + keep(p.trailer_at(i).value) + "\n";
  }
  o.body = keep(p.body());
  o.message_size = p.message_size();
  require(o.body.size() <= s.limits.max_body_bytes, "a body over max_body_bytes");
  require(o.message_size > 0 && o.message_size <= buffer.size(), "message_size outside the bytes given");
  const bool bodiless = s.head_request || o.status_code < 200 || o.status_code == 204 || o.status_code == 304;
  require(!bodiless || o.body.empty(), "a body where the response can have none");
  const bool close_delimited = !bodiless && !p.chunked() && !p.content_length();
  require(!close_delimited || (s.peer_closes && o.message_size == buffer.size() && !o.keep_alive),
          "a close-delimited body that does not end at the close");
  return o;
}

settings settings_for(std::uint8_t control, std::size_t size) {
  settings s;
  if ((control & 0x80) != 0) {
    s.limits = {.max_head_bytes = 16u + (control & 0x1Fu) * 8u,
                .max_body_bytes = (control & 0x07u) * 3u,
                .max_header_fields = 1u + ((control >> 2) & 0x03u)};
  }
  s.head_request = (control & 0x40) != 0;
  s.peer_closes = (control & 0x20) != 0;
  s.seed = control * 2654435761u + static_cast<std::uint32_t>(size) + 1;
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  const settings s = settings_for(data[0], size);
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);

  response_parser pieces(s.limits);  // reset and reused for every message, as a connection would
  while (!rest.empty()) {
    response_parser fresh(s.limits);
    std::vector<char> whole;
    const outcome expected = outcome_of(fresh, run(fresh, rest, s, 0, whole), whole, s);

    pieces.reset();
    std::vector<char> buffer;
    const outcome got = outcome_of(pieces, run(pieces, rest, s, s.seed, buffer), buffer, s);
    require(got == expected, "fed in pieces, the parser reads otherwise",
            "whole:  " + describe(expected) + "\npieces: " + describe(got));

    if (expected.status != parse_status::complete) {
      break;
    }
    rest.remove_prefix(expected.message_size);
  }
  return 0;
}
