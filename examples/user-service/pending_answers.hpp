#pragma once

// Requests waiting for their answers, by request id: the gateway's half of the correlation (the
// functions key each answer with its request id). A connection registers its request before it
// publishes it, then waits, suspended, until the answer is delivered or its time is up.

#include "messages.hpp"

#include <statefun/asio/use_task.hpp>
#include <statefun/task.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>

namespace user_service {

class pending_answers {
 public:
  class waiter;

  /// Hands `response` to the request waiting for it. False when none is: it timed out, was
  /// answered already (the egress delivers at least once), or is another gateway's.
  bool deliver(user_response response);

  /// Ends every wait without an answer (the gateway is stopping).
  void cancel_all();

  [[nodiscard]] std::size_t size() const noexcept { return waiting_.size(); }

 private:
  std::unordered_map<std::string, waiter*> waiting_;
};

/// The wait for one request's answer, registered for as long as it lives.
class pending_answers::waiter {
 public:
  /// @throws std::logic_error if `request_id` is awaited already.
  waiter(pending_answers& answers, std::string request_id, const ::asio::any_io_executor& executor)
      : answers_(answers), request_id_(std::move(request_id)), wake_(executor) {
    if (!answers_.waiting_.emplace(request_id_, this).second) {
      throw std::logic_error("request id " + request_id_ + " is awaited twice");
    }
  }

  waiter(const waiter&) = delete;
  waiter& operator=(const waiter&) = delete;

  ~waiter() {
    const auto it = answers_.waiting_.find(request_id_);
    if (it != answers_.waiting_.end() && it->second == this) {
      answers_.waiting_.erase(it);
    }
  }

  /// The answer, or nullopt when none came within `timeout` or the wait was cancelled.
  statefun::task<std::optional<user_response>> get(std::chrono::milliseconds timeout) {
    if (!answer_ && !cancelled_) {  // (an answer may have come while the request was published)
      wake_.expires_after(timeout);
      co_await wake_.async_wait(::asio::experimental::as_tuple(statefun::asio::use_task));
    }
    co_return std::move(answer_);
  }

 private:
  friend class pending_answers;

  pending_answers& answers_;
  std::string request_id_;
  ::asio::steady_timer wake_;  // expires at the deadline; cancelled early by an answer
  std::optional<user_response> answer_;
  bool cancelled_ = false;
};

inline bool pending_answers::deliver(user_response response) {
  const auto it = waiting_.find(response.request_id);
  if (it == waiting_.end()) {
    return false;
  }
  waiter& w = *it->second;
  waiting_.erase(it);
  w.answer_ = std::move(response);
  w.wake_.cancel();
  return true;
}

inline void pending_answers::cancel_all() {
  for (const auto& [id, w] : waiting_) {
    w->cancelled_ = true;
    w->wake_.cancel();
  }
}

}  // namespace user_service
