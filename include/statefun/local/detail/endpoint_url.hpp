#pragma once

/// @file
/// The URL a function type is reached at: `urlPathTemplate` expanded, then split into the
/// origin the HTTP client connects to and the request target (docs/runtime_rules.md §1.2, §1.8, rule 3).

#include <statefun/detail/http_grammar.hpp>
#include <statefun/local/module.hpp>

#include <stdexcept>
#include <string>
#include <string_view>

namespace statefun::inline v0::local::detail {

struct endpoint_url {
  std::string origin;  ///< `http://host:port`, `https://host:port` or `http+unix:///path/x.sock`
  std::string target;  ///< path (at least `/`), query and, on the async transport, fragment
};

/// `url_template` with every `{function.name}` replaced by `function_name` (the type's name,
/// not its namespace).
inline std::string expand_url_template(std::string_view url_template, std::string_view function_name) {
  static constexpr std::string_view placeholder = "{function.name}";
  std::string url;
  for (std::size_t at = 0;;) {
    const std::size_t found = url_template.find(placeholder, at);
    url.append(url_template.substr(at, found == std::string_view::npos ? std::string_view::npos : found - at));
    if (found == std::string_view::npos) {
      return url;
    }
    url.append(function_name);
    at = found + placeholder.size();
  }
}

/**
 * Splits `url` as the transport would. The Netty (async) transport puts the fragment on the
 * request line; OkHttp drops it. For `http+unix` (and `https+unix`, which is plain HTTP) the
 * socket is everything up to the first path segment ending in `.sock`.
 * @throws std::invalid_argument naming `url` for an unsupported scheme or a missing `.sock`.
 */
inline endpoint_url split_endpoint_url(std::string_view url, transport_kind transport) {
  namespace g = statefun::detail::http1;
  const auto refuse = [&](std::string_view why) {
    return std::invalid_argument("endpoint URL '" + std::string(url) + "': " + std::string(why));
  };
  const std::size_t colon = url.find("://");
  if (colon == std::string_view::npos) {
    throw refuse("expected scheme://...");
  }
  const std::string_view scheme = url.substr(0, colon);
  std::string_view rest = url.substr(colon + 3);
  if (g::iequals(scheme, "http+unix") || g::iequals(scheme, "https+unix")) {
    std::size_t end = 0;
    for (;;) {
      const std::size_t slash = rest.find('/', end + 1);
      const std::string_view segment = rest.substr(end, slash == std::string_view::npos ? rest.size() - end : slash - end);
      if (segment.size() >= 5 && segment.substr(segment.size() - 5) == ".sock") {
        end = slash == std::string_view::npos ? rest.size() : slash;
        break;
      }
      if (slash == std::string_view::npos) {
        throw refuse("a Unix socket URL needs a path segment ending in .sock");
      }
      end = slash;
    }
    const std::string_view path = rest.substr(end);
    return {"http+unix://" + std::string(rest.substr(0, end)), path.empty() ? "/" : std::string(path)};
  }
  if (!g::iequals(scheme, "http") && !g::iequals(scheme, "https")) {
    throw refuse("the scheme must be http, https, http+unix or https+unix");
  }
  const std::size_t path_at = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, path_at);
  if (authority.empty()) {
    throw refuse("no host");
  }
  std::string target(path_at == std::string_view::npos ? std::string_view{} : rest.substr(path_at));
  if (transport == transport_kind::okhttp) {
    if (const std::size_t hash = target.find('#'); hash != std::string::npos) {
      target.erase(hash);
    }
  }
  if (target.empty() || target.front() != '/') {
    target.insert(0, "/");
  }
  std::string origin(scheme);
  for (char& c : origin) {
    c = g::ascii_lower(c);
  }
  return {origin + "://" + std::string(authority), std::move(target)};
}

}  // namespace statefun::inline v0::local::detail
