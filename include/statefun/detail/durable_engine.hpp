#pragma once

/// @file
/// The engine behind durable functions: it sorts each incoming message (a reply, a wake, or a
/// new message), and replays the address's flow from its first line against the journal until
/// the flow reaches an await that has not completed. docs/durable.md explains the model.

#include <statefun/address.hpp>
#include <statefun/cancellation_token.hpp>
#include <statefun/context.hpp>
#include <statefun/detail/durable_journal.hpp>
#include <statefun/durable_options.hpp>
#include <statefun/message.hpp>
#include <statefun/message_builder.hpp>
#include <statefun/observer.hpp>
#include <statefun/storage.hpp>
#include <statefun/task.hpp>
#include <statefun/value_spec.hpp>

#include <atomic>
#include <charconv>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <limits>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace statefun::inline v0 {

class durable_context;

/// A call's reply did not arrive within its timeout.
class call_timeout : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The callee sent this address a message that is not the reply while the flow waits for it:
/// a call back into a waiting address (which would deadlock), or a reply of another type.
class reentrant_call : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A `run` step's function threw; replays throw this again with the same text.
class run_failed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The flow did not replay as the journal recorded: it asked for another step, or ended early.
class nondeterministic_replay : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

/// The journal would grow past `durable_options::max_journal_bytes`.
class journal_full : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {

/// `namespace '\0' name '\0' id`: unambiguous, since type names hold no NUL.
inline std::string address_key(const address& a) {
  std::string key;
  key.reserve(a.type.str().size() + a.id.size() + 1);
  key.append(a.type.namespace_name()).push_back('\0');
  key.append(a.type.name()).push_back('\0');
  key.append(a.id);
  return key;
}

inline address address_of_key(std::string_view key) {
  const std::size_t first = key.find('\0');
  const std::size_t second = key.find('\0', first + 1);
  if (first == std::string_view::npos || second == std::string_view::npos) {
    throw std::invalid_argument("statefun: the durable journal holds a malformed address");
  }
  return {type_name(key.substr(0, first), key.substr(first + 1, second - first - 1)),
          std::string(key.substr(second + 1))};
}

/// `namespace/name/id` of an address key, for error messages.
inline std::string describe_key(std::string_view key) { return address_of_key(key).to_string(); }

/// Where a flow's coroutine stands, shared between the flow and the engine driving it.
struct flow_signal {
  enum class state : std::uint8_t { running, parked, finished };
  state now = state::running;
  std::exception_ptr error;
  std::coroutine_handle<> driver;
  std::atomic<bool> settled{false};

  /// The flow parked or finished: continue the driver if it is already waiting.
  std::coroutine_handle<> settle(state s) noexcept {
    now = s;
    if (settled.exchange(true, std::memory_order_acq_rel)) {
      return driver;
    }
    return std::noop_coroutine();
  }
};

/// A coroutine that runs a flow's task and reports to its `flow_signal` when it ends.
class flow_shell {
 public:
  struct promise_type {
    flow_signal* signal = nullptr;

    flow_shell get_return_object() noexcept {
      return flow_shell{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_always initial_suspend() const noexcept { return {}; }

    struct final_awaiter {
      bool await_ready() const noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> self) noexcept {
        return self.promise().signal->settle(flow_signal::state::finished);
      }
      void await_resume() const noexcept {}
    };
    final_awaiter final_suspend() const noexcept { return {}; }
    void return_void() const noexcept {}
    void unhandled_exception() const noexcept { signal->error = std::current_exception(); }
  };

  flow_shell(flow_shell&& other) noexcept : coro_(std::exchange(other.coro_, {})) {}
  flow_shell& operator=(flow_shell&&) = delete;
  ~flow_shell() {
    if (coro_) {
      coro_.destroy();  // with it the flow's frames, wherever they are suspended
    }
  }

  void start(flow_signal& signal) {
    coro_.promise().signal = &signal;
    coro_.resume();
  }

 private:
  explicit flow_shell(std::coroutine_handle<promise_type> coro) noexcept : coro_(coro) {}
  std::coroutine_handle<promise_type> coro_;
};

inline flow_shell run_in_shell(task<> flow) { co_await std::move(flow); }

/// Waits until the flow parks or finishes.
struct until_settled {
  flow_signal* signal;
  bool await_ready() const noexcept { return signal->settled.load(std::memory_order_acquire); }
  bool await_suspend(std::coroutine_handle<> driver) noexcept {
    signal->driver = driver;
    return !signal->settled.exchange(true, std::memory_order_acq_rel);
  }
  void await_resume() const noexcept {}
};

/// A cell's value as the function sees it: present or not, and its bytes.
struct cell_value {
  bool present = false;
  std::string_view bytes;
  friend bool operator==(const cell_value&, const cell_value&) = default;
};

inline cell_value effective(const state_cell& cell) noexcept {
  switch (cell.changed) {
    case state_cell::change::modified: return {true, cell.pending};
    case state_cell::change::removed: return {false, {}};
    case state_cell::change::none: break;
  }
  return {cell.incoming_present, cell.incoming_present ? cell.incoming_value : std::string_view{}};
}

/// What `functions::bind` keeps for a durable function.
using durable_body = std::function<task<>(durable_context&, const message&)>;

/**
 * Runs the durable function of one address for one batch: loads its journal, takes each
 * invocation in turn and stores the journal back. Effects go to the batch's `context` only
 * while the flow is live, that is past the last result the journal held when this replay began.
 */
class durable_engine {
 public:
  /// `specs` declares `cells`, one for one (it says which states may expire).
  durable_engine(const durable_body& body, const durable_options& options, context& ctx,
                 std::span<const state_spec> specs, std::span<state_cell> cells)
      : body_(&body), options_(&options), ctx_(&ctx), specs_(specs), cells_(cells) {
    for (std::size_t i = 0; i < cells_.size(); ++i) {
      if (cells_[i].name == journal_state_name) {
        journal_cell_ = i;
      }
    }
  }

  /// Reads the journal the runtime sent. @throws std::runtime_error if it is not a journal.
  void load() {
    const state_cell& cell = cells_[journal_cell_];
    const cell_value stored = effective(cell);
    stats_.journal_bytes_read = stored.present ? stored.bytes.size() : 0;
    if (stored.present && !journal_codec::decode(stored.bytes, journal_)) {
      throw std::runtime_error("statefun: " + ctx_->self().to_string() + ": the durable journal (state '" +
                               std::string(journal_state_name) + "') is not one this SDK wrote");
    }
  }

  /// Writes the journal into its state (or removes the state once nothing is left).
  /// @throws journal_full past `durable_options::max_journal_bytes`.
  void store() {
    state_cell& cell = cells_[journal_cell_];
    std::string bytes = journal_codec::encode(journal_);
    if (bytes.size() > options_->max_journal_bytes) {
      throw journal_full("statefun: " + ctx_->self().to_string() + ": the durable journal would hold " +
                         std::to_string(bytes.size()) + " bytes, more than the " +
                         std::to_string(options_->max_journal_bytes) + " allowed (" +
                         std::to_string(journal_.queue.size()) + " messages queued, " +
                         std::to_string(journal_.flow ? journal_.flow->steps.size() : 0) +
                         " steps in the current flow)");
    }
    if (bytes.empty()) {
      if (cell.incoming_present || cell.changed != state_cell::change::none) {
        cell.changed = state_cell::change::removed;
      }
      return;
    }
    stats_.journal_bytes_written = bytes.size();
    cell.pending = std::move(bytes);
    cell.changed = state_cell::change::modified;
  }

  /// What the flows did in this batch so far, for an observer (plain increments as they go:
  /// cheaper than asking whether anyone observes).
  [[nodiscard]] const durable_event& stats() const noexcept { return stats_; }

  /// Sends the flow's answer to the caller that started it, counted as a reply.
  void reply(const outgoing_message& m) { ctx_->send_reply(m); }

  /// Marks a reply the flow could not send (no caller) as a refused effect.
  void refuse_reply() noexcept { ctx_->refuse_effect(); }

  /// Takes one invocation: a reply or a wake resumes the flow; any other message starts one,
  /// or waits in the queue while a flow is suspended.
  task<> deliver(const std::optional<address>& caller, const message& msg) {
    if (caller && msg.type_name() == wake_type_name && *caller == ctx_->self()) {
      if (wake(msg)) {
        co_await resume();
      }
      co_return;
    }
    if (caller) {
      const std::optional<bool> resumes = reply(address_key(*caller), msg);
      if (resumes.has_value()) {
        if (*resumes) {
          co_await resume();
        }
        co_return;
      }
    }
    if (journal_.flow) {
      journal_.queue.push_back(record(caller, msg));
      if (announce_message()) {
        co_await resume();
      }
      co_return;
    }
    start(record(caller, msg));
    co_await resume();
  }

  // --- What durable_context and its awaitables use ---------------------------------------------

  [[nodiscard]] bool live() const noexcept { return live_; }
  [[nodiscard]] context& plain() const noexcept { return *ctx_; }
  [[nodiscard]] const std::optional<address>& trigger_caller() const noexcept { return trigger_caller_; }
  [[nodiscard]] std::uint64_t flow_id() const noexcept { return journal_.flow->id; }
  [[nodiscard]] const durable_options& options() const noexcept { return *options_; }

  /// A step issued by the flow: its index, and whether it is new (its effects are due now).
  struct issued {
    std::uint32_t index;
    bool fresh;
  };

  /// Records (or, replaying, checks) the flow's next step.
  /// @throws nondeterministic_replay if the journal recorded another step at this place.
  issued issue(journal_step::kind what, std::string subject, std::int64_t millis) {
    journal_flow& flow = *journal_.flow;
    const auto index = next_step_++;
    if (index < flow.steps.size()) {
      const journal_step& recorded = flow.steps[index];
      if (recorded.what != what || recorded.subject != subject || recorded.millis != millis) {
        nondeterminism(where(index) + ": the journal recorded " + describe(recorded) +
                                      ", the replay asked for " +
                                      describe(journal_step{what, subject, millis, {}, 0, {}, {}}));
      }
      ++stats_.steps_replayed;
      return {index, false};
    }
    if (!live_) {
      nondeterminism(where(index) + ": the replay asked for a new step (" +
                                    describe(journal_step{what, subject, millis, {}, 0, {}, {}}) +
                                    ") before awaiting every result the journal holds");
    }
    flow.steps.push_back(journal_step{what, std::move(subject), millis, {}, 0, {}, {}});
    return {index, true};
  }

  [[nodiscard]] const journal_step& step(std::uint32_t index) const { return journal_.flow->steps[index]; }

  /// Marks the step's result as taken by the flow; the last one recorded makes the flow live.
  void consume() {
    ++consumed_;
    if (!live_ && consumed_ == journal_.flow->completions) {
      go_live();
    }
  }

  /// Records a `run` step's outcome (live only).
  void complete_run(std::uint32_t index, journal_step::status outcome, std::string_view type, std::string result) {
    journal_step& s = journal_.flow->steps[index];
    s.state = outcome;
    s.result_type = type;
    s.result = std::move(result);
    s.completed_as = ++journal_.flow->completions;
    ++consumed_;
  }

  /// Sends the call's message (and arms its timeout) for a fresh call step.
  void send_call(std::uint32_t index, const outgoing_message& request, std::string_view reply_type) {
    const journal_step& s = step(index);
    ctx_->send(request);
    if (s.millis > 0) {
      arm(index, std::chrono::milliseconds(s.millis));
    }
    journal_.outstanding.push_back({s.subject, journal_.flow->id, index, std::string(reply_type), false});
  }

  /// A fresh wait for the next message completes at once when one is queued already.
  void watch_queue(std::uint32_t index) {
    if (!journal_.queue.empty()) {
      journal_step& s = journal_.flow->steps[index];
      s.state = journal_step::status::done;
      s.completed_as = ++journal_.flow->completions;
    }
  }

  /// Arms a fresh sleep step's wake.
  void arm(std::uint32_t index, std::chrono::milliseconds delay) {
    static const type_name wake_type(wake_type_name);
    ctx_->send_after(delay,
                     message_to(ctx_->self()).raw_value(wake_type, journal_codec::encode_wake(journal_.flow->id, index)),
                     cancellation_token(token(index)));
  }

  /// A step lost a `first()`: it no longer completes, its wake is cancelled and a late reply
  /// will be dropped. Effects are due only when live (a replay finds it abandoned already).
  void abandon(std::uint32_t index) {
    journal_step& s = journal_.flow->steps[index];
    if (s.completed() || s.state == journal_step::status::abandoned) {
      return;
    }
    s.state = journal_step::status::abandoned;
    cancel_wake(s, index);
    for (journal_outstanding& o : journal_.outstanding) {
      if (o.flow == journal_.flow->id && o.step == index) {
        o.abandoned = true;
      }
    }
  }

  /// Parks the flow: the await cannot complete in this batch, and the engine destroys the
  /// flow's frames where they stand. `results_waiting`: results the await (an `all()` still
  /// short of some) holds without taking them yet; they count as taken for the replay.
  std::coroutine_handle<> park(std::uint32_t results_waiting = 0) noexcept {
    consumed_ += results_waiting;
    if (!live_ && consumed_ == journal_.flow->completions) {
      try {
        go_live();
      } catch (...) {
        // fatal_ holds it; the replay reports it
      }
    }
    return signal_->settle(flow_signal::state::parked);
  }

  /// Fails the batch for a replay that went its own way, even if the flow catches the error.
  [[noreturn]] void nondeterminism(const std::string& what) {
    fatal_ = std::make_exception_ptr(nondeterministic_replay(what));
    throw nondeterministic_replay(what);
  }

  /// `where(index)` for error messages: the address, the flow and the step.
  [[nodiscard]] std::string where(std::uint32_t index) const {
    return "statefun: " + ctx_->self().to_string() + ": flow " + std::to_string(journal_.flow->id) + ", step " +
           std::to_string(index + 1);
  }

  /// The idempotency key of a step: the same in every replay, unique per address.
  [[nodiscard]] std::string step_key(std::uint32_t index) const {
    return ctx_->self().to_string() + "#" + std::to_string(journal_.flow->id) + "." + std::to_string(index + 1);
  }

 private:
  static journal_message record(const std::optional<address>& caller, const message& msg) {
    return {caller ? address_key(*caller) : std::string{}, std::string(msg.type_name()), std::string(msg.raw_value()),
            msg.has_value()};
  }

  /// Unique per function type, id, flow and step: the runtime keys tokens by the sender's id
  /// alone (docs/runtime_rules.md rule 19), so other function types with the same id share the space.
  [[nodiscard]] std::string token(std::uint32_t index) const {
    static constexpr std::string_view prefix = "statefun-cpp/";
    const std::string_view type = ctx_->self().type.str();
    std::string out;
    out.reserve(prefix.size() + type.size() + 2 + 2 * std::numeric_limits<std::uint64_t>::digits10);
    out.append(prefix).append(type).push_back('/');
    append_decimal(out, journal_.flow->id);
    out.push_back('/');
    append_decimal(out, index + 1);
    return out;
  }

  static void append_decimal(std::string& out, std::uint64_t n) {
    char digits[std::numeric_limits<std::uint64_t>::digits10 + 1];
    const auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
    out.append(digits, static_cast<std::size_t>(end - digits));
  }

  void cancel_wake(const journal_step& s, std::uint32_t index) {
    if (s.what == journal_step::kind::sleep || s.millis > 0) {
      ctx_->cancel_delayed_message(cancellation_token(token(index)));
    }
  }

  static std::string describe(const journal_step& s) {
    switch (s.what) {
      case journal_step::kind::call:
        return "a call to " + describe_key(s.subject) +
               (s.millis > 0 ? " with a timeout of " + std::to_string(s.millis) + " ms" : std::string(" without timeout"));
      case journal_step::kind::sleep: return "a sleep of " + std::to_string(s.millis) + " ms";
      case journal_step::kind::run: return "run(\"" + s.subject + "\")";
      case journal_step::kind::next_message: return "a wait for the next message";
    }
    return "a step";
  }

  void start(journal_message trigger) {
    journal_.flow.emplace();
    journal_.flow->id = journal_.next_flow++;
    journal_.flow->trigger = std::move(trigger);
    ++stats_.flows_started;
  }

  /// A message was queued: it completes the flow's wait for the next message, if it has one.
  bool announce_message() {
    for (journal_step& s : journal_.flow->steps) {
      if (s.what == journal_step::kind::next_message && s.state == journal_step::status::pending && !s.completed()) {
        s.state = journal_step::status::done;
        s.completed_as = ++journal_.flow->completions;
        return true;
      }
    }
    return false;
  }

  /// A wake for a pending step of the current flow completes it; any other is stale.
  bool wake(const message& msg) {
    std::uint64_t flow = 0;
    std::uint32_t index = 0;
    if (!journal_codec::decode_wake(msg.raw_value(), flow, index) || !journal_.flow || journal_.flow->id != flow ||
        index >= journal_.flow->steps.size()) {
      return false;
    }
    journal_step& s = journal_.flow->steps[index];
    if (s.completed() || s.state != journal_step::status::pending) {
      return false;
    }
    if (s.what == journal_step::kind::call) {
      s.state = journal_step::status::timed_out;
      s.result = where(index) + ": no reply from " + describe_key(s.subject) + " within " + std::to_string(s.millis) +
                 " ms" + queued_note(s.subject);
      for (journal_outstanding& o : journal_.outstanding) {
        if (o.flow == flow && o.step == index) {
          o.abandoned = true;  // its reply, should it come, is dropped
        }
      }
    } else {
      s.state = journal_step::status::done;
    }
    s.completed_as = ++journal_.flow->completions;
    return true;
  }

  /// Why a call may have waited in vain: messages from its callee wait in the queue.
  std::string queued_note(std::string_view callee) const {
    std::size_t from_callee = 0;
    for (const journal_message& m : journal_.queue) {
      from_callee += m.caller == callee ? 1 : 0;
    }
    if (journal_.queue.empty()) {
      return "";
    }
    return " (" + std::to_string(journal_.queue.size()) + " messages wait for this flow to end, " +
           std::to_string(from_callee) +
           " of them from the callee: a call back into an address whose flow waits is queued, and "
           "such cycles wait until a timeout; see docs/durable.md)";
  }

  /// A message from `callee`: the reply to the oldest outstanding call to it, if it has the
  /// reply's type. Nothing when no call to `callee` is outstanding (an ordinary message);
  /// otherwise whether the flow resumes.
  std::optional<bool> reply(const std::string& callee, const message& msg) {
    auto it = journal_.outstanding.begin();
    while (it != journal_.outstanding.end() && it->callee != callee) {
      ++it;
    }
    if (it == journal_.outstanding.end()) {
      return std::nullopt;
    }
    const bool current = journal_.flow && journal_.flow->id == it->flow && !it->abandoned;
    if (it->reply_type == msg.type_name()) {
      const std::uint32_t index = it->step;
      journal_.outstanding.erase(it);
      if (!current) {
        return false;  // a late reply: its call timed out, lost a first(), or its flow ended
      }
      journal_step& s = journal_.flow->steps[index];
      s.state = journal_step::status::done;
      s.result_type = msg.type_name();
      s.result = msg.raw_value();
      s.completed_as = ++journal_.flow->completions;
      if (s.millis > 0) {
        cancel_wake(s, index);
      }
      return true;
    }
    if (!current) {
      return std::nullopt;
    }
    // Not the reply, from the very address the flow waits for: a call back into this address
    // (which would wait behind the flow forever) or a reply of the wrong type. The call fails
    // now; the message waits in the queue like any other.
    journal_step& s = journal_.flow->steps[it->step];
    it->abandoned = true;
    s.state = journal_step::status::failed;
    s.result = where(it->step) + ": while waiting for the reply (" + it->reply_type + ") of " + describe_key(callee) +
               ", it sent this address a message of type " + std::string(msg.type_name()) +
               ": a call back into a waiting address, or a reply of another type; the message is queued "
               "until this flow ends";
    s.completed_as = ++journal_.flow->completions;
    if (s.millis > 0) {
      cancel_wake(s, it->step);
    }
    journal_.queue.push_back(record(address_of_key(callee), msg));
    return true;
  }

  /// Runs the flow (and then the queued ones) until one parks or none is left.
  task<> resume() {
    while (journal_.flow) {
      const bool finished = co_await replay();
      if (!finished) {
        co_return;
      }
      ++stats_.flows_finished;
      // Steps it issued and never awaited: cancel their wakes, drop their replies.
      for (std::uint32_t i = 0; i < journal_.flow->steps.size(); ++i) {
        abandon(i);
      }
      journal_.flow.reset();
      if (!journal_.queue.empty()) {
        journal_message next = std::move(journal_.queue.front());
        journal_.queue.erase(journal_.queue.begin());
        start(std::move(next));
      }
    }
  }

  /// Replays the current flow from its first line; true when it finished, false when parked.
  task<bool> replay();

  /// The replay has taken every result the journal held: from here on the flow acts, on the
  /// states as they are now. A state that may expire is not checked: the runtime may have
  /// expired it while the flow waited, and then its value now is none, not what the flow left.
  void go_live() {
    for (std::size_t i = 0; i < cells_.size(); ++i) {
      if (i != journal_cell_ && specs_[i].expires.kind() == expiration::mode::none &&
          effective(cells_[i]) != effective(saved_cells_[i])) {
        nondeterminism(
            "statefun: " + ctx_->self().to_string() + ": flow " + std::to_string(journal_.flow->id) +
            ": replaying its steps left state '" + std::string(cells_[i].name) +
            "' other than the flow had left it: the function does not replay deterministically");
      }
    }
    for (std::size_t i = 0; i < cells_.size(); ++i) {
      cells_[i] = saved_cells_[i];
    }
    live_ = true;
  }

  /// Before replaying: keep the cells, and show the flow the values it started from.
  void rewind_states() {
    saved_cells_.assign(cells_.begin(), cells_.end());
    for (const journal_undo& u : journal_.flow->undo) {
      for (state_cell& cell : cells_) {
        if (cell.name == u.state) {
          cell.pending = u.value;
          cell.changed = u.present ? state_cell::change::modified : state_cell::change::removed;
        }
      }
    }
  }

  /// After a live stretch: the first value of each state the flow has now changed.
  void remember_first_values() {
    journal_flow& flow = *journal_.flow;
    for (std::size_t i = 0; i < cells_.size(); ++i) {
      if (i == journal_cell_ || effective(cells_[i]) == effective(saved_cells_[i])) {
        continue;
      }
      bool known = false;
      for (const journal_undo& u : flow.undo) {
        known = known || u.state == cells_[i].name;
      }
      if (!known) {
        const cell_value before = effective(saved_cells_[i]);
        flow.undo.push_back({std::string(cells_[i].name), before.present, std::string(before.bytes)});
      }
    }
  }

  const durable_body* body_;
  const durable_options* options_;
  context* ctx_;
  std::span<const state_spec> specs_;
  std::span<state_cell> cells_;
  std::size_t journal_cell_ = 0;
  journal journal_;
  std::vector<state_cell> saved_cells_;

  // The replay in progress.
  flow_signal* signal_ = nullptr;
  std::optional<address> trigger_caller_;
  std::uint32_t next_step_ = 0;
  std::uint32_t consumed_ = 0;
  bool live_ = false;
  std::exception_ptr fatal_;
  durable_event stats_;
};

}  // namespace detail

}  // namespace statefun::inline v0
