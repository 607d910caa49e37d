#pragma once

/// @file
/// `local_series`: the Prometheus series of `local::runtime`'s events (messages routed,
/// batches sent, backlogs, delayed messages, requests in flight, endpoint retries, egress
/// records, snapshots), and how the exposition writes them.

#include <statefun/metrics/detail/function_series.hpp>
#include <statefun/metrics/detail/instruments.hpp>
#include <statefun/observer.hpp>
#include <statefun/type_name.hpp>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace statefun::inline v0::metrics::detail {

inline constexpr std::array<std::string_view, 3> local_route_names{"ingress", "message", "delayed"};
inline constexpr std::array<std::string_view, 3> local_batch_reason_names{"fresh", "missing_state", "replay"};
inline constexpr std::array<std::string_view, 3> local_retry_reason_names{"status", "bad_answer", "io_error"};

/// One function type's runtime series: the runtime calls it directly, no lookup per message.
struct local_type_series final : local_function_observer {
  explicit local_type_series(std::string t) : type(std::move(t)) {}

  void message_routed(local_route route) noexcept override { routed[static_cast<std::size_t>(route)].add(); }
  void batch_sent(local_batch_reason reason, std::uint32_t invocations) noexcept override {
    batches[static_cast<std::size_t>(reason)].add();
    batch_size.observe(invocations);
  }
  void backlog_changed(std::int64_t delta) noexcept override { backlog.add(delta); }
  void endpoint_retried(local_retry_reason reason) noexcept override {
    retries[static_cast<std::size_t>(reason)].add();
  }

  const std::string type;
  std::array<counter, 3> routed;
  std::array<counter, 3> batches;
  std::array<counter, 3> retries;
  gauge backlog;
  histogram<10> batch_size{size_bounds};
};

/// Records published to one egress.
struct local_egress_series {
  explicit local_egress_series(std::string_view i) : id(i) {}
  const std::string id;
  counter records;
};

/**
 * The local runtime's series. Written only once a runtime attached (`attached`), so that a
 * function service's exposition carries no empty runtime families.
 */
class local_series {
 public:
  void attached() noexcept { attached_.store(true, std::memory_order_relaxed); }

  [[gnu::cold]] local_function_observer* function_type(const type_name& type) {
    const std::lock_guard lock(mutex_);
    for (const auto& series : types_) {
      if (series->type == type.str()) {
        return series.get();  // two runtimes knowing one type share its series
      }
    }
    return types_.emplace_back(std::make_unique<local_type_series>(type.str())).get();
  }

  void delayed_changed(std::int64_t delta) noexcept { delayed_.add(delta); }
  void in_flight_changed(std::int64_t delta) noexcept { in_flight_.add(delta); }

  /// Egress ids are the module's (a handful): a linear search under the lock, which only a
  /// scrape contends for.
  void egress_record(std::string_view egress) noexcept {
    const std::lock_guard lock(mutex_);
    for (const auto& series : egresses_) {
      if (series->id == egress) {
        series->records.add();
        return;
      }
    }
    try {
      egresses_.emplace_back(std::make_unique<local_egress_series>(egress))->records.add();
    } catch (...) {
      // out of memory: the record goes uncounted rather than the runtime down
    }
  }

  void snapshot(std::size_t released) noexcept {
    snapshots_.add();
    released_.add(released);
  }
  void restore() noexcept { restores_.add(); }

  /// Appends the runtime's families (nothing if no runtime attached).
  [[gnu::cold]] void write(std::string& out) const {
    if (!attached_.load(std::memory_order_relaxed)) {
      return;
    }
    const std::lock_guard lock(mutex_);
    const auto per_kind = [&](std::string_view name, std::string_view help, std::string_view label,
                              const auto& names, const auto& values_of) {
      append_family(out, name, "counter", help);
      for (const auto& s : types_) {
        const auto& values = values_of(*s);
        for (std::size_t k = 0; k < names.size(); ++k) {
          append_sample(out, name, {{"function_type", s->type}, {label, names[k]}}, values[k].value());
        }
      }
    };
    per_kind("statefun_local_messages_routed_total",
             "Messages the local runtime routed to a function type, by how they came.", "kind", local_route_names,
             [](const local_type_series& s) -> const auto& { return s.routed; });
    per_kind("statefun_local_batches_total", "Batches (requests) the local runtime sent to a function type, by why.",
             "reason", local_batch_reason_names, [](const local_type_series& s) -> const auto& { return s.batches; });
    append_family(out, "statefun_local_batch_size", "histogram", "Invocations per batch the local runtime sent.");
    for (const auto& s : types_) {
      append_histogram(out, "statefun_local_batch_size", s->batch_size, 1.0, {{"function_type", s->type}});
    }
    append_family(out, "statefun_local_backlog_messages", "gauge",
                  "Messages waiting behind the in-flight batches of a function type's addresses.");
    for (const auto& s : types_) {
      append_sample(out, "statefun_local_backlog_messages", {{"function_type", s->type}}, s->backlog.value());
    }
    per_kind("statefun_local_endpoint_retries_total",
             "Failed attempts to call a function type's HTTP endpoint that were retried, by reason.", "reason",
             local_retry_reason_names, [](const local_type_series& s) -> const auto& { return s.retries; });

    append_family(out, "statefun_local_delayed_messages", "gauge", "Delayed messages pending (not fired, not cancelled).");
    append_sample(out, "statefun_local_delayed_messages", {}, delayed_.value());
    append_family(out, "statefun_local_requests_in_flight", "gauge",
                  "Requests out to endpoints whose answers are not applied yet.");
    append_sample(out, "statefun_local_requests_in_flight", {}, in_flight_.value());
    append_family(out, "statefun_local_egress_records_total", "counter", "Records published to an egress.");
    for (const auto& s : egresses_) {
      append_sample(out, "statefun_local_egress_records_total", {{"egress", s->id}}, s->records.value());
    }
    append_family(out, "statefun_local_snapshots_total", "counter", "Snapshots taken.");
    append_sample(out, "statefun_local_snapshots_total", {}, snapshots_.value());
    append_family(out, "statefun_local_snapshot_egress_records_total", "counter",
                  "Exactly-once egress records published by snapshots.");
    append_sample(out, "statefun_local_snapshot_egress_records_total", {}, released_.value());
    append_family(out, "statefun_local_restores_total", "counter", "Restores of a snapshot.");
    append_sample(out, "statefun_local_restores_total", {}, restores_.value());
  }

 private:
  std::atomic<bool> attached_{false};
  /// Guards the lists (a type or an egress added) against a scrape.
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<local_type_series>> types_;
  std::vector<std::unique_ptr<local_egress_series>> egresses_;
  gauge delayed_;
  gauge in_flight_;
  counter snapshots_;
  counter released_;
  counter restores_;
};

}  // namespace statefun::inline v0::metrics::detail
