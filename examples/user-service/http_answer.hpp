#pragma once

// What the gateway answers an HTTP request with, and its bytes on the wire: every answer is a
// JSON body with an explicit Content-Length and Connection.

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace user_service {

struct http_answer {
  int status = 0;
  nlohmann::json body = nlohmann::json::object();
  std::string allow{};  // for a 405: the methods the path does take
};

/// The reason phrase of the statuses this service sends (others go without one, as HTTP allows).
inline std::string_view reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 417: return "Expectation Failed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "";
  }
}

/// `answer` as an HTTP/1.1 response; without its body when it answers a HEAD request.
inline std::string http_response(const http_answer& answer, bool keep_alive, bool to_head = false) {
  const std::string body = answer.body.dump() + "\n";
  std::string out = "HTTP/1.1 " + std::to_string(answer.status) + " " + std::string(reason_phrase(answer.status)) +
                    "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                    (keep_alive ? "\r\nConnection: keep-alive" : "\r\nConnection: close");
  if (!answer.allow.empty()) {
    out += "\r\nAllow: " + answer.allow;
  }
  out += "\r\n\r\n";
  if (!to_head) {
    out += body;
  }
  return out;
}

}  // namespace user_service
