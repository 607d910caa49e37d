#pragma once

/// @file
/// `statefun::local::runtime`: an embedded StateFun runtime. It plays Flink's part in one
/// process, faithfully (docs/runtime_rules.md §5): routing, per-address batching, the missing-state
/// handshake, state and TTL, delayed messages and cancellation, ingress, egress, backpressure,
/// snapshot and restore. Functions are reached in process through the real codec, or over HTTP.

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include <statefun/address.hpp>
#include <statefun/asio/http_client.hpp>
#include <statefun/codec/from_function.hpp>
#include <statefun/codec/to_function.hpp>
#include <statefun/egress.hpp>
#include <statefun/functions.hpp>
#include <statefun/local/clock.hpp>
#include <statefun/local/detail/durable_state.hpp>
#include <statefun/local/detail/egress_decoding.hpp>
#include <statefun/local/detail/endpoint_url.hpp>
#include <statefun/local/detail/http_endpoint.hpp>
#include <statefun/local/detail/in_process_endpoint.hpp>
#include <statefun/local/function_endpoint.hpp>
#include <statefun/local/module.hpp>
#include <statefun/local/records.hpp>
#include <statefun/observer.hpp>
#include <statefun/type.hpp>
#include <statefun/type_name.hpp>
#include <statefun/value_spec.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace statefun::inline v0::local {

/**
 * What the real runtime would fail the job for: a function that cannot be found, a mutation of
 * an unregistered state, a reused cancellation token, an unknown egress, a request whose retries
 * ran out... The message says what and where. The runtime is left as it was at that point;
 * `restore` a snapshot to go on.
 */
class job_failure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Under which key delayed messages and their cancellation tokens are filed (rule 19).
enum class delayed_message_scope {
  /// As the real runtime: the sender's id alone, so two function types with the same id share
  /// one token namespace (docs/runtime_rules.md §2.10, "scope quirk").
  sender_id,
  /// The sender's full address: stricter than the real runtime.
  sender_address,
};

/// How a `runtime` behaves; every field has the real runtime's default.
struct runtime_options {
  /// Processing time: real by default; `clock::virtual_time()` for tests.
  local::clock clock = local::clock::real();
  /// `statefun.async.max-per-task`: input pauses while this many requests are in flight.
  std::size_t max_async_operations = 32768;
  /// Under which key delayed messages and their tokens are filed: the sender's id, as the real runtime.
  delayed_message_scope delayed_scope = delayed_message_scope::sender_id;
  /// Deliver messages from different senders in a random (seeded) interleaving, keeping each
  /// target's order, so that tests cannot come to rely on an order StateFun does not promise.
  std::optional<std::uint64_t> shuffle_seed{};
  /// Check every answer's content type as OkHttp does (exactly `application/octet-stream`),
  /// also on the async transport, which is lenient.
  bool strict_content_type = false;
  /// How `https://` endpoints are reached: `statefun::local::tls_connector` from
  /// <statefun/local/tls.hpp> (OpenSSL). Without it an https endpoint fails the run, saying so.
  std::function<statefun::asio::client_connector(const tls_client_settings&)> tls{};
  /// Receives the runtime's events (messages routed, batches, backlogs, delayed messages,
  /// endpoint retries, egress records, snapshots): `statefun::metrics::prometheus` counts them.
  /// Null: nothing is counted. It must outlive the runtime.
  statefun::observer* observer = nullptr;
};

/// Counts of what the runtime did.
struct runtime_stats {
  std::uint64_t messages = 0;     ///< messages delivered to addresses
  std::uint64_t requests = 0;     ///< requests sent (handshake retries and replays included)
  std::uint64_t invocations = 0;  ///< invocations in those requests
  std::uint64_t handshakes = 0;   ///< missing-state answers
  /// delayed messages scheduled
  std::uint64_t delayed_scheduled = 0;
  std::uint64_t delayed_cancelled = 0;  ///< cancellations that found their message
  /// delayed messages delivered
  std::uint64_t delayed_fired = 0;
  std::uint64_t ingress_records = 0;  ///< read from inputs (again after a restore rewinds them)
  std::uint64_t egress_records = 0;  ///< published (exactly-once ones when committed)
  /// snapshots restored
  std::uint64_t restores = 0;
  std::uint64_t replayed_batches = 0;  ///< batches in flight at a snapshot, sent again by `restore`
  /// the most invocations in one request
  std::size_t largest_batch = 0;
};

/// A picture of the runtime taken by `runtime::take_snapshot`. Cheap to copy.
class snapshot {
 public:
  snapshot() = default;
  /// False for a default-constructed snapshot (nothing to restore).
  [[nodiscard]] explicit operator bool() const noexcept { return state_ != nullptr; }

 private:
  friend class runtime;
  explicit snapshot(std::shared_ptr<const detail::durable_state> state) : state_(std::move(state)) {}
  std::shared_ptr<const detail::durable_state> state_;
};

/**
 * An embedded StateFun runtime.
 *
 * Single-threaded: every call is made from one thread, the one that runs it (`post` hands work
 * to it from others). Functions run on its event loop: in-process coroutines may `co_await`
 * Asio operations, and HTTP endpoints are called asynchronously, so many addresses are in flight
 * at once while each address has at most one request out.
 *
 * **Example**:
 * @code
 * statefun::local::runtime rt({.clock = statefun::local::clock::virtual_time()});
 * rt.serve(fns);                                       // functions in this process
 * rt.add_egress({.kind = statefun::local::egress_kind::kafka, .id = "example/greets"});
 * rt.send(statefun::address{"example/greeter", "ann"}, std::string("ann"));
 * rt.run_until_quiescent();
 * for (const auto& record : rt.egress("example/greets")) { ... record.kafka->value ... }
 * @endcode
 */
class runtime final : private detail::reply_sink {
 public:
  /// A runtime with nothing bound yet; add a module, `serve` or `bind` functions.
  explicit runtime(runtime_options options = {})
      : options_(std::move(options)), timer_(io_) {
    if (options_.shuffle_seed) {
      shuffle_.seed(*options_.shuffle_seed);
    }
    state_.input_positions.push_back(0);  // input 0: `send`
    if (options_.observer != nullptr) {
      options_.observer->local_runtime_attached();
    }
  }

  /// A runtime configured by `m` (see `add_module`).
  explicit runtime(const module& m, runtime_options options = {}) : runtime(std::move(options)) { add_module(m); }

  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  ~runtime() {
    // A request in flight (an HTTP call, a function suspended in process) is a chain of
    // coroutine frames that only its completion frees: cancel them all and run the loop until
    // they have completed (cancelled operations complete at once; the wait is bounded all the
    // same).
    finish_calls_in_flight();
    take_back_gauges();
    // Connections and suspended functions belong to the event loop: stop it, release them, and
    // only then let the loop itself go.
    io_.stop();
    endpoints_.clear();
    in_process_.clear();
    clients_.clear();
  }

  // ------------------------------------------------------------------------------------------
  /// @name Configuration
  /// @{

  /**
   * Adds the endpoints, ingresses and egresses of `m`.
   * @throws std::invalid_argument for a type or namespace bound twice (rule 2), a duplicate
   *         ingress or egress id, or a malformed type name or URL.
   */
  void add_module(const module& m) {
    for (const auto& endpoint : m.endpoints) {
      bind_http(endpoint);
    }
    for (const auto& ingress : m.ingresses) {
      add_ingress(ingress);
    }
    for (const auto& egress : m.egresses) {
      add_egress(egress);
    }
  }

  /**
   * Serves the function types bound in `fns` from this process, through the codec. For those
   * types this takes the place of any endpoint in a module, so one `module.yaml` serves both the
   * real cluster and local runs. `fns` must outlive the runtime.
   */
  runtime& serve(const functions& fns, int max_num_batch_requests = 1000) {
    in_process_.push_back({std::make_unique<detail::in_process_endpoint>(fns, io_.get_executor()),
                           max_num_batch_requests});
    forget_resolved_endpoints();
    return *this;
  }

  /**
   * Sends the functions matching `functions` (`namespace/name`, or `namespace/` + `*`) to `endpoint`,
   * for example one written for a test.
   * @throws std::invalid_argument if that type or namespace is bound already (rule 2).
   */
  runtime& bind(std::string_view functions, std::shared_ptr<function_endpoint> endpoint,
                int max_num_batch_requests = 1000) {
    add_binding(functions, binding{std::move(endpoint), {}, max_num_batch_requests, "bind()"});
    return *this;
  }

  /**
   * Reaches the functions of `spec` over HTTP (rules 3, 5-9).
   * @throws std::invalid_argument as `bind`, or for a Unix socket URL on the async transport,
   *         which cannot use one (rule 8).
   */
  runtime& bind_http(const endpoint_spec& spec) {
    namespace g = statefun::detail::http1;
    const std::string_view url = spec.url_path_template;
    const std::string_view scheme = url.substr(0, url.find("://"));
    if (spec.transport == transport_kind::async && (g::iequals(scheme, "http+unix") || g::iequals(scheme, "https+unix"))) {
      throw std::invalid_argument("statefun::local: endpoint " + std::string(url) +
                                  ": Unix sockets need the okhttp transport (rule 8)");
    }
    add_binding(spec.functions, binding{nullptr, spec, spec.max_num_batch_requests,
                                        spec.source.empty() ? spec.url_path_template : spec.source});
    return *this;
  }

  /**
   * Adds an ingress: an in-memory topic (or stream) per route, fed by `ingest` (rule 22).
   * @throws std::invalid_argument for a duplicate id or a malformed type name.
   */
  runtime& add_ingress(const ingress_spec& spec) {
    type_name::check(spec.id);
    for (const auto& existing : ingresses_) {
      if (existing.spec.id == spec.id) {
        throw std::invalid_argument("statefun::local: ingress '" + spec.id + "' is defined twice");
      }
    }
    ingress_entry entry{spec, {}};
    for (const auto& route : spec.routes) {
      type_name::check(route.value_type);
      input_route input{topic_number(spec.kind, route.topic), names_.intern(route.value_type), {}, spec.id};
      for (const auto& target : route.targets) {
        type_name::check(target);
        input.targets.push_back(function_type_number(target));
      }
      entry.inputs.push_back(inputs_.size() + 1);
      inputs_.push_back(std::move(input));
      state_.input_positions.push_back(0);
    }
    ingresses_.push_back(std::move(entry));
    return *this;
  }

  /**
   * Adds an egress: its records are kept in memory (`egress`) and passed to `on_egress`.
   * @throws std::invalid_argument for a duplicate id or a malformed one.
   */
  runtime& add_egress(const egress_spec& spec) {
    type_name::check(spec.id);
    if (!egresses_.emplace(spec.id, egress_entry{spec, {}}).second) {
      throw std::invalid_argument("statefun::local: egress '" + spec.id + "' is defined twice");
    }
    return *this;
  }

  /// Calls `listener` with each egress record as it is published.
  void on_egress(std::function<void(const egress_record&)> listener) { egress_listener_ = std::move(listener); }

  /// @}
  // ------------------------------------------------------------------------------------------
  /// @name Input
  /// @{

  /// Sends `value` to `target` with no caller, as an ingress would (subject to backpressure).
  void send(const address& target, typed_value value) {
    detail::envelope e{{function_type_number(target.type.str()), target.id},
                       {std::nullopt, {names_.intern(value.type), value.has_value, std::move(value.value)}}};
    direct_input_.push_back(std::move(e));
  }

  /// Sends `value`, encoded as its StateFun type, to `target` with no caller.
  template <typed V>
  void send(const address& target, const V& value) {
    send(target, typed_value::of(value));
  }

  /**
   * Appends a record to the topic (Kafka) or stream (Kinesis) of ingress `ingress_id`: every
   * target of every ingress reading that topic gets `value` with the route's value type, at the
   * id `key` (rule 22): the bytes are the record's value as a producer wrote it. `topic` may be
   * left out when the ingress reads one topic only.
   * @throws std::invalid_argument for an unknown ingress or topic.
   */
  void ingest_raw(std::string_view ingress_id, std::optional<std::string> key, std::string value,
                  std::string_view topic = {}) {
    const ingress_entry& ingress = find_ingress(ingress_id);
    const ingress_route& route = find_route(ingress, topic);
    topics_[topic_number(ingress.spec.kind, route.topic)].push_back({std::move(key), std::move(value)});
  }

  /**
   * `ingest_raw` with `value` encoded as its StateFun type, which must be the route's value type.
   * Without `topic`, the record goes to the ingress's one topic whose value type is `V`'s.
   */
  template <typed V>
  void ingest(std::string_view ingress_id, std::optional<std::string> key, const V& value,
              std::string_view topic = {}) {
    const ingress_route& route = find_route(find_ingress(ingress_id), topic, statefun::type<V>::name());
    if (route.value_type != statefun::type<V>::name()) {
      throw std::invalid_argument("statefun::local: ingress '" + std::string(ingress_id) + "' topic '" + route.topic +
                                  "' carries " + route.value_type + ", not " +
                                  std::string(statefun::type<V>::name()));
    }
    std::string bytes;
    statefun::type<V>::encode(value, bytes);
    ingest_raw(ingress_id, std::move(key), std::move(bytes), route.topic);
  }

  /// Runs `work` on the runtime's thread (callable from any thread).
  template <class Work>
  void post(Work&& work) {
    ::asio::post(io_, std::forward<Work>(work));
  }

  /// @}
  // ------------------------------------------------------------------------------------------
  /// @name Running
  /// @{

  /// Does what can be done now without waiting: delivers messages, applies answers already in,
  /// fires due delayed messages, reads input.
  void drain() { run_until(wait::nothing); }

  /// `drain`, waiting for requests in flight too; time does not move for delayed messages.
  void run_until_idle() { run_until(wait::requests); }

  /**
   * Runs until nothing is left to do: no message, no request in flight, no input and no delayed
   * message. A virtual clock jumps to each next due time; a real one is waited for.
   */
  void run_until_quiescent() { run_until(wait::delayed_messages); }

  /**
   * Moves a virtual clock forward by `by`, firing the delayed messages due on the way at their
   * due times (each one's consequences run before time moves on).
   * @throws std::logic_error on a real clock.
   */
  void advance(clock::duration by) {
    if (!clock_.is_virtual()) {
      throw std::logic_error("statefun::local::runtime: advance() needs a virtual clock");
    }
    const auto until = clock_.now() + by;
    for (;;) {
      run_until(wait::requests);
      const auto due = state_.delayed.next_due();
      if (!due || *due > until) {
        break;
      }
      clock_.advance_to(*due);
    }
    clock_.advance_to(until);
    run_until(wait::requests);
  }

  /**
   * Does at most `count` units of work (delivering a message, applying an answer, firing a due
   * delayed message, reading an input record) without waiting for anything; returns how many it
   * did. For tests that stop the world at arbitrary points, e.g. to take a snapshot.
   */
  std::size_t run_steps(std::size_t count) {
    std::size_t done = 0;
    while (done < count && (step() || (poll_io() > 0 && step()))) {
      ++done;
    }
    return done;
  }

  /**
   * Waits for one event of the event loop (an answer arriving, a timer) if a request is out, to
   * pair with `run_steps`, which never waits. False at once when no request is out.
   */
  bool wait_for_event() {
    if (in_flight_count_ == 0) {
      return false;
    }
    if (io_.stopped()) {
      io_.restart();
    }
    return wait_for_io();
  }

  /**
   * Moves a virtual clock by `by` and runs nothing: delayed messages that fall due fire in the
   * steps that follow (`run_steps`, `drain`...). For tests that interleave time and work finely.
   * @throws std::logic_error on a real clock.
   */
  void advance_clock(clock::duration by) {
    if (!clock_.is_virtual()) {
      throw std::logic_error("statefun::local::runtime: advance_clock() needs a virtual clock");
    }
    clock_.advance(by);
  }

  /// Runs until `stop`, waiting for input (`post`) when there is nothing to do.
  void run() {
    auto work = ::asio::make_work_guard(io_);
    run_until(wait::forever);
  }

  /// Makes `run` (or any of the run calls) return soon. Callable from any thread.
  void stop() {
    stop_requested_ = true;
    io_.stop();
  }

  /// @}
  // ------------------------------------------------------------------------------------------
  /// @name Output and inspection
  /// @{

  /**
   * The records egress `id` published so far (for exactly-once egresses: up to the last
   * snapshot).
   * @throws std::invalid_argument for an unknown egress.
   */
  [[nodiscard]] const std::vector<egress_record>& egress(std::string_view id) const {
    const auto it = egresses_.find(id);
    if (it == egresses_.end()) {
      throw std::invalid_argument("statefun::local: no egress '" + std::string(id) + "'");
    }
    return it->second.published;
  }

  /// The stored bytes of state `name` of `at`, if it holds an unexpired value.
  [[nodiscard]] std::optional<std::string> state(const address& at, std::string_view name) const {
    const std::uint32_t type = function_types_.find(at.type.str());
    if (type == detail::name_table::npos || type >= state_.types.size()) {
      return std::nullopt;
    }
    const auto& ft = types_[type];
    const auto slot = ft.slots.find(name);
    const auto it = state_.types[type].addresses.find(at.id);
    if (slot == ft.slots.end() || it == state_.types[type].addresses.end() ||
        slot->second >= it->second.values.size()) {
      return std::nullopt;
    }
    const detail::stored_value& v = it->second.values[slot->second];
    const int reg = slot->second < ft.registered.size() ? ft.registered[slot->second] : -1;
    if (!v.present || (reg >= 0 && expired(v, ft.registry[static_cast<std::size_t>(reg)]))) {
      return std::nullopt;
    }
    return v.bytes;
  }

  /// State `spec` of `at`, decoded.
  template <class T>
  [[nodiscard]] std::optional<T> state(const address& at, const value_spec<T>& spec) const {
    auto bytes = state(at, spec.name());
    if (!bytes) {
      return std::nullopt;
    }
    return statefun::type<T>::decode(*bytes);
  }

  /// The runtime's processing time.
  [[nodiscard]] clock::time_point now() const noexcept { return clock_.now(); }
  /// What the runtime has done so far.
  [[nodiscard]] const runtime_stats& stats() const noexcept { return stats_; }
  /// Delayed messages scheduled and not yet delivered or cancelled.
  [[nodiscard]] std::size_t pending_delayed_messages() const noexcept { return state_.delayed.size(); }
  /// Requests sent and not yet applied (answers that came in but wait their turn included).
  [[nodiscard]] std::size_t requests_in_flight() const noexcept { return in_flight_count_; }

  /// True when input is paused (rule 23): an address is blocked or too many requests are out.
  [[nodiscard]] bool backpressured() const noexcept {
    return blocked_ > 0 || in_flight_count_ >= options_.max_async_operations;
  }

  /// The event loop functions and HTTP endpoints run on.
  [[nodiscard]] ::asio::io_context& io_context() noexcept { return io_; }

  /// @}
  // ------------------------------------------------------------------------------------------
  /// @name Fault tolerance (rules 24-26)
  /// @{

  /// A picture of everything durable. Exactly-once egress output is published now.
  snapshot take_snapshot() {
    const std::size_t released = state_.uncommitted.size();
    for (auto& record : state_.uncommitted) {
      publish(std::move(record));
    }
    state_.uncommitted.clear();
    if (options_.observer != nullptr) {
      options_.observer->local_snapshot(released);
    }
    return snapshot(std::make_shared<const detail::durable_state>(state_));
  }

  /**
   * Rolls back to `s`, as after a crash: answers to requests sent since are thrown away, the
   * state registry is emptied (so the handshake runs again), and every batch that was in flight
   * at the snapshot is sent again with fresh state; its function sees those invocations twice.
   * Delayed messages that fell due meanwhile fire next; input resumes from the saved positions.
   *
   * @note Restore the latest snapshot, as Flink restores its latest checkpoint: exactly-once
   *       egress output published by a later snapshot is not taken back, and would repeat.
   */
  void restore(const snapshot& s) {
    if (!s) {
      throw std::invalid_argument("statefun::local::runtime: restore() of an empty snapshot");
    }
    state_ = *s.state_;
    ++stats_.restores;
    if (options_.observer != nullptr) {
      options_.observer->local_restore();
    }
    for (auto& ft : types_) {
      ft.registry.clear();
      ft.registered.assign(ft.registered.size(), -1);
    }
    for (auto& slot : in_flight_) {
      ++slot.generation;
      slot.used = false;
      slot.id.clear();
    }
    free_slots_.clear();
    for (std::uint32_t i = 0; i < in_flight_.size(); ++i) {
      free_slots_.push_back(i);
    }
    in_flight_count_ = 0;
    report_in_flight();
    report_delayed();
    report_backlogs();
    while (!completions_.empty()) {
      recycle(std::move(completions_.front().bytes));
      completions_.pop_front();
    }
    blocked_ = 0;
    state_.types.resize(std::max(state_.types.size(), types_.size()));
    for (std::uint32_t type = 0; type < state_.types.size(); ++type) {
      for (auto& [id, at] : state_.types[type].addresses) {
        blocked_ += at.blocked ? 1 : 0;
        if (at.in_flight) {
          ++stats_.replayed_batches;
          send_batch(type, id, at, local_batch_reason::replay);
        }
      }
    }
  }

  /// @}

 private:
  enum class wait { nothing, requests, delayed_messages, forever };

  struct binding {
    std::shared_ptr<function_endpoint> endpoint;  ///< or else:
    std::optional<endpoint_spec> http;
    int max_batch = 1000;
    std::string source;
  };

  struct in_process_binding {
    std::unique_ptr<detail::in_process_endpoint> endpoint;
    int max_batch = 1000;
  };

  struct ingress_entry {
    ingress_spec spec;
    std::vector<std::size_t> inputs;  ///< input numbers of its routes
  };

  struct input_route {
    std::uint32_t topic = 0;
    std::uint32_t value_type = 0;
    std::vector<std::uint32_t> targets;  ///< function types
    std::string ingress_id;
  };

  struct ingress_record {
    std::optional<std::string> key;
    std::string value;
  };

  struct egress_entry {
    egress_spec spec;
    std::vector<egress_record> published;
  };

  /// A request in flight: which address it is for. The generation tells a live ticket from
  /// one issued before a restore.
  struct in_flight_slot {
    std::uint32_t type = 0;
    std::string id;
    std::uint32_t generation = 0;
    bool used = false;
  };

  struct completion {
    std::uint32_t slot;
    bool ok;
    std::string bytes;
  };

  // ---------------------------------------------------------------------------- the loop

  void run_until(wait what) {
    stop_requested_ = false;
    if (io_.stopped()) {
      io_.restart();
    }
    for (;;) {
      process_ready();
      if (stop_requested_ || what == wait::nothing) {
        return;
      }
      const auto due = state_.delayed.next_due();
      const bool wait_for_due = due && (what == wait::delayed_messages || what == wait::forever);
      if (in_flight_count_ == 0) {
        if (wait_for_due && clock_.is_virtual()) {
          clock_.advance_to(*due);  // virtual time jumps; requests in flight take no time
          continue;
        }
        if (!wait_for_due && what != wait::forever) {
          return;
        }
      }
      if (due && !clock_.is_virtual()) {
        arm_timer(*due);  // real time passes while we wait, so delayed messages fire meanwhile
      }
      if (!wait_for_io()) {
        return;  // requests out that nothing here can complete (an endpoint that holds them)
      }
    }
  }

  /// Makes the event loop wake up at `due` (once per due time: re-arming cancels a wait, and
  /// the cancelled wait's handler must not look like the new one's).
  void arm_timer(clock::time_point due) {
    if (timer_pending_ && timer_due_ == due) {
      return;
    }
    timer_pending_ = true;
    timer_due_ = due;
    timer_.expires_at(due);
    timer_.async_wait([this, generation = ++timer_generation_](const std::error_code&) {
      if (generation == timer_generation_) {
        timer_pending_ = false;
      }
    });
  }

  /// Processes local work until there is none, picking up I/O completions every so often.
  void process_ready() {
    for (unsigned n = 1; !stop_requested_; ++n) {
      if (n % 64 == 0) {
        poll_io();
      }
      if (!step() && poll_io() == 0) {
        return;
      }
    }
  }

  std::size_t poll_io() {
    const std::size_t n = io_.poll();
    if (io_.stopped() && !stop_requested_) {
      io_.restart();
    }
    return n;
  }

  /// Waits for one event loop handler; false if the loop has nothing that could ever run.
  bool wait_for_io() {
    const std::size_t n = io_.run_one();
    if (io_.stopped() && !stop_requested_) {
      io_.restart();
    }
    return n > 0;
  }

  /**
   * One unit of work, in the order the real runtime's operator takes them: messages sent by
   * functions first (a response's messages are all handled before anything else, §2.4), then
   * answers, then due delayed messages, then input — unless backpressure holds input back.
   */
  bool step() {
    if (!state_.messages.empty()) {
      deliver(next_message());
      return true;
    }
    if (!completions_.empty()) {
      completion c = std::move(completions_.front());
      completions_.pop_front();
      complete(std::move(c));
      return true;
    }
    if (auto due = state_.delayed.pop_due(clock_.now())) {
      ++stats_.delayed_fired;
      routed(due->target.type, local_route::delayed);
      state_.messages.push_back(std::move(*due));
      report_delayed();
      return true;
    }
    return read_input();
  }

  /// The next message to deliver: the oldest, or in shuffle mode the oldest message for a
  /// random one of the first targets waiting, so each target keeps its order (rule 27).
  detail::envelope next_message() {
    auto& queue = state_.messages;
    std::size_t pick = 0;
    if (options_.shuffle_seed && queue.size() > 1) {
      const std::size_t window = std::min<std::size_t>(queue.size(), 64);
      const std::size_t candidate = std::uniform_int_distribution<std::size_t>(0, window - 1)(shuffle_);
      while (!(queue[pick].target == queue[candidate].target)) {
        ++pick;
      }
    }
    detail::envelope e = std::move(queue[pick]);
    if (pick == 0) {
      queue.pop_front();
    } else {
      queue.erase(queue.begin() + static_cast<std::ptrdiff_t>(pick));
    }
    return e;
  }

  // ----------------------------------------------------------------------- input (22, 23)

  bool read_input() {
    if (backpressured()) {
      return false;
    }
    const std::size_t count = inputs_.size() + 1;
    for (std::size_t k = 0; k < count; ++k) {
      const std::size_t input = (next_input_ + k) % count;
      if (read_from(input)) {
        next_input_ = input + 1;
        return true;
      }
    }
    return false;
  }

  bool read_from(std::size_t input) {
    std::size_t& position = state_.input_positions[input];
    if (input == 0) {
      if (position >= direct_input_.size()) {
        return false;
      }
      ++stats_.ingress_records;
      state_.messages.push_back(direct_input_[position++]);
      routed(state_.messages.back().target.type, local_route::ingress);
      return true;
    }
    const input_route& route = inputs_[input - 1];
    const auto& topic = topics_[route.topic];
    if (position >= topic.size()) {
      return false;
    }
    const ingress_record& record = topic[position++];
    ++stats_.ingress_records;
    if (!record.key) {
      fail("ingress " + route.ingress_id + ": a record of '" + topic_names_.name(route.topic) +
           "' has no key, so it has no function id (rule 22; the real runtime fails the job)");
    }
    for (const std::uint32_t target : route.targets) {
      state_.messages.push_back({{target, *record.key}, {std::nullopt, {route.value_type, true, record.value}}});
      routed(target, local_route::ingress);
    }
    return true;
  }

  // ------------------------------------------------------------- the state machine (10-13)

  void deliver(detail::envelope e) {
    ++stats_.messages;
    detail::function_type& ft = resolve(e.target.type);
    auto& addresses = durable_type(e.target.type).addresses;
    auto it = addresses.find(e.target.id);
    if (it == addresses.end()) {
      it = addresses.emplace(std::move(e.target.id), detail::address_state{}).first;
    }
    detail::address_state& at = it->second;
    if (!at.in_flight) {
      at.in_flight = true;
      at.batch.clear();
      at.batch.push_back(std::move(e.message));
      send_batch(e.target.type, it->first, at, local_batch_reason::fresh);
      return;
    }
    at.backlog.push_back(std::move(e.message));
    if (ft.observer != nullptr) {
      ++ft.backlog;
      ft.observer->backlog_changed(1);
    }
    if (ft.max_batch > 0 && at.backlog.size() >= static_cast<std::size_t>(ft.max_batch) && !at.blocked) {
      at.blocked = true;
      ++blocked_;
    }
  }

  /// Sends `at.batch` with every registered state attached (rules 12, 15, 17).
  void send_batch(std::uint32_t type, const std::string& id, detail::address_state& at, local_batch_reason reason) {
    detail::function_type& ft = resolve(type);
    request_.target = {ft.namespace_name, ft.type, id};
    request_.states.clear();
    request_.invocations.clear();
    at.values.resize(ft.slot_names.size());
    const auto now = clock_.now();
    for (const detail::registration& reg : ft.registry) {
      detail::stored_value& v = at.values[reg.slot];
      if (v.present && expired(v, reg)) {
        v.present = false;
        v.bytes.clear();
      }
      if (!v.present) {
        request_.states.push_back({ft.slot_names[reg.slot], false, {}});
        continue;
      }
      if (reg.mode == codec::expire_mode::after_invoke) {
        v.touched = now;
      }
      request_.states.push_back({ft.slot_names[reg.slot], true, {reg.type, true, v.bytes}});
    }
    for (const detail::invocation& inv : at.batch) {
      std::optional<codec::address_view> caller;
      if (inv.caller) {
        const auto& from = types_[inv.caller->type];
        caller = codec::address_view{from.namespace_name, from.type, inv.caller->id};
      }
      request_.invocations.push_back(
          {caller, {names_.name(inv.argument.type), inv.argument.has_value, inv.argument.bytes}});
    }
    std::string bytes = take_buffer();
    request_.encode(bytes);
    ++stats_.requests;
    stats_.invocations += at.batch.size();
    stats_.largest_batch = std::max(stats_.largest_batch, at.batch.size());
    if (ft.observer != nullptr) {
      ft.observer->batch_sent(reason, static_cast<std::uint32_t>(at.batch.size()));
    }
    const std::uint64_t ticket = open_ticket(type, id);
    ft.endpoint->send(ft.name, std::move(bytes), reply_to(*this, ticket));
  }

  /// An answer came in (or the request failed for good): apply it (rules 11, 13, 14).
  void complete(completion c) {
    const std::uint32_t type = in_flight_[c.slot].type;
    auto& addresses = durable_type(type).addresses;
    const auto it = addresses.find(in_flight_[c.slot].id);
    close_ticket(c.slot);
    const std::string& id = it->first;
    detail::address_state& at = it->second;
    if (at.blocked) {  // any completion lifts the address's block (§2.2)
      at.blocked = false;
      --blocked_;
    }
    if (!c.ok) {
      fail(where(type, id) + ": " + c.bytes);
    }
    if (const auto decoded = effects_.decode(c.bytes); !decoded) {
      if (decoded.code == errc::invalid_mutation_type) {
        fail(where(type, id) + ": a state mutation of unknown type (rule 16)");
      }
      fail(where(type, id) + ": the answer is not a FromFunction (" + decoded.to_error().message() + ")");
    }
    if (effects_.incomplete) {
      ++stats_.handshakes;
      register_states(type, id);
      recycle(std::move(c.bytes));
      send_batch(type, it->first, at, local_batch_reason::missing_state);  // the same invocations, with the states
      return;
    }
    apply(type, it->first, at);
    recycle(std::move(c.bytes));
    if (!at.backlog.empty()) {
      at.batch.swap(at.backlog);
      at.backlog.clear();
      if (detail::function_type& ft = types_[type]; ft.observer != nullptr) {
        ft.backlog -= static_cast<std::int64_t>(at.batch.size());
        ft.observer->backlog_changed(-static_cast<std::int64_t>(at.batch.size()));
      }
      send_batch(type, it->first, at, local_batch_reason::fresh);
      return;
    }
    at.in_flight = false;
    at.batch.clear();
    if (at.holds_nothing()) {
      addresses.erase(it);
    }
  }

  /// Applies a response's effects in the real runtime's order (rule 13).
  void apply(std::uint32_t type, const std::string& id, detail::address_state& at) {
    for (const codec::message_view& m : effects_.messages) {
      state_.messages.push_back({{target_type(m.target, type, id), std::string(m.target.id)},
                                 {detail::address_ref{type, id}, value_of(m.argument)}});
      routed(state_.messages.back().target.type, local_route::message);
    }
    for (const codec::delayed_view& d : effects_.delayed) {
      apply_delayed(type, id, d);
    }
    for (const codec::egress_view& e : effects_.egresses) {
      apply_egress(type, id, e);
    }
    for (const codec::mutation_view& m : effects_.mutations) {
      apply_mutation(type, id, at, m);
    }
  }

  // --------------------------------------------------------------- state registry (14-18)

  void register_states(std::uint32_t type, const std::string& id) {
    detail::function_type& ft = types_[type];
    for (const codec::missing_value_view& missing : effects_.missing_values) {
      const std::string state_type = missing.type_name.empty() ? std::string(unset_type) : std::string(missing.type_name);
      if (const auto why = type_name::problem(state_type); !why.empty()) {
        fail(where(type, id) + ": state '" + std::string(missing.state_name) + "' has type name '" + state_type +
             "', which " + std::string(why) + " (rule 4)");
      }
      const std::uint32_t slot = slot_of(ft, missing.state_name);
      if (ft.registered[slot] >= 0) {
        const auto& existing = ft.registry[static_cast<std::size_t>(ft.registered[slot])];
        if (existing.type != state_type) {
          fail(where(type, id) + ": state '" + std::string(missing.state_name) + "' is registered as " +
               existing.type + " and now declared as " + state_type + " (rule 14)");
        }
        continue;  // a different expiration for a registered state is ignored
      }
      if (!ft.slot_types[slot].empty() && ft.slot_types[slot] != state_type) {
        fail(where(type, id) + ": state '" + std::string(missing.state_name) + "' was stored as " +
             ft.slot_types[slot] + " before the restore and is now declared as " + state_type +
             " (the real runtime fails with RemoteValueTypeMismatchException)");
      }
      ft.slot_types[slot] = state_type;
      ft.registered[slot] = static_cast<int>(ft.registry.size());
      ft.registry.push_back({slot, state_type, missing.mode, std::chrono::milliseconds{missing.expire_after_ms}});
    }
  }

  void apply_mutation(std::uint32_t type, const std::string& id, detail::address_state& at,
                      const codec::mutation_view& m) {
    detail::function_type& ft = types_[type];
    const auto slot = ft.slots.find(m.state_name);
    if (slot == ft.slots.end() || ft.registered[slot->second] < 0) {
      fail(where(type, id) + ": mutation of state '" + std::string(m.state_name) +
           "', which is not registered (rule 16; the real runtime fails: Accessing a non-existing function state)");
    }
    const auto& reg = ft.registry[static_cast<std::size_t>(ft.registered[slot->second])];
    at.values.resize(ft.slot_names.size());
    detail::stored_value& v = at.values[slot->second];
    if (m.type == codec::mutation_type::remove) {
      v.present = false;
      v.bytes.clear();
      return;
    }
    const std::string_view written = m.value.type_name.empty() ? unset_type : m.value.type_name;
    if (written != reg.type) {
      fail(where(type, id) + ": state '" + std::string(m.state_name) + "' is registered as " + reg.type +
           " but was written as " + std::string(written) + " (rule 16)");
    }
    v.bytes.assign(m.value.value);  // the raw bytes, whatever has_value says
    v.present = true;
    v.touched = clock_.now();
  }

  // ---------------------------------------------------------- delayed and egress (19-21)

  void apply_delayed(std::uint32_t type, const std::string& id, const codec::delayed_view& d) {
    std::string key = options_.delayed_scope == delayed_message_scope::sender_id
                          ? id
                          : types_[type].name + '/' + id;
    if (d.is_cancellation) {
      if (d.cancellation_token.empty()) {
        fail(where(type, id) + ": a cancellation without a cancellation token (rule 20)");
      }
      if (state_.delayed.cancel(key, d.cancellation_token)) {
        ++stats_.delayed_cancelled;
        report_delayed();
      }
      return;
    }
    if (d.delay_ms < 0) {
      fail(where(type, id) + ": a delayed message with a negative delay of " + std::to_string(d.delay_ms) +
           " ms (rule 19)");
    }
    detail::envelope e{{target_type(d.target, type, id), std::string(d.target.id)},
                       {detail::address_ref{type, id}, value_of(d.argument)}};
    if (!state_.delayed.schedule(clock_.now() + std::chrono::milliseconds{d.delay_ms}, std::move(key),
                                 std::string(d.cancellation_token), std::move(e))) {
      fail(where(type, id) + ": a delayed message with cancellation token '" + std::string(d.cancellation_token) +
           "', which a pending message of the same sender already has (rule 19)");
    }
    ++stats_.delayed_scheduled;
    report_delayed();
  }

  void apply_egress(std::uint32_t type, const std::string& id, const codec::egress_view& e) {
    scratch_.assign(e.egress_namespace).append("/").append(e.egress_type);
    const auto it = egresses_.find(scratch_);
    if (it == egresses_.end()) {
      fail(where(type, id) + ": a record for unknown egress '" + scratch_ + "' (rule 21)");
    }
    egress_record record{scratch_, {std::string(e.argument.type_name), std::string(e.argument.value),
                                    e.argument.has_value}, {}, {}};
    const egress_spec& spec = it->second.spec;
    if (spec.kind == egress_kind::kafka) {
      if (e.argument.type_name != kafka_egress::record_type) {
        fail(where(type, id) + ": Kafka egress '" + scratch_ + "' takes " + std::string(kafka_egress::record_type) +
             " records, got " + std::string(e.argument.type_name) + " (rule 21)");
      }
      if (!(record.kafka = detail::decode_kafka_record(e.argument.value))) {
        fail(where(type, id) + ": Kafka egress '" + scratch_ + "' got a " + std::string(kafka_egress::record_type) +
             " that does not parse (malformed, or a topic or key that is not UTF-8) (rule 21)");
      }
    } else if (spec.kind == egress_kind::kinesis) {
      if (e.argument.type_name != kinesis_egress::record_type) {
        fail(where(type, id) + ": Kinesis egress '" + scratch_ + "' takes " +
             std::string(kinesis_egress::record_type) + " records, got " + std::string(e.argument.type_name) +
             " (rule 21)");
      }
      if (!(record.kinesis = detail::decode_kinesis_record(e.argument.value))) {
        fail(where(type, id) + ": Kinesis egress '" + scratch_ + "' got a " +
             std::string(kinesis_egress::record_type) +
             " that does not parse (malformed, or a stream or key that is not UTF-8) (rule 21)");
      }
    }
    if (spec.semantic == delivery_semantic::exactly_once) {
      state_.uncommitted.push_back(std::move(record));
    } else {
      publish(std::move(record));
    }
  }

  void publish(egress_record record) {
    ++stats_.egress_records;
    if (options_.observer != nullptr) {
      options_.observer->local_egress_record(record.egress);
    }
    auto& published = egresses_.find(record.egress)->second.published;
    published.push_back(std::move(record));
    if (egress_listener_) {
      egress_listener_(published.back());
    }
  }

  // ------------------------------------------------------------------- names and routing

  /// The function type a message goes to; its name must be `namespace/name` (rule 4).
  std::uint32_t target_type(const codec::address_view& target, std::uint32_t from, const std::string& id) {
    // Answers mostly message one type after another: compare with the last one before hashing.
    if (last_target_ < types_.size() && types_[last_target_].type == target.type &&
        types_[last_target_].namespace_name == target.namespace_name) {
      return last_target_;
    }
    scratch_.assign(target.namespace_name).append("/").append(target.type);
    std::uint32_t known = function_types_.find(scratch_);
    if (known == detail::name_table::npos) {
      if (const auto why = type_name::problem(scratch_);
          !why.empty() || target.namespace_name.find('/') != std::string_view::npos) {
        fail(where(from, id) + ": a message to '" + scratch_ + "', whose type name " +
             std::string(why.empty() ? "has more than one '/'" : why) + " (rule 4)");
      }
      known = function_type_number(scratch_);
    }
    last_target_ = known;
    return known;
  }

  /// The number of function type `name` (`namespace/name`, already checked).
  std::uint32_t function_type_number(std::string_view name) {
    const std::uint32_t number = function_types_.intern(name);
    if (number == types_.size()) {
      detail::function_type ft;
      ft.name = std::string(name);
      const std::size_t slash = name.find('/');
      ft.namespace_name = std::string(name.substr(0, slash));
      ft.type = std::string(name.substr(slash + 1));
      if (options_.observer != nullptr) {
        ft.observer = options_.observer->local_function_type(type_name(name));
      }
      types_.push_back(std::move(ft));
    }
    return number;
  }

  detail::type_state& durable_type(std::uint32_t type) {
    if (type >= state_.types.size()) {
      state_.types.resize(type + 1);
    }
    return state_.types[type];
  }

  detail::value_ref value_of(const codec::typed_value_view& v) {
    return {names_.intern(v.type_name), v.has_value, std::string(v.value)};
  }

  static std::uint32_t slot_of(detail::function_type& ft, std::string_view name) {
    if (const auto it = ft.slots.find(name); it != ft.slots.end()) {
      return it->second;
    }
    const auto slot = static_cast<std::uint32_t>(ft.slot_names.size());
    ft.slot_names.emplace_back(name);
    ft.slot_types.emplace_back();
    ft.registered.push_back(-1);
    ft.slots.emplace(std::string(name), slot);
    return slot;
  }

  bool expired(const detail::stored_value& v, const detail::registration& reg) const {
    return reg.mode != codec::expire_mode::none && v.touched + reg.ttl <= clock_.now();
  }

  std::uint32_t topic_number(ingress_kind kind, std::string_view topic) {
    const std::uint32_t number =
        topic_names_.intern(std::string(kind == ingress_kind::kafka ? "kafka:" : "kinesis:") + std::string(topic));
    if (number >= topics_.size()) {
      topics_.resize(number + 1);
    }
    return number;
  }

  const ingress_entry& find_ingress(std::string_view id) const {
    for (const auto& ingress : ingresses_) {
      if (ingress.spec.id == id) {
        return ingress;
      }
    }
    throw std::invalid_argument("statefun::local: no ingress '" + std::string(id) + "'");
  }

  static const ingress_route& find_route(const ingress_entry& ingress, std::string_view topic,
                                         std::string_view value_type = {}) {
    try {
      return route_of(ingress.spec, topic, value_type);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(std::string("statefun::local: ") + e.what());
    }
  }


  // ------------------------------------------------------------------ endpoints (1-3, 5-9)

  void add_binding(std::string_view pattern, binding b) {
    const std::size_t slash = pattern.find('/');
    const bool whole_namespace = slash != std::string_view::npos && pattern.substr(slash + 1) == "*";
    if (whole_namespace) {
      const std::string_view ns = pattern.substr(0, slash);
      if (ns.empty() || ns.find('*') != std::string_view::npos) {
        throw std::invalid_argument("statefun::local: functions '" + std::string(pattern) + "': bad namespace");
      }
      if (const auto it = by_namespace_.find(ns); it != by_namespace_.end()) {
        throw std::invalid_argument("statefun::local: namespace '" + std::string(ns) + "' is bound twice: at " +
                                    it->second.source + " and at " + b.source + " (rule 2)");
      }
      by_namespace_.emplace(std::string(ns), std::move(b));
    } else {
      type_name::check(pattern);
      if (pattern.find('*') != std::string_view::npos) {
        throw std::invalid_argument("statefun::local: functions '" + std::string(pattern) +
                                    "': '*' may only stand for a whole name (namespace/*)");
      }
      if (const auto it = by_type_.find(pattern); it != by_type_.end()) {
        throw std::invalid_argument("statefun::local: function type '" + std::string(pattern) +
                                    "' is bound twice: at " + it->second.source + " and at " + b.source + " (rule 2)");
      }
      by_type_.emplace(std::string(pattern), std::move(b));
    }
    forget_resolved_endpoints();
  }

  void forget_resolved_endpoints() {
    for (auto& ft : types_) {
      ft.endpoint = nullptr;
    }
  }

  /// The function type `type`, with its endpoint found: in process first, then the exact type,
  /// then its namespace (rule 2).
  detail::function_type& resolve(std::uint32_t type) {
    detail::function_type& ft = types_[type];
    if (ft.endpoint != nullptr) {
      return ft;
    }
    for (const auto& in_process : in_process_) {
      if (in_process.endpoint->serves(ft.name)) {
        ft.endpoint = in_process.endpoint.get();
        ft.max_batch = in_process.max_batch;
        ft.endpoint_source = "in process";
        return ft;
      }
    }
    auto found = by_type_.find(ft.name);
    if (found == by_type_.end()) {
      found = by_namespace_.find(ft.namespace_name);
    }
    if (found == by_namespace_.end()) {
      fail("a message for function type '" + ft.name +
           "', which no endpoint serves (rule 2; the real runtime fails: Cannot find a provider for type)");
    }
    binding& b = found->second;
    ft.max_batch = b.max_batch;
    ft.endpoint_source = b.source;
    if (b.endpoint) {
      ft.endpoint = b.endpoint.get();
      return ft;
    }
    ft.endpoint = http_endpoint_for(ft, *b.http);
    return ft;
  }

  function_endpoint* http_endpoint_for(const detail::function_type& ft, const endpoint_spec& spec) {
    const std::string url = detail::expand_url_template(spec.url_path_template, ft.type);
    try {
      const detail::endpoint_url parts = detail::split_endpoint_url(url, spec.transport);
      const bool tls = parts.origin.starts_with("https://");
      if (tls && !options_.tls) {
        throw std::invalid_argument(
            "https needs TLS: set runtime_options::tls = statefun::local::tls_connector (<statefun/local/tls.hpp>)");
      }
      // One client (one connection pool) per origin and TLS settings.
      const std::string key = parts.origin + '\n' + spec.tls.trust_cacerts + '\n' + spec.tls.client_cert + '\n' +
                              spec.tls.client_key;
      auto client = clients_.find(key);
      if (client == clients_.end()) {
        client = clients_
                     .emplace(key, statefun::asio::http_client(io_.get_executor(), parts.origin,
                                                               tls ? options_.tls(spec.tls) : statefun::asio::client_connector{},
                                                               spec.pool_size))
                     .first;
      }
      endpoints_.push_back(std::make_unique<detail::http_endpoint>(io_.get_executor(), spec, url, client->second,
                                                                   options_.strict_content_type, ft.observer));
      return endpoints_.back().get();
    } catch (const std::exception& e) {
      fail("function type '" + ft.name + "' (endpoint at " + ft.endpoint_source + "): " + e.what());
    }
  }

  // ------------------------------------------------------------------- tickets and buffers

  std::uint64_t open_ticket(std::uint32_t type, const std::string& id) {
    std::uint32_t index;
    if (free_slots_.empty()) {
      index = static_cast<std::uint32_t>(in_flight_.size());
      in_flight_.emplace_back();
    } else {
      index = free_slots_.back();
      free_slots_.pop_back();
    }
    in_flight_slot& slot = in_flight_[index];
    slot.type = type;
    slot.id.assign(id);
    slot.used = true;
    ++in_flight_count_;
    report_in_flight();
    return (std::uint64_t{slot.generation} << 32) | index;
  }

  void close_ticket(std::uint32_t index) {
    in_flight_[index].used = false;
    free_slots_.push_back(index);
    --in_flight_count_;
    report_in_flight();
  }

  // ---------------------------------------------------------------------- observer events

  void routed(std::uint32_t type, local_route route) const noexcept {
    if (local_function_observer* o = types_[type].observer; o != nullptr) {
      o->message_routed(route);
    }
  }

  /// Reports the change in delayed messages pending since the last report.
  void report_delayed() noexcept {
    if (options_.observer == nullptr) {
      return;
    }
    const auto now = static_cast<std::int64_t>(state_.delayed.size());
    if (now != reported_delayed_) {
      options_.observer->local_delayed_changed(now - reported_delayed_);
      reported_delayed_ = now;
    }
  }

  void report_in_flight() noexcept {
    if (options_.observer == nullptr) {
      return;
    }
    const auto now = static_cast<std::int64_t>(in_flight_count_);
    if (now != reported_in_flight_) {
      options_.observer->local_in_flight_changed(now - reported_in_flight_);
      reported_in_flight_ = now;
    }
  }

  /// After a restore: each observed type's backlog, counted again in the restored state.
  void report_backlogs() noexcept {
    for (std::uint32_t type = 0; type < types_.size(); ++type) {
      detail::function_type& ft = types_[type];
      if (ft.observer == nullptr) {
        continue;
      }
      std::int64_t waiting = 0;
      if (type < state_.types.size()) {
        for (const auto& [id, at] : state_.types[type].addresses) {
          waiting += static_cast<std::int64_t>(at.backlog.size());
        }
      }
      if (waiting != ft.backlog) {
        ft.observer->backlog_changed(waiting - ft.backlog);
        ft.backlog = waiting;
      }
    }
  }

  /// For the destructor: the gauges this runtime added go back to where they were.
  void take_back_gauges() noexcept {
    if (options_.observer == nullptr) {
      return;
    }
    for (detail::function_type& ft : types_) {
      if (ft.observer != nullptr && ft.backlog != 0) {
        ft.observer->backlog_changed(-ft.backlog);
        ft.backlog = 0;
      }
    }
    if (reported_delayed_ != 0) {
      options_.observer->local_delayed_changed(-reported_delayed_);
      reported_delayed_ = 0;
    }
    if (reported_in_flight_ != 0) {
      options_.observer->local_in_flight_changed(-reported_in_flight_);
      reported_in_flight_ = 0;
    }
  }

  void accept(std::uint64_t ticket, bool ok, std::string bytes) override {
    const auto index = static_cast<std::uint32_t>(ticket & 0xffffffffu);
    const auto generation = static_cast<std::uint32_t>(ticket >> 32);
    if (index >= in_flight_.size() || !in_flight_[index].used || in_flight_[index].generation != generation) {
      recycle(std::move(bytes));  // an answer to a request from before a restore
      return;
    }
    completions_.push_back({index, ok, std::move(bytes)});
  }

  std::string take_buffer() {
    if (spare_buffers_.empty()) {
      return {};
    }
    std::string buffer = std::move(spare_buffers_.back());
    spare_buffers_.pop_back();
    buffer.clear();
    return buffer;
  }

  /// For the destructor: cancels the requests in flight and runs the loop until they end.
  void finish_calls_in_flight() noexcept {
    const auto in_flight = [this] {
      std::size_t n = 0;
      for (const auto& endpoint : endpoints_) {
        n += endpoint->calls_in_flight();
      }
      for (const auto& in_process : in_process_) {
        n += in_process.endpoint->requests_in_flight();
      }
      return n;
    };
    if (in_flight() == 0) {
      return;
    }
    try {
      for (const auto& endpoint : endpoints_) {
        endpoint->cancel_calls();
      }
      for (const auto& in_process : in_process_) {
        in_process.endpoint->cancel_requests();
      }
      io_.restart();
      const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while (in_flight() > 0 && std::chrono::steady_clock::now() < give_up) {
        io_.run_one_for(std::chrono::milliseconds(100));
      }
    } catch (...) {
      // a handler threw: what is left is released with the loop
    }
  }

  void recycle(std::string buffer) {
    if (spare_buffers_.size() < 64) {
      spare_buffers_.push_back(std::move(buffer));
    }
  }

  // ------------------------------------------------------------------------------ errors

  std::string where(std::uint32_t type, const std::string& id) const {
    return "function " + types_[type].name + "/" + id;
  }

  [[noreturn]] static void fail(const std::string& what) { throw job_failure("statefun::local: " + what); }

  static constexpr std::string_view unset_type = "io.statefun.types/unset";

  // The event loop goes first: it is destroyed last, after everything that uses it.
  ::asio::io_context io_{1};
  runtime_options options_;
  local::clock& clock_ = options_.clock;
  ::asio::steady_timer timer_;
  bool timer_pending_ = false;
  clock::time_point timer_due_{};
  std::uint64_t timer_generation_ = 0;
  std::atomic<bool> stop_requested_{false};

  detail::durable_state state_;
  detail::name_table function_types_;
  std::vector<detail::function_type> types_;
  detail::name_table names_;  // value type names

  std::vector<in_process_binding> in_process_;
  detail::string_map<binding> by_type_;
  detail::string_map<binding> by_namespace_;
  detail::string_map<statefun::asio::http_client> clients_;
  std::vector<std::unique_ptr<detail::http_endpoint>> endpoints_;

  std::vector<ingress_entry> ingresses_;
  std::vector<input_route> inputs_;
  detail::name_table topic_names_;
  std::vector<std::vector<ingress_record>> topics_;
  std::vector<detail::envelope> direct_input_;
  std::size_t next_input_ = 0;

  detail::string_map<egress_entry> egresses_;
  std::function<void(const egress_record&)> egress_listener_;

  std::vector<in_flight_slot> in_flight_;
  std::vector<std::uint32_t> free_slots_;
  std::size_t in_flight_count_ = 0;
  std::size_t blocked_ = 0;
  std::int64_t reported_delayed_ = 0;    ///< delayed messages pending, as last reported
  std::int64_t reported_in_flight_ = 0;  ///< requests in flight, as last reported
  std::deque<completion> completions_;

  codec::invocation_batch_view request_;
  codec::from_function_view effects_;
  std::string scratch_;
  std::uint32_t last_target_ = detail::name_table::npos;
  std::vector<std::string> spare_buffers_;
  std::mt19937_64 shuffle_;
  runtime_stats stats_;
};

}  // namespace statefun::inline v0::local
