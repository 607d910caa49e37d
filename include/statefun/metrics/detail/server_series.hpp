#pragma once

/// @file
/// `server_series`: the Prometheus series of `asio::http_server`'s events, and how the
/// exposition writes them.

#include <statefun/metrics/detail/instruments.hpp>
#include <statefun/observer.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace statefun::inline v0::metrics::detail {

/// The server's counters: connections, responses, bytes, timeouts, refusals.
class server_series {
 public:
  void connection(connection_event event) noexcept {
    switch (event) {
      case connection_event::accepted:
        accepted_.add();
        open_.add(1);
        break;
      case connection_event::refused:
        refused_.add();
        open_.add(1);
        break;
      case connection_event::closed: open_.add(-1); break;
    }
  }

  void bytes_received(std::uint64_t bytes) noexcept { received_bytes_.add(bytes); }

  void response(const response_event& event) noexcept {
    responses_[status_index(event.status)].add();
    sent_bytes_.add(event.bytes);
  }

  void timeout(timeout_kind kind) noexcept { timeouts_[static_cast<std::size_t>(kind)].add(); }

  void parser_refused(parser_refusal reason) noexcept { parser_refusals_[static_cast<std::size_t>(reason)].add(); }

  void tls_handshake_failed() noexcept { tls_failures_.add(); }

  /// Appends the server's families.
  [[gnu::cold]] void write(std::string& out) const {
    append_family(out, "statefun_server_connections", "gauge", "Connections open now.");
    append_sample(out, "statefun_server_connections", {}, open_.value());
    append_family(out, "statefun_server_connections_accepted_total", "counter", "Connections accepted and served.");
    append_sample(out, "statefun_server_connections_accepted_total", {}, accepted_.value());
    append_family(out, "statefun_server_connections_refused_total", "counter",
                  "Connections beyond max_connections (or out of file descriptors), answered 503.");
    append_sample(out, "statefun_server_connections_refused_total", {}, refused_.value());
    append_family(out, "statefun_server_responses_total", "counter", "Responses written, by status code.");
    for (std::size_t i = 0; i <= statuses.size(); ++i) {
      const std::string code = i < statuses.size() ? std::to_string(statuses[i]) : "other";
      append_sample(out, "statefun_server_responses_total", {{"status", code}}, responses_[i].value());
    }
    append_family(out, "statefun_server_received_bytes_total", "counter", "Bytes received on connections.");
    append_sample(out, "statefun_server_received_bytes_total", {}, received_bytes_.value());
    append_family(out, "statefun_server_sent_bytes_total", "counter", "Bytes of the responses written.");
    append_sample(out, "statefun_server_sent_bytes_total", {}, sent_bytes_.value());
    append_family(out, "statefun_server_timeouts_total", "counter", "Connections closed on a deadline, by kind.");
    for (std::size_t k = 0; k < timeout_names.size(); ++k) {
      append_sample(out, "statefun_server_timeouts_total", {{"kind", timeout_names[k]}}, timeouts_[k].value());
    }
    append_family(out, "statefun_server_parser_refusals_total", "counter",
                  "Requests the HTTP parser refused, by reason.");
    for (std::size_t k = 0; k < refusal_names.size(); ++k) {
      append_sample(out, "statefun_server_parser_refusals_total", {{"reason", refusal_names[k]}},
                    parser_refusals_[k].value());
    }
    append_family(out, "statefun_server_tls_handshake_failures_total", "counter", "TLS handshakes that failed.");
    append_sample(out, "statefun_server_tls_handshake_failures_total", {}, tls_failures_.value());
  }

 private:
  static constexpr std::array<std::string_view, 4> timeout_names{"header", "body", "idle", "write"};
  static constexpr std::array<std::string_view, 6> refusal_names{
      "bad_request", "body_too_large", "head_too_large", "not_implemented", "version_not_supported", "other"};
  /// The statuses the server answers with; anything else is counted as "other".
  static constexpr std::array<int, 12> statuses{200, 400, 404, 405, 408, 413, 415, 431, 500, 501, 503, 505};

  static std::size_t status_index(int status) noexcept {
    for (std::size_t i = 0; i < statuses.size(); ++i) {
      if (statuses[i] == status) {
        return i;
      }
    }
    return statuses.size();
  }

  gauge open_;
  counter accepted_;
  counter refused_;
  std::array<counter, statuses.size() + 1> responses_;
  counter received_bytes_;
  counter sent_bytes_;
  std::array<counter, 4> timeouts_;
  std::array<counter, 6> parser_refusals_;
  counter tls_failures_;
};

}  // namespace statefun::inline v0::metrics::detail
