#pragma once

// The smoke test's driver side: the seeded command generator (docs/runtime_rules.md §4.2,
// `smoke-driver/CommandGenerator.java`) and the expected-state tracker (§4.3,
// `smoke-driver/FunctionStateTracker.java`).
//
// One tightening over the original (§4.4 step 5): the cancellable `SendAfter` carries an
// `IncrementState`. The same command list cancels it at once, so it must never land; the
// tracker leaves it out of the expected counts, and an instance that counts it is over-counted.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "local/smoke/commands.hpp"

namespace statefun::test::smoke {

/// `SmokeRunnerParameters`: the defaults of the original, with the async and cancellation
/// commands on (as the embedded test has them) and the remote tests' 128 instances.
struct generator_options {
  int instances = 128;
  int command_depth = 10;
  int max_commands_per_depth = 3;

  // Relative weights of the generators (normalised by the distribution).
  double increment = 0.4;
  double send = 0.9;
  double send_after = 0.1;
  double noop = 0.2;
  double send_egress = 0.03;
  double async_operation = 0.1;
  double send_after_with_cancellation = 0.1;

  bool async_operations = true;
  bool delay_cancellation = true;
};

/// Random `SourceCommand`s, reproducible from a seed.
class command_generator {
 public:
  command_generator(generator_options options, std::uint64_t seed) : options_(options), random_(seed) {
    std::vector<double> weights;
    auto add = [&](kind k, double weight) {
      kinds_.push_back(k);
      weights.push_back(weight);
    };
    add(kind::increment, options_.increment);
    add(kind::send, options_.send);
    add(kind::send_after, options_.send_after);
    add(kind::noop, options_.noop);
    add(kind::send_egress, options_.send_egress);
    if (options_.async_operations) {
      add(kind::async_operation, options_.async_operation);
    }
    if (options_.delay_cancellation) {
      add(kind::cancellable_send_after, options_.send_after_with_cancellation);
    }
    distribution_ = std::discrete_distribution<std::size_t>(weights.begin(), weights.end());
  }

  /// The next command: a random target, and commands of a random depth below `command_depth`.
  source_command next() {
    const int depth = below(options_.command_depth);
    source_command out;
    out.target = address();
    out.commands = make_commands(depth);
    return out;
  }

  [[nodiscard]] const generator_options& options() const noexcept { return options_; }

 private:
  enum class kind { increment, send, send_after, noop, send_egress, async_operation, cancellable_send_after };

  /// Java's `Random.nextInt(bound)`: uniform in [0, bound).
  int below(int bound) { return std::uniform_int_distribution<int>(0, bound - 1)(random_); }

  std::int32_t address() { return below(options_.instances); }

  static commands increment_only() { return commands{{command{command::increment_state{}}}}; }

  commands make_commands(int depth) {
    if (depth <= 0) {
      return increment_only();
    }
    commands out;
    const int n = below(options_.max_commands_per_depth);
    for (int i = 0; i < n; ++i) {
      generate(kinds_[distribution_(random_)], out, depth);
    }
    if (out.list.empty()) {
      return increment_only();
    }
    return out;
  }

  void generate(kind k, commands& out, int depth) {
    switch (k) {
      case kind::increment:
        out.list.push_back({command::increment_state{}});
        break;
      case kind::send:
        out.list.push_back({command::send{address(), make_commands(depth - 1)}});
        break;
      case kind::send_after:
        out.list.push_back({command::send_after{address(), make_commands(depth - 1), {}}});
        break;
      case kind::noop:
        break;
      case kind::send_egress:
        out.list.push_back({command::send_egress{}});
        break;
      case kind::async_operation: {
        const bool failure = below(2) == 1;
        out.list.push_back({command::async_operation{failure, make_commands(depth - 1)}});
        break;
      }
      case kind::cancellable_send_after: {
        std::string token = uuid();
        const std::int32_t target = address();
        out.list.push_back({command::send_after{target, increment_only(), token}});
        out.list.push_back({command::cancel_send_after{target, std::move(token)}});
        break;
      }
    }
  }

  /// A random token shaped like Java's `new UUID(random.nextLong(), random.nextLong())`.
  std::string uuid() {
    const std::uint64_t high = random_();
    const std::uint64_t low = random_();
    char text[37];
    std::snprintf(text, sizeof text, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(high >> 32),
                  static_cast<unsigned>((high >> 16) & 0xffffu), static_cast<unsigned>(high & 0xffffu),
                  static_cast<unsigned>(low >> 48), static_cast<unsigned long long>(low & 0xffffffffffffull));
    return text;
  }

  generator_options options_;
  std::mt19937_64 random_;
  std::vector<kind> kinds_;
  std::discrete_distribution<std::size_t> distribution_;
};

/**
 * What each instance's counter must end at, given every command emitted: each
 * `IncrementState` counts at the address its list runs at (the source target at the top, the
 * `Send`/`SendAfter` target below, the current address for `AsyncOperation`), except inside a
 * `SendAfter` that a later `CancelSendAfter` of the same list cancels.
 */
class state_tracker {
 public:
  explicit state_tracker(int instances) : expected_(static_cast<std::size_t>(instances), 0) {}

  void apply(const source_command& source) { update(source.target, source.commands); }

  [[nodiscard]] std::int64_t state_of(int id) const { return expected_.at(static_cast<std::size_t>(id)); }
  [[nodiscard]] int instances() const noexcept { return static_cast<int>(expected_.size()); }

  /// Records the discard egress receives, once each.
  [[nodiscard]] std::int64_t egress_records() const noexcept { return egress_records_; }

  /// Increments inside cancelled delayed messages: none of them may ever land.
  [[nodiscard]] std::int64_t cancelled_increments() const noexcept { return cancelled_increments_; }

  /// Asynchronous operations that fail before their commands run.
  [[nodiscard]] std::int64_t failing_async_operations() const noexcept { return failing_async_; }

 private:
  void update(std::int32_t at, const commands& list) {
    for (std::size_t i = 0; i < list.list.size(); ++i) {
      const command::choice& c = list.list[i].value;
      if (std::holds_alternative<command::increment_state>(c)) {
        ++expected_.at(static_cast<std::size_t>(at));
      } else if (const auto* send = std::get_if<command::send>(&c)) {
        update(send->target, send->commands);
      } else if (const auto* later = std::get_if<command::send_after>(&c)) {
        if (cancelled_after(list, i, later->cancellation_token)) {
          cancelled_increments_ += increments_in(later->commands);
        } else {
          update(later->target, later->commands);
        }
      } else if (std::holds_alternative<command::send_egress>(c)) {
        ++egress_records_;
      } else if (const auto* async = std::get_if<command::async_operation>(&c)) {
        failing_async_ += async->failure ? 1 : 0;
        update(at, async->resolved_commands);
      }
    }
  }

  /// True if a command after `i` in `list` cancels `token`.
  static bool cancelled_after(const commands& list, std::size_t i, const std::string& token) {
    if (token.empty()) {
      return false;
    }
    for (std::size_t j = i + 1; j < list.list.size(); ++j) {
      const auto* cancel = std::get_if<command::cancel_send_after>(&list.list[j].value);
      if (cancel != nullptr && cancel->cancellation_token == token) {
        return true;
      }
    }
    return false;
  }

  static std::int64_t increments_in(const commands& list) {
    std::int64_t n = 0;
    for (const command& c : list.list) {
      if (std::holds_alternative<command::increment_state>(c.value)) {
        ++n;
      } else if (const auto* send = std::get_if<command::send>(&c.value)) {
        n += increments_in(send->commands);
      } else if (const auto* later = std::get_if<command::send_after>(&c.value)) {
        n += increments_in(later->commands);
      } else if (const auto* async = std::get_if<command::async_operation>(&c.value)) {
        n += increments_in(async->resolved_commands);
      }
    }
    return n;
  }

  std::vector<std::int64_t> expected_;
  std::int64_t egress_records_ = 0;
  std::int64_t cancelled_increments_ = 0;
  std::int64_t failing_async_ = 0;
};

}  // namespace statefun::test::smoke
