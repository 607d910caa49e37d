#pragma once

/// @file
/// Formatting the status line and header fields of the server's responses.

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <string_view>

#include <statefun/config.hpp>

namespace statefun::inline v0::asio::detail {

/// The reason phrase for each status the server sends.
constexpr std::string_view reason_phrase(int status) noexcept {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

/// "Date: <IMF-fixdate>\r\n" for `now`, as RFC 9110 asks an origin server to send.
class date_line {
 public:
  static constexpr std::size_t size = 37;  // "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"

  void update(std::time_t now) noexcept {
    std::tm utc{};
    gmtime_r(&now, &utc);
    std::strftime(text_, sizeof text_, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &utc);
  }

  std::string_view view() const noexcept { return {text_, size}; }

 private:
  char text_[size + 1] = {};
};

/// The fields of one response head.
struct response_head {
  int status = 200;
  std::string_view content_type{};  // empty: no Content-Type field
  std::uint64_t content_length = 0;
  bool close = false;              // "Connection: close"
  bool keep_alive_1_0 = false;     // "Connection: keep-alive", for an HTTP/1.0 client that asked
  std::string_view allow{};          // an "Allow" field, for 405
  std::string_view date{};           // a date_line
};

/// Enough for every head the server writes.
inline constexpr std::size_t max_response_head = 256;

/**
 * Writes `head` into `out` (at least max_response_head bytes).
 * @return The number of bytes written.
 */
inline std::size_t format_response_head(const response_head& head, char* out) noexcept {
  char* p = out;
  const auto put = [&p](std::string_view text) {
    std::memcpy(p, text.data(), text.size());
    p += text.size();
  };
  put("HTTP/1.1 ");
  p = std::to_chars(p, p + 3, head.status).ptr;
  put(" ");
  put(reason_phrase(head.status));
  put("\r\n");
  put(head.date);
  if (!head.content_type.empty()) {
    put("Content-Type: ");
    put(head.content_type);
    put("\r\n");
  }
  put("Content-Length: ");
  p = std::to_chars(p, p + 20, head.content_length).ptr;
  put("\r\n");
  if (head.close) {
    put("Connection: close\r\n");
  } else if (head.keep_alive_1_0) {
    put("Connection: keep-alive\r\n");
  }
  if (!head.allow.empty()) {
    put("Allow: ");
    put(head.allow);
    put("\r\n");
  }
  put("\r\n");
  return static_cast<std::size_t>(p - out);
}

}  // namespace statefun::inline v0::asio::detail
