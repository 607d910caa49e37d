#pragma once

/// @file
/// `http::request_parser`: a strict, incremental, zero-copy HTTP/1.1 request parser (RFC 9112).
/// No I/O: the caller reads bytes, appends them to its buffer, and calls `parse` again.

#include <statefun/detail/http_grammar.hpp>

#include <cstddef>
#include <span>
#include <string_view>

namespace statefun::inline v0::http {

/**
 * Parses one HTTP/1.1 request at a time out of a buffer the caller owns and appends to.
 *
 * Strict: anything RFC 9112 lets a server refuse is refused, with the status to answer (400,
 * 413, 417, 431, 501 or 505; `docs/http_parser.md` lists each case). In particular any message
 * two parsers could frame differently (Content-Length with Transfer-Encoding, two Content-Length
 * fields, obs-fold, bare LF) fails rather than being guessed at.
 *
 * Besides the request line's accessors below, it has those of every HTTP message, from its base:
 * `head_complete`, `minor_version`, `keep_alive`, `header`, `header_count`, `header_at`,
 * `trailer`, `trailer_count`, `trailer_at`, `content_length`, `chunked`, `body_bytes_expected`,
 * `compact`, `set_limits`, `limits`, `body`, `message_size` and `error`. Views point into the
 * buffer of the last `parse` call.
 * Nothing is allocated once the field index has grown to the largest head seen; `reset` keeps it.
 *
 * **Example**:
 * @code
 * http::request_parser parser;
 * std::string buffer;                           // everything received for this request
 * for (;;) {
 *   read_some_into(buffer);                     // appends
 *   const auto status = parser.parse(buffer);
 *   buffer.resize(buffer.size() - parser.compact());  // a chunked body's framing is not kept
 *   if (status == http::parse_status::failed) {
 *     return respond(parser.error().status, parser.error().reason);  // then close
 *   }
 *   if (status == http::parse_status::complete) {
 *     handle(parser.method(), parser.target(), parser.body());
 *     buffer.erase(0, parser.message_size());   // pipelined bytes stay
 *     parser.reset();
 *   }
 * }
 * @endcode
 */
class request_parser : public detail::http1::message_parser {
 public:
  /// A parser that refuses what exceeds `limits`.
  explicit request_parser(parser_limits limits = {}) : message_parser(limits, detail::http1::framing::none) {}

  /**
   * Parses the request at the start of `buffer`.
   *
   * @param buffer every byte received so far for this message. Between calls the caller only
   *        appends, but the buffer may move (offsets are kept, never pointers). Scanning resumes
   *        where the last call stopped. A chunked body is de-chunked in place, so the body part of
   *        `buffer` is rewritten.
   * @return `need_more` until the request is complete or refused. Once complete or failed, further
   *         calls return the same.
   */
  [[nodiscard]] parse_status parse(std::span<char> buffer) { return run(buffer, *this); }

  /// The method token, case-sensitive as received. Once `head_complete()`, as are the views below.
  [[nodiscard]] std::string_view method() const noexcept { return view(method_); }
  /// The request-target: origin-form (`/path?query`), absolute-form, or `*` (OPTIONS only).
  [[nodiscard]] std::string_view target() const noexcept { return view(target_); }
  /// `Expect: 100-continue` in an HTTP/1.1 request: answer 100 Continue before the body arrives.
  [[nodiscard]] bool expect_continue() const noexcept { return expect_continue_; }

  /// Ready for the next request; keeps the field index's storage.
  void reset() noexcept {
    message_parser::reset();
    method_ = target_ = {};
    expect_continue_ = false;
  }

 private:
  friend class detail::http1::message_parser;

  /// `method SP request-target SP HTTP-version` (RFC 9112 §3).
  bool on_start_line(std::string_view line) {
    namespace g = detail::http1;
    const std::size_t method_end = g::skip(line, 0, g::tchar);
    if (method_end == 0 || method_end == line.size() || line[method_end] != ' ') {
      return fail(400, "malformed method");
    }
    const std::size_t target_end = g::skip(line, method_end + 1, g::target_char);
    const std::string_view method = line.substr(0, method_end);
    const std::string_view target = line.substr(method_end + 1, target_end - method_end - 1);
    if (target_end == line.size() || line[target_end] != ' ' || !g::valid_target(method, target)) {
      return fail(400, "malformed request target");
    }
    method_ = ref(method);
    target_ = ref(target);
    return set_version(line.substr(target_end + 1));
  }

  /// Host (RFC 9112 §3.2) and Expect (RFC 9110 §10.1.1), once the header section is in.
  bool on_head_end() {
    using detail::http1::known_field;
    const std::size_t hosts = seen(known_field::host);
    if (hosts > 1 || (hosts == 0 && minor_version() == 1)) {
      return fail(400, hosts > 1 ? "more than one Host" : "HTTP/1.1 request without Host");
    }
    if (seen(known_field::expect) == 0) {
      return true;
    }
    for (std::size_t i = 0; i < header_count(); ++i) {
      const header_field f = header_at(i);
      if (detail::http1::iequals_lower(f.name, "expect") && !detail::http1::iequals_lower(f.value, "100-continue")) {
        return fail(417, "unsupported Expect");
      }
    }
    // An HTTP/1.0 client cannot take a 100 Continue: the expectation is ignored (§10.1.1).
    expect_continue_ = minor_version() == 1;
    return true;
  }

  detail::http1::text_ref method_;
  detail::http1::text_ref target_;
  bool expect_continue_ = false;
};

}  // namespace statefun::inline v0::http
