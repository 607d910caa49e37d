#pragma once

/// @file
/// `client_series`: the Prometheus series of one named `asio::http_client` (its calls,
/// attempts, retries and connections), and how the exposition writes them.

#include <statefun/metrics/detail/instruments.hpp>
#include <statefun/observer.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace statefun::inline v0::metrics::detail {

/// The `outcome` label of calls and attempts: the final status's class, or why there is none.
/// Never the URL or the path: a client is called with arbitrary targets.
inline constexpr std::array<std::string_view, 9> client_outcome_names{
    "2xx", "3xx", "4xx", "5xx", "other_status", "timeout", "connection_error", "bad_response", "cancelled"};

/// Seconds from 500 µs to 60 s, in nanoseconds: a call's time includes its retries' backoff
/// and attempts that wait out a timeout (10 s by default).
inline constexpr std::array<std::uint64_t, 16> call_duration_bounds{
    500'000,       1'000'000,     2'500'000,     5'000'000,      10'000'000,     25'000'000,
    50'000'000,    100'000'000,   250'000'000,   500'000'000,    1'000'000'000,  2'500'000'000,
    5'000'000'000, 10'000'000'000, 30'000'000'000, 60'000'000'000};

/// The index in `client_outcome_names` of an outcome (with its status, for a response).
inline std::size_t client_outcome_index(client_outcome outcome, int status) noexcept {
  switch (outcome) {
    case client_outcome::response:
      if (status >= 200 && status <= 599) {
        return static_cast<std::size_t>(status / 100 - 2);
      }
      return 4;
    case client_outcome::timeout: return 5;
    case client_outcome::connection_error: return 6;
    case client_outcome::bad_response: return 7;
    case client_outcome::cancelled: return 8;
  }
  return 6;
}

/// One client name's series: the clients of that name call it directly, no lookup per event.
struct client_series final : client_observer {
  explicit client_series(std::string n) : name(std::move(n)) {}

  void call(const client_call_event& e) noexcept override {
    calls[client_outcome_index(e.outcome, e.status)].add();
    duration.observe(static_cast<std::uint64_t>(e.duration.count()));
  }

  void attempt(const client_attempt_event& e) noexcept override {
    attempts[client_outcome_index(e.outcome, e.status)].add();
  }

  void retry() noexcept override { retries.add(); }

  void connection(client_connection_event event) noexcept override {
    switch (event) {
      case client_connection_event::opened:
        opened.add();
        open.add(1);
        break;
      case client_connection_event::closed: open.add(-1); break;
      case client_connection_event::pooled: idle.add(1); break;
      case client_connection_event::unpooled: idle.add(-1); break;
    }
  }

  const std::string name;
  std::array<counter, client_outcome_names.size()> calls;
  std::array<counter, client_outcome_names.size()> attempts;
  counter retries;
  counter opened;
  gauge open;
  gauge idle;
  histogram<16> duration{call_duration_bounds};
};

/// Appends the families of the HTTP clients' series (labelled `client`, their names).
inline void append_clients(std::string& out, const std::vector<std::unique_ptr<client_series>>& clients) {
  const auto by_outcome = [&](std::string_view family, std::string_view help, auto member) {
    append_family(out, family, "counter", help);
    for (const auto& c : clients) {
      const auto& counts = (*c).*member;
      for (std::size_t k = 0; k < client_outcome_names.size(); ++k) {
        append_sample(out, family, {{"client", c->name}, {"outcome", client_outcome_names[k]}}, counts[k].value());
      }
    }
  };
  by_outcome("statefun_client_calls_total",
             "HTTP client calls by outcome: the returned status's class, or the last attempt's error.",
             &client_series::calls);
  by_outcome("statefun_client_attempts_total", "HTTP client attempts (a call's first and its retries) by outcome.",
             &client_series::attempts);

  const auto per_client = [&](std::string_view family, std::string_view type, std::string_view help,
                              const auto& value_of) {
    append_family(out, family, type, help);
    for (const auto& c : clients) {
      append_sample(out, family, {{"client", c->name}}, value_of(*c));
    }
  };
  per_client("statefun_client_retries_total", "counter", "HTTP client attempts that failed and were retried.",
             [](const client_series& c) { return c.retries.value(); });
  per_client("statefun_client_connections_opened_total", "counter", "HTTP client connections opened.",
             [](const client_series& c) { return c.opened.value(); });
  per_client("statefun_client_connections", "gauge", "HTTP client connections open now, in use or idle.",
             [](const client_series& c) { return c.open.value(); });
  per_client("statefun_client_idle_connections", "gauge", "HTTP client connections idle in the pool now.",
             [](const client_series& c) { return c.idle.value(); });

  append_family(out, "statefun_client_call_duration_seconds", "histogram",
                "HTTP client call time, from the call to its result (retries and backoff included).");
  for (const auto& c : clients) {
    append_histogram(out, "statefun_client_call_duration_seconds", c->duration, 1e9, {{"client", c->name}});
  }
}

}  // namespace statefun::inline v0::metrics::detail
