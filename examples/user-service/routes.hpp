#pragma once

// The REST endpoints, and `route`: from an HTTP method and target to the request for the
// functions, or to the answer the gateway gives at once (404, 405, 400) without asking them.

#include "http_answer.hpp"
#include "messages.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>
#include <system_error>
#include <variant>

namespace user_service {

struct endpoint {
  std::string_view method;
  std::string_view path;  // {id} and {amount} stand for one path segment each
  operation op;
};

inline constexpr endpoint endpoints[] = {
    {"POST", "/users/create", operation::create},
    {"GET", "/users/find/{id}", operation::find},
    {"DELETE", "/users/remove/{id}", operation::remove},
    {"GET", "/users/credit/{id}", operation::credit},
    {"POST", "/users/credit/add/{id}/{amount}", operation::add_credit},
    {"POST", "/users/credit/subtract/{id}/{amount}", operation::subtract_credit},
};

/// The segments of a path that stand for parameters.
struct path_parameters {
  std::string_view id;
  std::string_view amount;
};

/// The parameters of `path` if it has the shape of `pattern`.
inline std::optional<path_parameters> match(std::string_view pattern, std::string_view path) {
  path_parameters found;
  for (;;) {
    const auto pattern_end = pattern.find('/', 1);
    const auto path_end = path.find('/', 1);
    const std::string_view expected = pattern.substr(0, pattern_end);
    const std::string_view segment = path.substr(0, path_end);
    if (expected == "/{id}") {
      found.id = segment.substr(1);
    } else if (expected == "/{amount}") {
      found.amount = segment.substr(1);
    } else if (expected != segment) {
      return std::nullopt;
    }
    if (pattern_end == std::string_view::npos || path_end == std::string_view::npos) {
      return pattern_end == path_end ? std::optional(found) : std::nullopt;
    }
    pattern.remove_prefix(pattern_end);
    path.remove_prefix(path_end);
  }
}

/// True for what users/create hands out: decimal digits (and so a valid Kafka key).
inline bool is_user_id(std::string_view id) {
  return !id.empty() && id.size() <= 19 && std::ranges::all_of(id, [](char c) { return c >= '0' && c <= '9'; });
}

/// A positive whole number of credits (digits only: no sign, no fraction, no exponent).
inline std::optional<std::int64_t> parse_amount(std::string_view text) {
  std::int64_t amount = 0;
  const char* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, amount);
  if (error != std::errc{} || stop != end || amount <= 0) {
    return std::nullopt;
  }
  return amount;
}

/// Where a request goes: to the functions, or answered at once.
using route_result = std::variant<user_request, http_answer>;

/// The request for `op` with the parameters of its path (the gateway gives it its request id).
inline route_result request_for(operation op, const path_parameters& parameters) {
  user_request request{.op = op};
  if (op == operation::create) {
    return request;
  }
  if (!is_user_id(parameters.id)) {
    return http_answer{.status = 404, .body = error_body("user not found")};  // no such id is handed out
  }
  request.user_id = parameters.id;
  if (op == operation::add_credit || op == operation::subtract_credit) {
    const auto amount = parse_amount(parameters.amount);
    if (!amount) {
      return http_answer{.status = 400, .body = error_body("the amount must be a positive whole number")};
    }
    request.amount = *amount;
  }
  return request;
}

/// Routes a request by its method and target (any query is ignored).
inline route_result route(std::string_view method, std::string_view target) {
  const std::string_view path = target.substr(0, target.find('?'));
  std::string allowed;
  for (const endpoint& e : endpoints) {
    const auto parameters = match(e.path, path);
    if (!parameters) {
      continue;
    }
    if (method == e.method) {
      return request_for(e.op, *parameters);
    }
    allowed += (allowed.empty() ? "" : ", ") + std::string(e.method);
  }
  if (!allowed.empty()) {
    return http_answer{.status = 405, .body = error_body("method not allowed"), .allow = allowed};
  }
  return http_answer{.status = 404, .body = error_body("no such endpoint")};
}

}  // namespace user_service
