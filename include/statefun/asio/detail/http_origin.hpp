#pragma once

/// @file
/// `http_origin`: the `http://host:port` an `http_client` talks to, parsed once.

#include <asio/ip/address.hpp>

#include <statefun/config.hpp>
#include <statefun/detail/http_grammar.hpp>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace statefun::inline v0::asio::detail {

/// Where requests go: what to connect to, and what to send as `Host`.
struct http_origin {
  std::string host;                            ///< a name to resolve, or an address literal
  std::uint16_t port = 80;
  std::optional<::asio::ip::address> address;  ///< set when `host` is a literal: no resolver
  std::string host_header;                     ///< `host[:port]`, IPv6 in brackets
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

/**
 * Parses `http://host[:port][/]`: a host name, an IPv4 literal or an IPv6 literal in brackets,
 * and an optional port (80 by default).
 * @throws std::invalid_argument For anything else, `https` included, with a message that says why.
 */
inline http_origin parse_http_origin(std::string_view url) {
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    throw bad_base_url(url, "expected http://host[:port]");
  }
  const std::string_view scheme = url.substr(0, scheme_end);
  if (statefun::detail::http1::iequals(scheme, "https")) {
    throw bad_base_url(url, "https is not supported yet; use http:// (or a TLS-terminating proxy)");
  }
  if (!statefun::detail::http1::iequals(scheme, "http")) {
    throw bad_base_url(url, "the scheme must be http");
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
    const auto value = port.size() <= 5 ? statefun::detail::http1::parse_decimal(port) : std::nullopt;
    if (!value || *value == 0 || *value > 65535) {
      throw bad_base_url(url, "the port must be a number from 1 to 65535");
    }
    origin.port = static_cast<std::uint16_t>(*value);
  }
  const bool v6 = origin.address && origin.address->is_v6();
  origin.host_header = v6 ? "[" + origin.host + "]" : origin.host;
  if (origin.port != 80) {
    origin.host_header += ":" + std::to_string(origin.port);
  }
  return origin;
}

}  // namespace statefun::inline v0::asio::detail
