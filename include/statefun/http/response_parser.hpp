#pragma once

/// @file
/// `http::response_parser`: the strict, incremental, zero-copy HTTP/1.1 response parser of the
/// SDK's HTTP client. The same grammar and framing rules as `http::request_parser`.

#include <statefun/detail/http_grammar.hpp>

#include <algorithm>
#include <cstddef>
#include <span>
#include <string_view>

namespace statefun::inline v0::http {

/**
 * Parses one HTTP/1.1 response at a time out of a buffer the caller owns and appends to.
 *
 * A response is framed by, in order (RFC 9112 §6.3): the request (HEAD: no body, see
 * `expect_no_body`), its status (1xx, 204 and 304: no body), `Transfer-Encoding: chunked`,
 * `Content-Length`, and otherwise the connection closing (`finish`). Refusals carry the status a
 * server would answer the same defect in a request with (400, 413, 431, 501, 505), as a
 * classification; `reason` says what was wrong.
 *
 * The accessors of every HTTP message (`header`, `body`, `message_size`, `keep_alive`, ...) come
 * from its base, as for `request_parser`.
 *
 * **Example**:
 * @code
 * http::response_parser parser;
 * parser.expect_no_body(method == "HEAD");
 * for (;;) {
 *   const bool eof = !read_some_into(buffer);                  // appends
 *   auto status = eof ? parser.finish(buffer) : parser.parse(buffer);
 *   if (status == http::parse_status::complete && parser.status_code() / 100 == 1) {
 *     buffer.erase(0, parser.message_size());                   // 100 Continue: the final
 *     parser.reset();                                            // response follows
 *     status = parser.parse(buffer);
 *   }
 *   ...
 * }
 * @endcode
 */
class response_parser : public detail::http1::message_parser {
 public:
  /// A parser that refuses what exceeds `limits`.
  explicit response_parser(parser_limits limits = {}) : message_parser(limits, detail::http1::framing::close) {}

  /// This response answers a HEAD request: it has no body whatever its fields say. Set it before
  /// the head is parsed; `reset` clears it.
  void expect_no_body(bool no_body) noexcept { expect_no_body_ = no_body; }

  /// Parses the response at the start of `buffer`; the same contract as `request_parser::parse`.
  [[nodiscard]] parse_status parse(std::span<char> buffer) { return run(buffer, *this); }

  /**
   * The peer closed the connection after sending `buffer`: parses what is new, then completes a
   * close-delimited body. Any other message still unfinished is truncated: failed.
   */
  [[nodiscard]] parse_status finish(std::span<char> buffer) {
    const parse_status status = run(buffer, *this);
    return status == parse_status::need_more ? close_at_end() : status;
  }

  /// The status code, 100 to 599. Once `head_complete()`, as are the views below.
  [[nodiscard]] int status_code() const noexcept { return status_code_; }
  /// The reason phrase, possibly empty.
  [[nodiscard]] std::string_view reason() const noexcept { return view(reason_); }

  /// Ready for the next response (clears `expect_no_body`); keeps the field index's storage.
  void reset() noexcept {
    message_parser::reset();
    status_code_ = 0;
    reason_ = {};
    expect_no_body_ = false;
  }

 private:
  friend class detail::http1::message_parser;

  /// `HTTP-version SP status-code SP [ reason-phrase ]` (RFC 9112 §4).
  bool on_start_line(std::string_view line) {
    const std::size_t space = line.find(' ');
    if (!set_version(line.substr(0, space))) {
      return false;
    }
    const std::string_view rest = line.substr(std::min(space, line.size()));
    const auto digit = [](char c) { return c >= '0' && c <= '9'; };
    if (rest.size() < 4 || !digit(rest[1]) || !digit(rest[2]) || !digit(rest[3]) || rest[1] < '1' || rest[1] > '5') {
      return fail(400, "malformed status code");
    }
    // The SP before an empty reason is often left out; it frames nothing, so accept that.
    if (rest.size() > 4 && (rest[4] != ' ' || detail::http1::skip(rest, 5, detail::http1::field_char) != rest.size())) {
      return fail(400, "malformed reason phrase");
    }
    status_code_ = (rest[1] - '0') * 100 + (rest[2] - '0') * 10 + (rest[3] - '0');
    reason_ = ref(rest.substr(std::min<std::size_t>(5, rest.size())));
    return true;
  }

  bool on_head_end() {
    if (expect_no_body_ || status_code_ < 200 || status_code_ == 204 || status_code_ == 304) {
      no_body();
    }
    return true;
  }

  int status_code_ = 0;
  detail::http1::text_ref reason_;
  bool expect_no_body_ = false;
};

}  // namespace statefun::inline v0::http
