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

  // What can be derived at a scrape is not counted apart: batches are the duration
  // histogram's count (failed ones included); invocations are the batch size histogram's sum
  // plus those of failed batches.
  void batch_handled(const batch_event& e) noexcept override {
    const std::size_t index = this_thread_shard();
    if (owned_shard(index)) {
      count_handled<true>(shards[index], e);
    } else {
      count_handled<false>(shards[index], e);
    }
  }

  void missing_state(std::size_t /*missing*/) noexcept override { missing_states.add(); }

  void batch_failed(failure_kind kind, const batch_event& e) noexcept override {
    const std::size_t index = this_thread_shard();
    if (owned_shard(index)) {
      count_failed<true>(shards[index], kind, e);
    } else {
      count_failed<false>(shards[index], kind, e);
    }
  }

  /// One thread's counts, on cache lines of its own.
  struct alignas(64) shard {
    /// Invocations of failed batches (those of the others are `batch_size`'s sum).
    cell failed_invocations;
    cell state_read;
    cell state_written;
    std::array<cell, 4> failures;
    std::array<cell, 5> effects;
    histogram_cells<size_bounds.size()> batch_size;
    histogram_cells<duration_bounds.size()> duration;
  };

  template <bool Owned>
  static void count_handled(shard& s, const batch_event& e) noexcept {
    s.batch_size.observe<Owned>(size_bounds, e.invocations);
    if (e.messages != 0) {
      s.effects[0].add<Owned>(e.messages);
    }
    if (e.delayed_messages != 0) {
      s.effects[1].add<Owned>(e.delayed_messages);
    }
    if (e.cancellations != 0) {
      s.effects[2].add<Owned>(e.cancellations);
    }
    if (e.egress_records != 0) {
      s.effects[3].add<Owned>(e.egress_records);
    }
    if (e.replies != 0) {
      s.effects[4].add<Owned>(e.replies);
    }
    if (e.state_bytes_read != 0) {
      s.state_read.add<Owned>(e.state_bytes_read);
    }
    if (e.state_bytes_written != 0) {
      s.state_written.add<Owned>(e.state_bytes_written);
    }
    s.duration.observe<Owned>(duration_bounds, static_cast<std::uint64_t>(e.handler_time.count()));
  }

  template <bool Owned>
  static void count_failed(shard& s, failure_kind kind, const batch_event& e) noexcept {
    s.failures[failure_index(kind)].add<Owned>(1);
    s.failed_invocations.add<Owned>(e.invocations);
    s.duration.observe<Owned>(duration_bounds, static_cast<std::uint64_t>(e.handler_time.count()));
  }

  /// A cell's value summed over the shards.
  template <class Select>
  std::uint64_t total(const Select& select) const noexcept {
    std::uint64_t n = 0;
    for (const shard& s : shards) {
      n += select(s).value();
    }
    return n;
  }

  /// A histogram summed over the shards.
  template <std::size_t N>
  histogram_counts<N> total(const std::array<std::uint64_t, N>& bounds,
                            histogram_cells<N> shard::*member) const noexcept {
    histogram_counts<N> counts;
    counts.bounds = &bounds;
    for (const shard& s : shards) {
      const histogram_cells<N>& h = s.*member;
      for (std::size_t i = 0; i <= N; ++i) {
        counts.buckets[i] += h.buckets[i].value();
      }
      counts.sum += h.sum.value();
    }
    return counts;
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
  /// Rare (once per missing-state handshake): one shared counter.
  counter missing_states;
  std::array<shard, shard_count> shards{};
  // Durable functions' and coroutine functions' counts: one shared set (a durable batch costs
  // microseconds; a suspension is rarer than a batch).
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
[[gnu::cold]] inline void append_functions(std::string& out, const std::vector<std::unique_ptr<function_series>>& functions,
                             const std::array<counter, 4>& unrouted) {
  const auto per_type = [&](std::string_view name, std::string_view help, const auto& value_of) {
    append_family(out, name, "counter", help);
    for (const auto& s : functions) {
      append_sample(out, name, {{"function_type", s->type}}, value_of(*s));
    }
  };
  using shard = function_series::shard;
  per_type("statefun_function_batches_total", "Batches (requests) handled, failed ones included.",
           [](const function_series& s) { return s.total(duration_bounds, &shard::duration).count(); });
  per_type("statefun_function_invocations_total", "Invocations in the batches handled.",
           [](const function_series& s) {
             return s.total(size_bounds, &shard::batch_size).sum +
                    s.total([](const shard& h) -> const cell& { return h.failed_invocations; });
           });
  per_type("statefun_function_missing_state_total",
           "Batches answered with the missing-state handshake (the runtime lacked a declared state).",
           [](const function_series& s) { return s.missing_states.value(); });
  per_type("statefun_function_state_read_bytes_total", "Bytes of state values received with batches handled.",
           [](const function_series& s) {
             return s.total([](const shard& h) -> const cell& { return h.state_read; });
           });
  per_type("statefun_function_state_written_bytes_total", "Bytes of state values written back by batches handled.",
           [](const function_series& s) {
             return s.total([](const shard& h) -> const cell& { return h.state_written; });
           });

  append_family(out, "statefun_function_failures_total", "counter",
                "Failed batches by kind; function_type is empty when the request named no bound type.");
  for (std::size_t k = 0; k < failure_names.size(); ++k) {
    append_sample(out, "statefun_function_failures_total", {{"function_type", ""}, {"kind", failure_names[k]}},
                  unrouted[k].value());
  }
  for (const auto& s : functions) {
    for (std::size_t k = 0; k < failure_names.size(); ++k) {
      append_sample(out, "statefun_function_failures_total", {{"function_type", s->type}, {"kind", failure_names[k]}},
                    s->total([k](const shard& h) -> const cell& { return h.failures[k]; }));
    }
  }
  append_family(out, "statefun_function_effects_total", "counter", "Effects of the batches handled, by kind.");
  for (const auto& s : functions) {
    for (std::size_t k = 0; k < effect_names.size(); ++k) {
      append_sample(out, "statefun_function_effects_total", {{"function_type", s->type}, {"kind", effect_names[k]}},
                    s->total([k](const shard& h) -> const cell& { return h.effects[k]; }));
    }
  }
  append_family(out, "statefun_function_batch_size", "histogram", "Invocations per batch handled.");
  for (const auto& s : functions) {
    append_histogram(out, "statefun_function_batch_size", s->total(size_bounds, &shard::batch_size), 1.0, {{"function_type", s->type}});
  }
  append_family(out, "statefun_function_batch_duration_seconds", "histogram",
                "Time the handler took per batch, from decoding to the response (failed batches included).");
  for (const auto& s : functions) {
    append_histogram(out, "statefun_function_batch_duration_seconds", s->total(duration_bounds, &shard::duration), 1e9,
                     {{"function_type", s->type}});
  }
}

/// Appends the families of durable functions' flows and of suspended coroutine functions, per
/// function type (zero for types of other kinds).
[[gnu::cold]] inline void append_function_flows(std::string& out, const std::vector<std::unique_ptr<function_series>>& functions) {
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
