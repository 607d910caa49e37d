#pragma once

/// @file
/// `function_endpoint`: how the local runtime reaches the functions of a type, and `reply_to`,
/// how an endpoint hands back the answer. The runtime brings two (in process through the codec,
/// and HTTP); tests and tools can plug in their own, for example one that answers by script.

#include <statefun/config.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace statefun::inline v0::local {

namespace detail {

/// Where replies go: the runtime (an interface, so that endpoints need not see the runtime).
class reply_sink {
 public:
  virtual void accept(std::uint64_t ticket, bool ok, std::string bytes_or_reason) = 0;

 protected:
  ~reply_sink() = default;
};

}  // namespace detail

/**
 * Completes one request. Call `ok` or `fail` exactly once, on the runtime's thread (the
 * executor the runtime gave the endpoint), at once or later. A reply to a request that the
 * runtime no longer waits for (it was restored from a snapshot meanwhile) is ignored.
 */
class reply_to {
 public:
  /// Made by the runtime for each request.
  reply_to(detail::reply_sink& sink, std::uint64_t ticket) noexcept : sink_(&sink), ticket_(ticket) {}

  /// The function answered: `from_function` holds a serialised `FromFunction`.
  void ok(std::string from_function) const { sink_->accept(ticket_, true, std::move(from_function)); }

  /// No answer will come (retries used up, the function failed): fails the run with `reason`.
  void fail(std::string reason) const { sink_->accept(ticket_, false, std::move(reason)); }

 private:
  detail::reply_sink* sink_;
  std::uint64_t ticket_;
};

/// A place functions are reached at: an in-process registry, an HTTP URL, a test script.
class function_endpoint {
 public:
  virtual ~function_endpoint() = default;

  /**
   * Sends `to_function` (a serialised `ToFunction` for a function of type `function_type`,
   * `namespace/name`) and arranges for `reply` to be called with the answer.
   */
  virtual void send(std::string_view function_type, std::string to_function, reply_to reply) = 0;

  /// What it is, for error messages: "in process", "http://host:8000/statefun".
  [[nodiscard]] virtual std::string describe() const = 0;
};

}  // namespace statefun::inline v0::local
