// libFuzzer target: the HTTP/1.1 request parser, fed whole and fed in pieces.
//
// The first input byte is a control byte: with its top bit set the limits are small (derived
// from its other bits), so that 413 and 431 are reached; it also seeds the piece sizes. The rest
// is what a client sent: one request, or several back to back.
//
// For every message in the input:
//   1. Fed whole (to a fresh parser) and fed in pieces (to one parser reset between messages,
//      its buffer moved to a new allocation before every call), the parser reaches the same
//      outcome: status, error status, method, target, fields, body and message_size.
//   2. A failure carries a 4xx/5xx status and a reason; every view lies within the buffer of the
//      last call; the body is at most max_body_bytes; message_size is at most the bytes given.
//   3. After a complete message, the bytes that follow are parsed as the next one.
//   4. Fed in pieces, the parser may also compact its buffer after every call (as a connection
//      does while a chunked body arrives): the outcome is the same, and message_size is smaller
//      by exactly the bytes reclaimed.

#include <statefun/http/request_parser.hpp>

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
using statefun::http::request_parser;

/// What parsing one message produced, for comparing two ways of feeding it.
struct outcome {
  parse_status status = parse_status::need_more;
  int error = 0;
  std::string method;
  std::string target;
  std::string fields;  // "name: value\n" each, headers then trailers
  std::string body;
  std::size_t message_size = 0;
  bool keep_alive = false;
  bool expect_continue = false;

  friend bool operator==(const outcome&, const outcome&) = default;
};

std::string describe(const outcome& o) {
  return "status " + std::to_string(static_cast<int>(o.status)) + " error " + std::to_string(o.error) + " '" +
         o.method + " " + o.target + "' body " + std::to_string(o.body.size()) + " size " +
         std::to_string(o.message_size) + "\n" + o.fields;
}

outcome outcome_of(const request_parser& p, parse_status status, const std::vector<char>& bytes,
                   const parser_limits& limits) {
  const std::string_view buffer(bytes.data(), bytes.size());
  const auto check = [&buffer](std::string_view view) {
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
  o.method = check(p.method());
  o.target = check(p.target());
  o.keep_alive = p.keep_alive();
  o.expect_continue = p.expect_continue();
  require(!o.method.empty() && !o.target.empty(), "an accepted head without method or target");
  for (std::size_t i = 0; i < p.header_count(); ++i) {
    o.fields += check(p.header_at(i).name) + ": " + check(p.header_at(i).value) + "\n";
  }
  require(p.header_count() <= limits.max_header_fields, "more fields than max_header_fields");
  if (status == parse_status::complete) {
    for (std::size_t i = 0; i < p.trailer_count(); ++i) {
      o.fields += "trailer " + check(p.trailer_at(i).name) + ": " + check(p.trailer_at(i).value) + "\n";
    }
    o.body = check(p.body());
    o.message_size = p.message_size();
    require(o.body.size() <= limits.max_body_bytes, "a body over max_body_bytes");
    require(o.message_size > 0 && o.message_size <= buffer.size(), "message_size outside the bytes given");
  }
  return o;
}

/// How feeding in pieces ended, and how many bytes compaction took out of the buffer.
struct fed {
  parse_status status = parse_status::need_more;
  std::size_t reclaimed = 0;
};

/**
 * Feeds `message` in pieces of 1 to 17 bytes whose sizes follow from `seed`, stopping when the
 * parser completes or fails; when `compacting`, calls `compact()` after every call and drops
 * the bytes it frees from the end of the buffer. Before every call the bytes move to a new
 * allocation and the old one is freed, so that ASan reports any pointer the parser kept.
 */
fed feed_in_pieces(request_parser& parser, std::string_view message, std::uint32_t seed, bool compacting,
                   std::vector<char>& buffer) {
  fed result;
  parse_status& status = result.status;
  for (std::size_t done = 0; status == parse_status::need_more && done < message.size();) {
    seed = seed * 1103515245u + 12345u;  // any cheap sequence will do: the fuzzer picks the seed
    const std::size_t piece = std::min<std::size_t>(1 + (seed >> 16) % 17, message.size() - done);
    std::vector<char> moved(buffer.size() + piece);
    std::copy(buffer.begin(), buffer.end(), moved.begin());
    std::copy_n(message.begin() + static_cast<std::ptrdiff_t>(done), piece,
                moved.begin() + static_cast<std::ptrdiff_t>(buffer.size()));
    buffer = std::move(moved);
    done += piece;
    status = parser.parse(buffer);
    if (compacting) {
      const std::size_t freed = parser.compact();
      require(freed <= buffer.size(), "compact() freed more than the buffer holds");
      buffer.resize(buffer.size() - freed);
      result.reclaimed += freed;
    }
  }
  return result;
}

parser_limits limits_for(std::uint8_t control) {
  if ((control & 0x80) == 0) {
    return {};
  }
  return {.max_head_bytes = 16u + (control & 0x1Fu) * 8u,
          .max_body_bytes = (control & 0x07u) * 3u,
          .max_header_fields = 1u + ((control >> 5) & 0x03u)};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  const parser_limits limits = limits_for(data[0]);
  const std::uint32_t seed = data[0] * 2654435761u + static_cast<std::uint32_t>(size);
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);

  request_parser pieces(limits);  // reset and reused for every message, as a connection would
  while (!rest.empty()) {
    request_parser fresh(limits);
    std::vector<char> whole(rest.begin(), rest.end());
    const outcome expected = outcome_of(fresh, fresh.parse(whole), whole, limits);

    pieces.reset();
    std::vector<char> buffer;
    const bool compacting = (seed & 0x100u) != 0;
    const fed result = feed_in_pieces(pieces, rest, seed, compacting, buffer);
    outcome got = outcome_of(pieces, result.status, buffer, limits);
    if (got.status == parse_status::complete) {
      got.message_size += result.reclaimed;  // what the message took of the bytes as sent
    }
    require(got == expected, "fed in pieces, the parser reads otherwise",
            "whole:  " + describe(expected) + "\npieces: " + describe(got));

    if (expected.status != parse_status::complete) {
      break;
    }
    rest.remove_prefix(expected.message_size);
  }
  return 0;
}
