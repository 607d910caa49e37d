#pragma once

/// @file
/// `metrics::prometheus`: an observer that counts the handler's and the server's events and
/// writes them in the Prometheus text exposition format 0.0.4.
///
/// Its own folder: it consumes the core's `observer` events and needs nothing above the core
/// (no codec, no sockets), and other sinks of the same events (OpenTelemetry, StatsD) would sit
/// beside it. The server serves it on `GET /metrics` through `observer::expose`.

#include <statefun/metrics/detail/instruments.hpp>
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

  function_observer* function_type(const type_name& type) override {
    const std::lock_guard lock(mutex_);
    for (const auto& series : functions_) {
      if (series->type == type.str()) {
        return series.get();  // two registries binding one type share its series
      }
    }
    return functions_.emplace_back(std::make_unique<function_series>(type.str())).get();
  }

  void request_failed(failure_kind kind) noexcept override { unrouted_failures_[index(kind)].add(); }

  void connection(connection_event event) noexcept override {
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

  void bytes_received(std::uint64_t bytes) noexcept override { received_bytes_.add(bytes); }

  void response(const response_event& event) noexcept override {
    responses_[status_index(event.status)].add();
    sent_bytes_.add(event.bytes);
  }

  void timeout(timeout_kind kind) noexcept override { timeouts_[static_cast<std::size_t>(kind)].add(); }

  void parser_refused(parser_refusal reason) noexcept override {
    parser_refusals_[static_cast<std::size_t>(reason)].add();
  }

  void tls_handshake_failed() noexcept override { tls_failures_.add(); }

  bool expose(std::string& out) const override {
    write(out);
    return true;
  }

  /// Appends the exposition (format 0.0.4) of everything counted so far.
  void write(std::string& out) const {
    const std::lock_guard lock(mutex_);
    write_functions(out);
    write_server(out);
  }

 private:
  static constexpr std::array<std::string_view, 4> failure_names{"malformed_request", "unknown_function_type",
                                                                  "exception", "refused_effect"};
  static constexpr std::array<std::string_view, 5> effect_names{"message", "delayed_message", "cancellation",
                                                                 "egress_record", "reply"};
  static constexpr std::array<std::string_view, 4> timeout_names{"header", "body", "idle", "write"};
  static constexpr std::array<std::string_view, 6> refusal_names{
      "bad_request", "body_too_large", "head_too_large", "not_implemented", "version_not_supported", "other"};
  /// The statuses the server answers with; anything else is counted as "other".
  static constexpr std::array<int, 12> statuses{200, 400, 404, 405, 408, 413, 415, 431, 500, 501, 503, 505};

  /// Seconds from 100 µs to 10 s, in nanoseconds.
  static constexpr std::array<std::uint64_t, 16> duration_bounds{
      100'000,     250'000,     500'000,       1'000'000,     2'500'000,     5'000'000,
      10'000'000,  25'000'000,  50'000'000,    100'000'000,   250'000'000,   500'000'000,
      1'000'000'000, 2'500'000'000, 5'000'000'000, 10'000'000'000};
  /// Invocations per batch (the runtime batches while a function is slow).
  static constexpr std::array<std::uint64_t, 10> size_bounds{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000};

  static std::size_t index(failure_kind kind) noexcept { return static_cast<std::size_t>(kind); }

  static std::size_t status_index(int status) noexcept {
    for (std::size_t i = 0; i < statuses.size(); ++i) {
      if (statuses[i] == status) {
        return i;
      }
    }
    return statuses.size();
  }

  /// One function type's series: its handlers call it directly, no lookup per batch.
  struct function_series final : function_observer {
    explicit function_series(std::string t) : type(std::move(t)) {}

    // Every atomic addition is a locked instruction (about 20 cycles): what can be derived at
    // a scrape is not counted apart. Batches are the duration histogram's count (failed ones
    // included); invocations are the batch size histogram's sum plus those of failed batches.
    void batch_handled(const batch_event& e) noexcept override {
      count(e);
      duration.observe(static_cast<std::uint64_t>(e.handler_time.count()));
    }

    void missing_state(std::size_t /*missing*/) noexcept override { missing_states.add(); }

    void batch_failed(failure_kind kind, const batch_event& e) noexcept override {
      failures[index(kind)].add();
      failed_invocations.add(e.invocations);
      duration.observe(static_cast<std::uint64_t>(e.handler_time.count()));
    }

    void count(const batch_event& e) noexcept {
      batch_size.observe(e.invocations);
      const std::array<std::uint32_t, 5> effects{e.messages, e.delayed_messages, e.cancellations,
                                                 e.egress_records, e.replies};
      for (std::size_t i = 0; i < effects.size(); ++i) {
        if (effects[i] != 0) {
          this->effects[i].add(effects[i]);
        }
      }
      if (e.state_bytes_read != 0) {
        state_read.add(e.state_bytes_read);
      }
      if (e.state_bytes_written != 0) {
        state_written.add(e.state_bytes_written);
      }
    }

    const std::string type;
    /// Invocations of failed batches (those of the others are `batch_size`'s sum).
    detail::counter failed_invocations;
    detail::counter missing_states;
    detail::counter state_read;
    detail::counter state_written;
    std::array<detail::counter, 4> failures;
    std::array<detail::counter, 5> effects;
    detail::histogram<10> batch_size{size_bounds};
    detail::histogram<16> duration{duration_bounds};
  };

  void write_functions(std::string& out) const {
    using detail::append_family;
    using detail::append_sample;
    const auto per_type = [&](std::string_view name, std::string_view help, const auto& value_of) {
      append_family(out, name, "counter", help);
      for (const auto& s : functions_) {
        append_sample(out, name, {{"function_type", s->type}}, value_of(*s));
      }
    };
    per_type("statefun_function_batches_total", "Batches (requests) handled, failed ones included.",
             [](const function_series& s) { return s.duration.count(); });
    per_type("statefun_function_invocations_total", "Invocations in the batches handled.",
             [](const function_series& s) { return s.batch_size.sum() + s.failed_invocations.value(); });
    per_type("statefun_function_missing_state_total",
             "Batches answered with the missing-state handshake (the runtime lacked a declared state).",
             [](const function_series& s) { return s.missing_states.value(); });
    per_type("statefun_function_state_read_bytes_total", "Bytes of state values received with batches handled.",
             [](const function_series& s) { return s.state_read.value(); });
    per_type("statefun_function_state_written_bytes_total", "Bytes of state values written back by batches handled.",
             [](const function_series& s) { return s.state_written.value(); });

    append_family(out, "statefun_function_failures_total", "counter",
                  "Failed batches by kind; function_type is empty when the request named no bound type.");
    for (std::size_t k = 0; k < failure_names.size(); ++k) {
      append_sample(out, "statefun_function_failures_total", {{"function_type", ""}, {"kind", failure_names[k]}},
                    unrouted_failures_[k].value());
    }
    for (const auto& s : functions_) {
      for (std::size_t k = 0; k < failure_names.size(); ++k) {
        append_sample(out, "statefun_function_failures_total", {{"function_type", s->type}, {"kind", failure_names[k]}},
                      s->failures[k].value());
      }
    }
    append_family(out, "statefun_function_effects_total", "counter", "Effects of the batches handled, by kind.");
    for (const auto& s : functions_) {
      for (std::size_t k = 0; k < effect_names.size(); ++k) {
        append_sample(out, "statefun_function_effects_total", {{"function_type", s->type}, {"kind", effect_names[k]}},
                      s->effects[k].value());
      }
    }
    append_family(out, "statefun_function_batch_size", "histogram", "Invocations per batch handled.");
    for (const auto& s : functions_) {
      detail::append_histogram(out, "statefun_function_batch_size", s->batch_size, 1.0, {{"function_type", s->type}});
    }
    append_family(out, "statefun_function_batch_duration_seconds", "histogram",
                  "Time the handler took per batch, from decoding to the response (failed batches included).");
    for (const auto& s : functions_) {
      detail::append_histogram(out, "statefun_function_batch_duration_seconds", s->duration, 1e9,
                               {{"function_type", s->type}});
    }
  }

  void write_server(std::string& out) const {
    using detail::append_family;
    using detail::append_sample;
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

  /// Guards the list of series (added at bind time) against a scrape; never taken per event.
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<function_series>> functions_;
  std::array<detail::counter, 4> unrouted_failures_;
  detail::gauge open_;
  detail::counter accepted_;
  detail::counter refused_;
  std::array<detail::counter, statuses.size() + 1> responses_;
  detail::counter received_bytes_;
  detail::counter sent_bytes_;
  std::array<detail::counter, 4> timeouts_;
  std::array<detail::counter, 6> parser_refusals_;
  detail::counter tls_failures_;
};

}  // namespace statefun::inline v0::metrics
