#pragma once

/// @file
/// `function_series`: the Prometheus series of one function type (the handler's events), and
/// how the exposition writes them.

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

inline constexpr std::array<std::string_view, 4> failure_names{"malformed_request", "unknown_function_type",
                                                               "exception", "refused_effect"};
inline constexpr std::array<std::string_view, 5> effect_names{"message", "delayed_message", "cancellation",
                                                              "egress_record", "reply"};

/// Seconds from 100 µs to 10 s, in nanoseconds.
inline constexpr std::array<std::uint64_t, 16> duration_bounds{
    100'000,       250'000,       500'000,       1'000'000,   2'500'000,   5'000'000,
    10'000'000,    25'000'000,    50'000'000,    100'000'000, 250'000'000, 500'000'000,
    1'000'000'000, 2'500'000'000, 5'000'000'000, 10'000'000'000};
/// Invocations per batch (the runtime batches while a function is slow).
inline constexpr std::array<std::uint64_t, 10> size_bounds{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000};

inline std::size_t failure_index(failure_kind kind) noexcept { return static_cast<std::size_t>(kind); }

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
    failures[failure_index(kind)].add();
    failed_invocations.add(e.invocations);
    duration.observe(static_cast<std::uint64_t>(e.handler_time.count()));
  }

  void count(const batch_event& e) noexcept {
    batch_size.observe(e.invocations);
    const std::array<std::uint32_t, 5> counts{e.messages, e.delayed_messages, e.cancellations, e.egress_records,
                                              e.replies};
    for (std::size_t i = 0; i < counts.size(); ++i) {
      if (counts[i] != 0) {
        effects[i].add(counts[i]);
      }
    }
    if (e.state_bytes_read != 0) {
      state_read.add(e.state_bytes_read);
    }
    if (e.state_bytes_written != 0) {
      state_written.add(e.state_bytes_written);
    }
  }

  // Durable functions' and coroutine functions' events (not raised for other kinds).
  void durable_batch(const durable_event& e) noexcept override {
    if (e.flows_started != 0) {
      flows_started.add(e.flows_started);
    }
    if (e.flows_finished != 0) {
      flows_finished.add(e.flows_finished);
    }
    if (e.steps_replayed != 0) {
      steps_replayed.add(e.steps_replayed);
    }
    journal_read.add(e.journal_bytes_read);
    journal_written.add(e.journal_bytes_written);
  }

  void coroutine_suspended() noexcept override { suspended.add(1); }
  void coroutine_finished() noexcept override { suspended.add(-1); }

  const std::string type;
  /// Invocations of failed batches (those of the others are `batch_size`'s sum).
  counter failed_invocations;
  counter missing_states;
  counter state_read;
  counter state_written;
  std::array<counter, 4> failures;
  std::array<counter, 5> effects;
  histogram<10> batch_size{size_bounds};
  histogram<16> duration{duration_bounds};
  counter flows_started;
  counter flows_finished;
  counter steps_replayed;
  counter journal_read;
  counter journal_written;
  /// Invocations of coroutine functions waiting on asynchronous work now.
  gauge suspended;
};

/**
 * Appends the families of the function types' series. `unrouted`: failures of requests that
 * named no bound type (their `function_type` label is empty).
 */
inline void append_functions(std::string& out, const std::vector<std::unique_ptr<function_series>>& functions,
                             const std::array<counter, 4>& unrouted) {
  const auto per_type = [&](std::string_view name, std::string_view help, const auto& value_of) {
    append_family(out, name, "counter", help);
    for (const auto& s : functions) {
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
                  unrouted[k].value());
  }
  for (const auto& s : functions) {
    for (std::size_t k = 0; k < failure_names.size(); ++k) {
      append_sample(out, "statefun_function_failures_total", {{"function_type", s->type}, {"kind", failure_names[k]}},
                    s->failures[k].value());
    }
  }
  append_family(out, "statefun_function_effects_total", "counter", "Effects of the batches handled, by kind.");
  for (const auto& s : functions) {
    for (std::size_t k = 0; k < effect_names.size(); ++k) {
      append_sample(out, "statefun_function_effects_total", {{"function_type", s->type}, {"kind", effect_names[k]}},
                    s->effects[k].value());
    }
  }
  append_family(out, "statefun_function_batch_size", "histogram", "Invocations per batch handled.");
  for (const auto& s : functions) {
    append_histogram(out, "statefun_function_batch_size", s->batch_size, 1.0, {{"function_type", s->type}});
  }
  append_family(out, "statefun_function_batch_duration_seconds", "histogram",
                "Time the handler took per batch, from decoding to the response (failed batches included).");
  for (const auto& s : functions) {
    append_histogram(out, "statefun_function_batch_duration_seconds", s->duration, 1e9,
                     {{"function_type", s->type}});
  }
}

/// Appends the families of durable functions' flows and of suspended coroutine functions, per
/// function type (zero for types of other kinds).
inline void append_function_flows(std::string& out, const std::vector<std::unique_ptr<function_series>>& functions) {
  const auto per_type = [&](std::string_view name, std::string_view type, std::string_view help,
                            const auto& value_of) {
    append_family(out, name, type, help);
    for (const auto& s : functions) {
      append_sample(out, name, {{"function_type", s->type}}, value_of(*s));
    }
  };
  per_type("statefun_function_suspended", "gauge",
           "Invocations of coroutine functions waiting on asynchronous work now.",
           [](const function_series& s) { return s.suspended.value(); });
  per_type("statefun_durable_flows_started_total", "counter", "Durable flows started by batches handled.",
           [](const function_series& s) { return s.flows_started.value(); });
  per_type("statefun_durable_flows_finished_total", "counter", "Durable flows that ran to their end in batches handled.",
           [](const function_series& s) { return s.flows_finished.value(); });
  per_type("statefun_durable_steps_replayed_total", "counter",
           "Steps of durable flows that a replay issued again from the journal.",
           [](const function_series& s) { return s.steps_replayed.value(); });
  per_type("statefun_durable_journal_read_bytes_total", "counter",
           "Bytes of durable journals received with batches handled.",
           [](const function_series& s) { return s.journal_read.value(); });
  per_type("statefun_durable_journal_written_bytes_total", "counter",
           "Bytes of durable journals written back by batches handled.",
           [](const function_series& s) { return s.journal_written.value(); });
}

}  // namespace statefun::inline v0::metrics::detail
