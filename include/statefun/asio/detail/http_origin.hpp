#pragma once

/// @file
/// `http_origin`: where an `http_client` sends its requests (`http://host:port`,
/// `https://host:port` or `http+unix:///path/x.sock`), parsed once.

#include <asio/ip/address.hpp>
#include <asio/local/stream_protocol.hpp>

#include <statefun/config.hpp>
#include <statefun/detail/http_grammar.hpp>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace statefun::inline v0::asio::detail {

/// How requests reach the origin.
enum class origin_transport {
  tcp,          ///< `http://`
  tls,          ///< `https://`: TCP, then TLS
  unix_socket,  ///< `http+unix://` and `https+unix://` (plain HTTP too: docs/runtime_rules.md 1.8)
};

/// Where requests go: what to connect to, and what to send as `Host`.
struct http_origin {
  origin_transport transport = origin_transport::tcp;
  std::string host;                            ///< a name to resolve, or an address literal
  std::uint16_t port = 80;
  std::optional<::asio::ip::address> address;  ///< set when `host` is a literal: no resolver
  std::string socket_path;                     ///< the socket file (unix_socket only)
  std::string host_header;                     ///< `host[:port]`, IPv6 in brackets
  std::string base;                            ///< the base URL as messages name it
};

/// The exception for a base URL the client cannot use: it names the URL and what is wrong.
inline std::invalid_argument bad_base_url(std::string_view url, std::string_view why) {
  return std::invalid_argument("statefun::asio::http_client: bad base URL \"" + std::string(url) +
                               "\": " + std::string(why));
}

/// A DNS name or IPv4 literal as RFC 3986 `reg-name` allows it, minus percent-encoding.
inline bool valid_host_name(std::string_view host) noexcept {
  if (host.empty()) {
    return false;
  }
  for (const char c : host) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && c != '-' && c != '.' && c != '_' && c != '~') {
      return false;
    }
  }
  return true;
}

/// The value of a hexadecimal digit, or -1.
inline int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

/**
 * The origin of `http+unix:///path/to/x.sock[/]` (the runtime's rule, docs/runtime_rules.md 1.8: the socket
 * is everything up to and including the first path segment that ends in `.sock`). `rest` is
 * what follows `scheme://`. Percent-escapes in the path are decoded, as `java.net.URI.getPath()`
 * does for the runtime.
 */
inline http_origin parse_unix_origin(std::string_view url, std::string_view rest) {
  if (rest.empty() || rest.front() != '/') {
    // `http+unix://tmp/x.sock` would put "tmp" in the authority, which the runtime ignores
    // (the socket would be /x.sock): refuse it rather than guess.
    throw bad_base_url(url, "expected http+unix:///absolute/path/to/file.sock (three slashes)");
  }
  if (rest.find_first_of("?#") != std::string_view::npos) {
    throw bad_base_url(url, "a base URL has no query or fragment; put them in the target");
  }
  std::string path;
  std::size_t at = 0;
  for (;;) {
    const std::size_t begin = at + 1;  // after the '/'
    const std::size_t end = std::min(rest.find('/', begin), rest.size());
    const std::string_view segment = rest.substr(begin, end - begin);
    path.append("/").append(segment);
    if (segment.ends_with(".sock")) {
      at = end;
      break;
    }
    if (end == rest.size()) {
      throw bad_base_url(url, "no path segment ends in .sock (http+unix:///path/to/file.sock)");
    }
    at = end;
  }
  const std::string_view after = rest.substr(at);
  if (!after.empty() && after != "/") {
    // As for http://: a base path would be ambiguous next to the targets given per request.
    throw bad_base_url(url, "nothing may follow the .sock segment; put the HTTP path in the target");
  }

  http_origin origin;
  origin.transport = origin_transport::unix_socket;
  for (std::size_t i = 0; i < path.size(); ++i) {
    char c = path[i];
    if (c == '%') {
      const int high = i + 2 < path.size() ? hex_digit(path[i + 1]) : -1;
      const int low = high >= 0 ? hex_digit(path[i + 2]) : -1;
      if (low < 0 || (high == 0 && low == 0)) {
        throw bad_base_url(url, "malformed percent-escape in the socket path");
      }
      c = static_cast<char>(high * 16 + low);
      i += 2;
    }
    origin.socket_path.push_back(c);
  }
  try {
    (void)::asio::local::stream_protocol::endpoint(origin.socket_path);
  } catch (const std::system_error&) {
    throw bad_base_url(url, "the socket path is too long for a Unix socket address");
  }
  // A UDS has no authority, but HTTP/1.1 requires a Host field (RFC 9112 3.2). The runtime's
  // OkHttp sends `unused`; "localhost" is what the usual `curl --unix-socket x.sock
  // http://localhost/` sends, and the name a server that checks Host (virtual hosts,
  // DNS-rebinding guards) is most likely to accept from a local peer. http_server ignores it.
  origin.host = "localhost";
  origin.host_header = "localhost";
  origin.base = "http+unix://" + std::string(rest.substr(0, at));
  return origin;
}

/**
 * Parses a base URL:
 * - `http://host[:port][/]` and `https://host[:port][/]`: a host name, an IPv4 literal or an
 *   IPv6 literal in brackets, and an optional port (80 or 443 by default);
 * - `http+unix:///path/to/x.sock[/]` and `https+unix:///path/to/x.sock[/]` (plain HTTP).
 * Schemes are case-insensitive.
 * @throws std::invalid_argument For anything else, with a message that names the URL and says why.
 */
inline http_origin parse_http_origin(std::string_view url) {
  namespace g = statefun::detail::http1;
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    throw bad_base_url(url, "expected http://host[:port], https://host[:port] or http+unix:///path/x.sock");
  }
  const std::string_view scheme = url.substr(0, scheme_end);
  if (g::iequals(scheme, "http+unix") || g::iequals(scheme, "https+unix")) {
    return parse_unix_origin(url, url.substr(scheme_end + 3));
  }
  const bool tls = g::iequals(scheme, "https");
  if (!tls && !g::iequals(scheme, "http")) {
    throw bad_base_url(url, "the scheme must be http, https, http+unix or https+unix");
  }
  std::string_view authority = url.substr(scheme_end + 3);
  const std::size_t authority_end = authority.find_first_of("/?#");
  if (authority_end != std::string_view::npos) {
    // A base path would be ambiguous next to the targets given per request: keep it out.
    if (authority.substr(authority_end) != "/") {
      throw bad_base_url(url, "a base URL has no path, query or fragment; put them in the target");
    }
    authority = authority.substr(0, authority_end);
  }
  if (authority.find('@') != std::string_view::npos) {
    throw bad_base_url(url, "user information is not supported");
  }

  http_origin origin;
  origin.transport = tls ? origin_transport::tls : origin_transport::tcp;
  const std::uint16_t default_port = tls ? 443 : 80;
  origin.port = default_port;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      throw bad_base_url(url, "an IPv6 address needs its closing ]");
    }
    origin.host = std::string(authority.substr(1, close - 1));
    std::error_code error;
    const auto v6 = ::asio::ip::make_address_v6(origin.host, error);
    if (error) {
      throw bad_base_url(url, "malformed IPv6 address");
    }
    origin.address = ::asio::ip::address(v6);
    const std::string_view rest = authority.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') {
      throw bad_base_url(url, "unexpected text after the IPv6 address");
    }
    port = rest.empty() ? rest : rest.substr(1);
  } else {
    const std::size_t colon = authority.find(':');
    origin.host = std::string(authority.substr(0, colon));
    if (!valid_host_name(origin.host)) {
      throw bad_base_url(url, origin.host.empty() ? "no host" : "malformed host");
    }
    std::error_code error;
    const auto v4 = ::asio::ip::make_address_v4(origin.host, error);
    if (!error) {
      origin.address = ::asio::ip::address(v4);
    }
    port = colon == std::string_view::npos ? std::string_view{} : authority.substr(colon + 1);
  }

  if (!port.empty()) {
    const auto value = port.size() <= 5 ? g::parse_decimal(port) : std::nullopt;
    if (!value || *value == 0 || *value > 65535) {
      throw bad_base_url(url, "the port must be a number from 1 to 65535");
    }
    origin.port = static_cast<std::uint16_t>(*value);
  }
  const bool v6 = origin.address && origin.address->is_v6();
  origin.host_header = v6 ? "[" + origin.host + "]" : origin.host;
  if (origin.port != default_port) {
    origin.host_header += ":" + std::to_string(origin.port);
  }
  origin.base = (tls ? "https://" : "http://") + origin.host_header;
  return origin;
}

}  // namespace statefun::inline v0::asio::detail
