#pragma once

// scripted_endpoint: a function endpoint for the local runtime's tests that plays the function's
// side by hand. It keeps every request it is sent (decoded) and answers only when the test says
// so, with a FromFunction the test writes (`answer`), so that a test can hold an address in
// flight, look at exactly what the runtime sent, and send back effects a real SDK never would
// (an unregistered mutation, a reused token) to see the runtime fail the way Flink would.

#include <statefun/codec/from_function.hpp>
#include <statefun/codec/to_function.hpp>
#include <statefun/local/function_endpoint.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace statefun::test {

/// The effects of one answer, written as the test goes: `answer{}.modify(...).send(...)`.
class answer {
 public:
  answer&& modify(std::string_view state, std::string_view type, std::string_view bytes) && {
    writer_.add_mutation({codec::mutation_type::modify, state, {type, true, bytes}});
    return std::move(*this);
  }
  answer&& modify_raw(const codec::mutation_view& m) && {
    writer_.add_mutation(m);
    return std::move(*this);
  }
  answer&& remove(std::string_view state) && {
    writer_.add_mutation({codec::mutation_type::remove, state, {}});
    return std::move(*this);
  }
  answer&& send(std::string_view ns, std::string_view type, std::string_view id, std::string_view value_type,
                std::string_view bytes) && {
    writer_.add_message({{ns, type, id}, {value_type, true, bytes}});
    return std::move(*this);
  }
  answer&& send_after(std::int64_t delay_ms, std::string_view ns, std::string_view type, std::string_view id,
                      std::string_view bytes, std::string_view token = {}) && {
    writer_.add_delayed({false, delay_ms, {ns, type, id}, {"test/text", true, bytes}, token});
    return std::move(*this);
  }
  answer&& cancel(std::string_view token) && {
    writer_.add_delayed({true, 0, {}, {}, token});
    return std::move(*this);
  }
  answer&& egress(std::string_view ns, std::string_view type, std::string_view value_type, std::string_view bytes) && {
    writer_.add_egress({ns, type, {value_type, true, bytes}});
    return std::move(*this);
  }

  /// The answer as `FromFunction` bytes.
  [[nodiscard]] std::string bytes() const {
    std::string out;
    writer_.finish(out);
    return out;
  }

  /// An `IncompleteInvocationContext` asking for `missing`.
  [[nodiscard]] static std::string missing(std::initializer_list<codec::missing_value_view> missing) {
    std::string out;
    codec::from_function_writer::write_incomplete_context(std::vector<codec::missing_value_view>(missing), out);
    return out;
  }

 private:
  codec::from_function_writer writer_;
};

/// One request the runtime sent, decoded, waiting for its answer.
struct held_request {
  std::string function_type;
  std::string bytes;
  codec::invocation_batch_view batch;  // views into `bytes`
  local::reply_to reply;

  /// The invocations' arguments' bytes, in order.
  [[nodiscard]] std::vector<std::string> arguments() const {
    std::vector<std::string> out;
    for (const auto& inv : batch.invocations) {
      out.emplace_back(inv.argument.value);
    }
    return out;
  }
  /// The attached state `name`, if it was attached at all.
  [[nodiscard]] const codec::state_view* state(std::string_view name) const {
    for (const auto& s : batch.states) {
      if (s.name == name) {
        return &s;
      }
    }
    return nullptr;
  }
};

class scripted_endpoint final : public local::function_endpoint {
 public:
  /// Answers each request at once with `respond(request)` instead of holding it.
  using responder = std::function<std::string(const held_request&)>;

  scripted_endpoint() = default;
  explicit scripted_endpoint(responder respond) : respond_(std::move(respond)) {}

  void send(std::string_view function_type, std::string to_function, local::reply_to reply) override {
    auto request = std::make_unique<held_request>(held_request{std::string(function_type), std::move(to_function), {}, reply});
    if (!request->batch.decode(std::string_view(request->bytes))) {
      throw std::logic_error("scripted_endpoint: the runtime sent bytes that are not a ToFunction");
    }
    ++sent_;
    history_.push_back(std::string(request->bytes));
    if (respond_) {
      reply.ok(respond_(*request));
      return;
    }
    held_.push_back(std::move(request));
  }

  [[nodiscard]] std::string describe() const override { return "scripted"; }

  /// Requests waiting for an answer, oldest first.
  [[nodiscard]] std::size_t held() const noexcept { return held_.size(); }
  [[nodiscard]] held_request& front() {
    if (held_.empty()) {
      throw std::logic_error("scripted_endpoint: no request is waiting");
    }
    return *held_.front();
  }
  /// The waiting request for the address with id `id`.
  [[nodiscard]] held_request& for_id(std::string_view id) {
    for (auto& r : held_) {
      if (r->batch.target.id == id) {
        return *r;
      }
    }
    throw std::logic_error("scripted_endpoint: no request waiting for id " + std::string(id));
  }

  /// Answers the oldest waiting request (or the one for `id`) with `bytes`.
  void reply(const std::string& bytes) { finish(held_.begin(), bytes); }
  void reply(std::string_view id, const std::string& bytes) {
    for (auto it = held_.begin(); it != held_.end(); ++it) {
      if ((*it)->batch.target.id == id) {
        finish(it, bytes);
        return;
      }
    }
    throw std::logic_error("scripted_endpoint: no request waiting for id " + std::string(id));
  }
  void fail(std::string reason) {
    auto request = std::move(held_.front());
    held_.pop_front();
    request->reply.fail(std::move(reason));
  }

  /// Every request sent so far, as bytes (decode with codec::invocation_batch_view).
  [[nodiscard]] const std::vector<std::string>& history() const noexcept { return history_; }
  [[nodiscard]] std::size_t sent() const noexcept { return sent_; }

 private:
  void finish(std::deque<std::unique_ptr<held_request>>::iterator it, const std::string& bytes) {
    if (it == held_.end()) {
      throw std::logic_error("scripted_endpoint: no request is waiting");
    }
    auto request = std::move(*it);
    held_.erase(it);
    request->reply.ok(bytes);
  }

  responder respond_;
  std::deque<std::unique_ptr<held_request>> held_;
  std::vector<std::string> history_;
  std::size_t sent_ = 0;
};

}  // namespace statefun::test
