#pragma once

/// @file
/// `metrics::prometheus`: an observer that counts the handler's, the server's and HTTP clients' events and
/// writes them in the Prometheus text exposition format 0.0.4.
///
/// Its own folder: it consumes the core's `observer` events and needs nothing above the core
/// (no codec, no sockets), and other sinks of the same events (OpenTelemetry, StatsD) would sit
/// beside it. The server serves it on `GET /metrics` through `observer::expose`.

#include <statefun/metrics/detail/client_series.hpp>
#include <statefun/metrics/detail/function_series.hpp>
#include <statefun/metrics/detail/instruments.hpp>
#include <statefun/metrics/detail/local_series.hpp>
#include <statefun/metrics/detail/server_series.hpp>
#include <statefun/observer.hpp>
#include <statefun/type_name.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace statefun::inline v0::metrics {

/**
 * Counts what it observes in relaxed atomics (any number of serving threads at once) and
 * renders it on demand. Series are labelled by function type (bounded: the bound types),
 * never by id. See docs/observability.md for every metric.
 *
 * **Example**:
 * @code
 * statefun::metrics::prometheus metrics;
 * fns.observe(&metrics);
 * statefun::asio::http_server server{fns, {.port = 8000, .observer = &metrics}};  // GET /metrics
 * @endcode
 */
class prometheus final : public observer {
 public:
  /// The Content-Type of `expose`'s text.
  static constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";

  [[gnu::cold]] function_observer* function_type(const type_name& type) override {
    const std::lock_guard lock(mutex_);
    for (const auto& series : functions_) {
      if (series->type == type.str()) {
        return series.get();  // two registries binding one type share its series
      }
    }
    return functions_.emplace_back(std::make_unique<detail::function_series>(type.str())).get();
  }

  void request_failed(failure_kind kind) noexcept override { unrouted_failures_[detail::failure_index(kind)].add(); }

  // The server's events.
  void connection(connection_event event) noexcept override { server_.connection(event); }
  void bytes_received(std::uint64_t bytes) noexcept override { server_.bytes_received(bytes); }
  void response(const response_event& event) noexcept override { server_.response(event); }
  void timeout(timeout_kind kind) noexcept override { server_.timeout(kind); }
  void parser_refused(parser_refusal reason) noexcept override { server_.parser_refused(reason); }
  void tls_handshake_failed() noexcept override { server_.tls_handshake_failed(); }

  // The local runtime's events.
  void local_runtime_attached() noexcept override { local_.attached(); }
  local_function_observer* local_function_type(const type_name& type) override { return local_.function_type(type); }
  void local_delayed_changed(std::int64_t delta) noexcept override { local_.delayed_changed(delta); }
  void local_in_flight_changed(std::int64_t delta) noexcept override { local_.in_flight_changed(delta); }
  void local_egress_record(std::string_view egress) noexcept override { local_.egress_record(egress); }
  void local_snapshot(std::size_t released) noexcept override { local_.snapshot(released); }
  void local_restore() noexcept override { local_.restore(); }

  // The HTTP clients' events go to their name's series.
  [[gnu::cold]] client_observer* client(std::string_view name) override {
    const std::lock_guard lock(mutex_);
    for (const auto& series : clients_) {
      if (series->name == name) {
        return series.get();  // clients of one name share its series
      }
    }
    return clients_.emplace_back(std::make_unique<detail::client_series>(std::string(name))).get();
  }

  [[gnu::cold]] bool expose(std::string& out) const override {
    write(out);
    return true;
  }

  /// Appends the exposition (format 0.0.4) of everything counted so far.
  [[gnu::cold]] void write(std::string& out) const {
    const std::lock_guard lock(mutex_);
    detail::append_functions(out, functions_, unrouted_failures_);
    detail::append_function_flows(out, functions_);
    server_.write(out);
    local_.write(out);
    detail::append_clients(out, clients_);
  }

 private:
  /// Guards the lists of series (added at bind time and at a client's construction) against a
  /// scrape; never taken per event.
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<detail::function_series>> functions_;
  std::array<detail::counter, 4> unrouted_failures_;
  detail::server_series server_;
  detail::local_series local_;
  std::vector<std::unique_ptr<detail::client_series>> clients_;
};

}  // namespace statefun::inline v0::metrics
