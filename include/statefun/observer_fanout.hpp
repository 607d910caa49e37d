#pragma once

/// @file
/// `observer_fanout`: one observer that hands every event to several (Prometheus metrics and a
/// log sink, say), since the handler and the server each take one observer pointer.

#include <statefun/observer.hpp>
#include <statefun/type_name.hpp>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace statefun::inline v0 {

/**
 * Forwards each event to every observer it was given, in order. The observers are not owned:
 * they must outlive the fan-out. `expose` appends the expositions of those that keep one (keep
 * one only: two Prometheus expositions in one text would declare their families twice).
 *
 * **Example**:
 * @code
 * statefun::metrics::prometheus metrics;
 * my_log_observer log;
 * statefun::observer_fanout both{&metrics, &log};
 * fns.observe(&both);
 * @endcode
 */
class observer_fanout final : public observer {
 public:
  /// Forwards every event to each of `observers`, in order; each must outlive this.
  observer_fanout(std::initializer_list<observer*> observers) : observers_(observers) {}

  function_observer* function_type(const type_name& type) override {
    auto per_type = std::make_unique<function_fanout>();
    for (observer* o : observers_) {
      if (function_observer* f = o->function_type(type); f != nullptr) {
        per_type->targets.push_back(f);
      }
    }
    if (per_type->targets.empty()) {
      return nullptr;
    }
    const std::lock_guard lock(mutex_);
    return types_.emplace_back(std::move(per_type)).get();
  }

  void request_failed(failure_kind kind) noexcept override {
    for (observer* o : observers_) {
      o->request_failed(kind);
    }
  }
  void connection(connection_event event) noexcept override {
    for (observer* o : observers_) {
      o->connection(event);
    }
  }
  void bytes_received(std::uint64_t bytes) noexcept override {
    for (observer* o : observers_) {
      o->bytes_received(bytes);
    }
  }
  void response(const response_event& event) noexcept override {
    for (observer* o : observers_) {
      o->response(event);
    }
  }
  void timeout(timeout_kind kind) noexcept override {
    for (observer* o : observers_) {
      o->timeout(kind);
    }
  }
  void parser_refused(parser_refusal reason) noexcept override {
    for (observer* o : observers_) {
      o->parser_refused(reason);
    }
  }
  void tls_handshake_failed() noexcept override {
    for (observer* o : observers_) {
      o->tls_handshake_failed();
    }
  }
  // The local runtime's events.
  void local_runtime_attached() noexcept override {
    for (observer* o : observers_) {
      o->local_runtime_attached();
    }
  }
  local_function_observer* local_function_type(const type_name& type) override {
    auto per_type = std::make_unique<local_function_fanout>();
    for (observer* o : observers_) {
      if (local_function_observer* f = o->local_function_type(type); f != nullptr) {
        per_type->targets.push_back(f);
      }
    }
    if (per_type->targets.empty()) {
      return nullptr;
    }
    const std::lock_guard lock(mutex_);
    return local_types_.emplace_back(std::move(per_type)).get();
  }
  void local_delayed_changed(std::int64_t delta) noexcept override {
    for (observer* o : observers_) {
      o->local_delayed_changed(delta);
    }
  }
  void local_in_flight_changed(std::int64_t delta) noexcept override {
    for (observer* o : observers_) {
      o->local_in_flight_changed(delta);
    }
  }
  void local_egress_record(std::string_view egress) noexcept override {
    for (observer* o : observers_) {
      o->local_egress_record(egress);
    }
  }
  void local_snapshot(std::size_t released) noexcept override {
    for (observer* o : observers_) {
      o->local_snapshot(released);
    }
  }
  void local_restore() noexcept override {
    for (observer* o : observers_) {
      o->local_restore();
    }
  }

  client_observer* client(std::string_view name) override {
    auto per_client = std::make_unique<client_fanout>();
    for (observer* o : observers_) {
      if (client_observer* c = o->client(name); c != nullptr) {
        per_client->targets.push_back(c);
      }
    }
    if (per_client->targets.empty()) {
      return nullptr;
    }
    const std::lock_guard lock(mutex_);
    return clients_.emplace_back(std::move(per_client)).get();
  }
  bool expose(std::string& out) const override {
    bool any = false;
    for (const observer* o : observers_) {
      any = o->expose(out) || any;
    }
    return any;
  }

 private:
  /// One function type's observers, one per child that observes the type.
  struct function_fanout final : function_observer {
    void batch_handled(const batch_event& event) noexcept override {
      for (function_observer* f : targets) {
        f->batch_handled(event);
      }
    }
    void missing_state(std::size_t missing) noexcept override {
      for (function_observer* f : targets) {
        f->missing_state(missing);
      }
    }
    void batch_failed(failure_kind kind, const batch_event& event) noexcept override {
      for (function_observer* f : targets) {
        f->batch_failed(kind, event);
      }
    }
    void durable_batch(const durable_event& event) noexcept override {
      for (function_observer* f : targets) {
        f->durable_batch(event);
      }
    }
    void coroutine_suspended() noexcept override {
      for (function_observer* f : targets) {
        f->coroutine_suspended();
      }
    }
    void coroutine_finished() noexcept override {
      for (function_observer* f : targets) {
        f->coroutine_finished();
      }
    }
    std::vector<function_observer*> targets;
  };

  /// One function type's local runtime observers.
  struct local_function_fanout final : local_function_observer {
    void message_routed(local_route route) noexcept override {
      for (local_function_observer* f : targets) {
        f->message_routed(route);
      }
    }
    void batch_sent(local_batch_reason reason, std::uint32_t invocations) noexcept override {
      for (local_function_observer* f : targets) {
        f->batch_sent(reason, invocations);
      }
    }
    void backlog_changed(std::int64_t delta) noexcept override {
      for (local_function_observer* f : targets) {
        f->backlog_changed(delta);
      }
    }
    void endpoint_retried(local_retry_reason reason) noexcept override {
      for (local_function_observer* f : targets) {
        f->endpoint_retried(reason);
      }
    }
    std::vector<local_function_observer*> targets;
  };

  /// One HTTP client's observers, one per child that observes it.
  struct client_fanout final : client_observer {
    void call(const client_call_event& event) noexcept override {
      for (client_observer* c : targets) {
        c->call(event);
      }
    }
    void attempt(const client_attempt_event& event) noexcept override {
      for (client_observer* c : targets) {
        c->attempt(event);
      }
    }
    void retry() noexcept override {
      for (client_observer* c : targets) {
        c->retry();
      }
    }
    void connection(client_connection_event event) noexcept override {
      for (client_observer* c : targets) {
        c->connection(event);
      }
    }
    std::vector<client_observer*> targets;
  };

  std::vector<observer*> observers_;
  /// Guards `types_` and `clients_` against two registries binding (or clients made) at once;
  /// never taken per event.
  std::mutex mutex_;
  std::vector<std::unique_ptr<function_fanout>> types_;
  std::vector<std::unique_ptr<local_function_fanout>> local_types_;
  std::vector<std::unique_ptr<client_fanout>> clients_;
};

}  // namespace statefun::inline v0
