#pragma once

/// @file
/// `in_process_endpoint`: functions of a registry in this process, reached through the real
/// codec: the runtime's `ToFunction` bytes go into a `request_reply_handler`, its `FromFunction`
/// bytes come back. No shortcut around serialisation, so what works here works over HTTP.

#include <asio/any_io_executor.hpp>

#include <statefun/asio/detail/detached.hpp>
#include <statefun/asio/detail/intrusive_list.hpp>
#include <statefun/asio/detail/task_scope.hpp>
#include <statefun/functions.hpp>
#include <statefun/local/function_endpoint.hpp>
#include <statefun/request_reply_handler.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace statefun::inline v0::local::detail {

/**
 * Runs each request as a task on the runtime's executor, so a function may `co_await` Asio
 * operations (timers, the HTTP client) while other addresses go on. A request that completes
 * without suspending is answered at once, on the caller's stack; that is the common case and
 * costs no more than the codec and the function.
 */
class in_process_endpoint final : public function_endpoint {
 public:
  in_process_endpoint(const functions& fns, ::asio::any_io_executor executor)
      : functions_(&fns), executor_(std::move(executor)) {}

  in_process_endpoint(const in_process_endpoint&) = delete;
  in_process_endpoint& operator=(const in_process_endpoint&) = delete;

  [[nodiscard]] bool serves(std::string_view function_type) const noexcept {
    return functions_->find(function_type) != nullptr;
  }

  void send(std::string_view, std::string to_function, reply_to reply) override {
    run(*this, take_handler(), std::move(to_function), reply);
  }

  [[nodiscard]] std::string describe() const override { return "in process"; }

  /// Cancels what every suspended request awaits: each then completes on the event loop.
  void cancel_requests() {
    in_flight_.for_each([](request_scope& request) { request.scope.cancel(); });
  }

  /// Requests sent and not answered yet (functions suspended in a `co_await`).
  [[nodiscard]] std::size_t requests_in_flight() const noexcept { return in_flight_.size(); }

 private:
  using handler_ptr = std::unique_ptr<request_reply_handler>;

  /// A request's scope, listed while the request runs (it lives in the request's frame).
  struct request_scope : statefun::asio::detail::intrusive_list_hook {
    explicit request_scope(::asio::any_io_executor executor) : scope(std::move(executor)) {}
    statefun::asio::detail::task_scope scope;
  };

  // The handler answers into its own buffer; the answer is copied into the request's buffer
  // (its capacity fits most answers) so that the runtime can recycle one string per request.
  static statefun::asio::detail::detached run(in_process_endpoint& self, handler_ptr handler, std::string request,
                                              reply_to reply) {
    request_scope listed(self.executor_);
    self.in_flight_.push_front(listed);
    request_reply_handler::result result = std::string_view{};
    {
      const statefun::asio::detail::task_scope::entered entered(&listed.scope);
      result = co_await handler->handle(request);
    }
    self.in_flight_.erase(listed);
    if (result) {
      request.assign(*result);
      self.give_back(std::move(handler));
      reply.ok(std::move(request));
    } else {
      std::string reason = result.error().message();
      self.give_back(std::move(handler));
      reply.fail("the function failed: " + reason +
                 " (over HTTP the runtime would answer 500 with this, retry until the call budget is used "
                 "up, then fail the job)");
    }
  }

  handler_ptr take_handler() {
    if (spare_.empty()) {
      return std::make_unique<request_reply_handler>(*functions_);
    }
    handler_ptr handler = std::move(spare_.back());
    spare_.pop_back();
    return handler;
  }

  void give_back(handler_ptr handler) { spare_.push_back(std::move(handler)); }

  const functions* functions_;
  ::asio::any_io_executor executor_;
  std::vector<handler_ptr> spare_;  // handlers keep their buffers: reusing them saves allocations
  statefun::asio::detail::intrusive_list<request_scope> in_flight_;  // no allocation per request
};

}  // namespace statefun::inline v0::local::detail
