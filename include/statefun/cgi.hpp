#pragma once

/// @file
/// `cgi::serve`: answers one StateFun request as a CGI program (RFC 3875), for hosts that start
/// a process per request (Apache mod_cgi, lighttpd, nginx + fcgiwrap, FaaS custom runtimes).
/// A second transport over the same `request_reply_handler` seam as the Asio server; no Asio.

#include <statefun/detail/http_grammar.hpp>
#include <statefun/expected.hpp>
#include <statefun/functions.hpp>
#include <statefun/request_reply_handler.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#if defined(_WIN32)
#include <fcntl.h>
#include <io.h>
#endif

namespace statefun::inline v0::cgi {

/// The request meta-variables `serve` reads (RFC 3875 §4.1). An empty value means unset, as
/// the RFC treats an empty `CONTENT_LENGTH` like a missing one.
struct environment {
  /// `REQUEST_METHOD`: only `POST` is served.
  std::string_view request_method;
  /// `CONTENT_LENGTH`: the size of the body in decimal digits.
  std::string_view content_length;

  /// The meta-variables of this process (`std::getenv`).
  [[nodiscard]] static environment from_process() {
    return {variable("REQUEST_METHOD"), variable("CONTENT_LENGTH")};
  }

 private:
  static std::string_view variable(const char* name) {
    const char* value = std::getenv(name);
    return value == nullptr ? std::string_view{} : std::string_view{value};
  }
};

/// Limits of `serve`.
struct options {
  /// The largest body served, in bytes. A longer `CONTENT_LENGTH` is answered 413 before a
  /// byte of the body is read.
  std::size_t max_body_size = std::size_t{64} << 20;
};

namespace detail {

/// Why a request got no `FromFunction`: the status line and the text/plain reason.
struct failure {
  std::string_view status;
  std::string reason;
  /// 405 must say which method would work (RFC 9110 §15.5.6).
  bool allow_post = false;
};

using reply = expected<std::string_view, failure>;

/// Reads up to `size` bytes, fewer if `in` ends first. Unformatted reads in chunks, so a
/// `CONTENT_LENGTH` that promises more than arrives costs only the bytes that do.
inline std::string read_body(std::istream& in, std::size_t size) {
  constexpr std::size_t chunk = std::size_t{64} << 10;
  std::string body;
  while (body.size() < size) {
    const std::size_t have = body.size();
    const std::size_t want = std::min(chunk, size - have);
    body.resize(have + want);
    in.read(body.data() + have, static_cast<std::streamsize>(want));
    const auto got = static_cast<std::size_t>(in.gcount());
    body.resize(have + got);
    if (got < want) {
      break;
    }
  }
  return body;
}

/// Checks the request, reads its body and runs it; the reply views `handler`'s buffer.
inline reply answer(request_reply_handler& handler, const environment& env, std::istream& in,
                    const options& opts) {
  if (env.request_method != "POST") {
    return unexpected(failure{"405 Method Not Allowed",
                              "a StateFun endpoint takes POST, not '" + std::string(env.request_method) + "'",
                              true});
  }
  if (env.content_length.empty()) {
    return unexpected(failure{"411 Length Required", "CONTENT_LENGTH is missing: a StateFun request has a body"});
  }
  // Decimal digits only (no sign, no spaces), no overflow.
  const std::optional<std::uint64_t> length = statefun::detail::http1::parse_decimal(env.content_length);
  if (!length) {
    return unexpected(
        failure{"400 Bad Request", "CONTENT_LENGTH '" + std::string(env.content_length) + "' is not a byte count"});
  }
  if (*length > opts.max_body_size) {
    // Not read, not even drained: the host discards what the program leaves on stdin.
    return unexpected(failure{"413 Content Too Large", "the body of " + std::to_string(*length) +
                                                           " bytes is above the limit of " +
                                                           std::to_string(opts.max_body_size) + " bytes"});
  }
  try {
    // RFC 3875 §4.2: read CONTENT_LENGTH bytes and no more; the host need not send EOF.
    const std::string body = read_body(in, *length);
    if (body.size() < *length) {
      return unexpected(failure{"400 Bad Request", "the body ends after " + std::to_string(body.size()) + " of " +
                                                       std::to_string(*length) + " bytes"});
    }
    const request_reply_handler::result result = handler.handle_sync(body);
    if (!result) {
      return unexpected(failure{"500 Internal Server Error", result.error().message()});
    }
    return *result;
  } catch (const std::exception& e) {
    // Not the user's exceptions (the handler turns those into errors) but ours: bad_alloc, or
    // an ios_base::failure when the caller enabled exceptions on `in`.
    return unexpected(failure{"500 Internal Server Error", std::string("statefun: ") + e.what()});
  }
}

/// Writes one CGI response. Every header line ends in CR LF: see `serve`.
inline bool write_response(std::ostream& out, std::string_view status, bool allow_post,
                           std::string_view content_type, std::string_view body) {
  std::string head;
  head.reserve(128);
  head.append("Status: ").append(status).append("\r\n");
  if (allow_post) {
    head.append("Allow: POST\r\n");
  }
  head.append("Content-Type: ").append(content_type).append("\r\n");
  head.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n\r\n");
  try {
    out.write(head.data(), static_cast<std::streamsize>(head.size()));
    out.write(body.data(), static_cast<std::streamsize>(body.size()));
    out.flush();
  } catch (const std::ios_base::failure&) {
    return false;  // the caller enabled exceptions on `out`; the exit code says it all the same
  }
  return static_cast<bool>(out);
}

}  // namespace detail

/**
 * Serves one CGI request: the meta-variables in `env`, the body in `in`, the response to `out`.
 *
 * - `POST` with a body holding a `ToFunction`: `Status: 200 OK`,
 *   `Content-Type: application/octet-stream`, `Content-Length`, and the `FromFunction` bytes
 *   (exactly what `request_reply_handler::handle_sync` gives).
 * - Any other method: 405 with `Allow: POST`. No `CONTENT_LENGTH`: 411. A `CONTENT_LENGTH`
 *   that is not decimal digits or overflows, or a body that ends before it: 400. A
 *   `CONTENT_LENGTH` above `opts.max_body_size`: 413, without reading the body.
 * - A body the handler refuses (malformed protobuf, an unknown function type, an exception
 *   from the function): `Status: 500 Internal Server Error`, `Content-Type: text/plain` and
 *   `error::message()`. Never a partial `FromFunction`: nothing is written before the handler
 *   has answered.
 *
 * Reads exactly `CONTENT_LENGTH` bytes with unformatted reads; `CONTENT_TYPE` is not checked
 * (the official SDKs do not check it either). Every response carries a `Content-Length`.
 *
 * @note Header lines end in CR LF. RFC 3875 §7.2 makes LF the newline on UNIX but says hosts
 * SHOULD accept CR LF, and Apache, lighttpd and nginx (FastCGI) all do; python's
 * `http.server --cgi` copies the program's output to the socket as it is, so only CR LF gives
 * valid HTTP there.
 * @return 0 once a response is written, 1 when `out` failed.
 *
 * **Example**:
 * @code
 * std::istringstream in(body);
 * std::ostringstream out;
 * statefun::cgi::serve(fns, {.request_method = "POST", .content_length = "113"}, in, out);
 * @endcode
 */
inline int serve(const functions& fns, const environment& env, std::istream& in, std::ostream& out,
                 const options& opts = {}) {
  request_reply_handler handler = fns.handler();
  const detail::reply reply = detail::answer(handler, env, in, opts);
  const bool written =
      reply ? detail::write_response(out, "200 OK", false, "application/octet-stream", *reply)
            : detail::write_response(out, reply.error().status, reply.error().allow_post, "text/plain",
                                     reply.error().reason);
  return written ? 0 : 1;
}

/**
 * Serves the CGI request of this process: `std::getenv`, standard input and standard output,
 * both in binary mode.
 *
 * **Example**:
 * @code
 * int main() {
 *   statefun::functions fns;
 *   fns.bind("example/counter", {count}, counter);
 *   return statefun::cgi::serve(fns);
 * }
 * @endcode
 */
inline int serve(const functions& fns, const options& opts = {}) {
#if defined(_WIN32)
  // The body and the FromFunction are bytes: no CR LF translation on either stream.
  (void)_setmode(_fileno(stdin), _O_BINARY);
  (void)_setmode(_fileno(stdout), _O_BINARY);
#endif
  return serve(fns, environment::from_process(), std::cin, std::cout, opts);
}

}  // namespace statefun::inline v0::cgi
