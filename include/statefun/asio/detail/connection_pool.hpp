#pragma once

/// @file
/// `connection_pool`: the idle keep-alive connections of an `http_client`, per executor.

#include <asio/any_io_executor.hpp>

#include <statefun/asio/detail/client_connection.hpp>
#include <statefun/config.hpp>
#include <statefun/observer.hpp>

#include <cstddef>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace statefun::inline v0::asio::detail {

/**
 * Idle connections, each tagged with the executor its socket belongs to. Several threads may
 * share one pool (a mutex guards it), but a connection is only handed to a task on its own
 * executor, so its socket is only ever used, and closed, from there.
 */
class connection_pool {
 public:
  /**
   * @param max_idle How many idle connections to keep, all executors together (0: none).
   * @param events Where to tell that a connection entered or left the pool, or null.
   */
  explicit connection_pool(std::size_t max_idle, client_observer* events = nullptr)
      : max_idle_(max_idle), events_(events) {}

  connection_pool(const connection_pool&) = delete;
  connection_pool& operator=(const connection_pool&) = delete;

  ~connection_pool() {
    if (events_ != nullptr) {
      for (std::size_t i = 0; i < idle_.size(); ++i) {
        events_->connection(client_connection_event::unpooled);
      }
    }
  }

  /// The most recently returned idle connection on `executor`, or null.
  std::shared_ptr<client_connection> take(const ::asio::any_io_executor& executor) {
    const std::lock_guard lock(mutex_);
    for (auto it = idle_.rbegin(); it != idle_.rend(); ++it) {
      if ((*it)->executor() == executor) {
        std::shared_ptr<client_connection> found = std::move(*it);
        idle_.erase(std::next(it).base());
        tell(client_connection_event::unpooled);
        return found;
      }
    }
    return nullptr;
  }

  /**
   * Keeps `connection` for reuse. When the pool is full, the oldest idle connection on the same
   * executor makes room; if there is none, `connection` is closed instead (never one of another
   * executor: it may be in use on its own thread's event loop).
   */
  void give_back(std::shared_ptr<client_connection> connection) {
    std::shared_ptr<client_connection> dropped;  // closed after unlocking
    const std::lock_guard lock(mutex_);
    if (idle_.size() < max_idle_) {
      idle_.push_back(std::move(connection));
      tell(client_connection_event::pooled);
      return;
    }
    for (auto it = idle_.begin(); it != idle_.end(); ++it) {
      if ((*it)->executor() == connection->executor()) {
        dropped = std::move(*it);
        idle_.erase(it);
        idle_.push_back(std::move(connection));
        tell(client_connection_event::unpooled);
        tell(client_connection_event::pooled);
        return;
      }
    }
    dropped = std::move(connection);
  }

  /// How many idle connections the pool holds.
  std::size_t size() const {
    const std::lock_guard lock(mutex_);
    return idle_.size();
  }

 private:
  void tell(client_connection_event event) const noexcept {
    if (events_ != nullptr) {
      events_->connection(event);
    }
  }

  mutable std::mutex mutex_;
  std::size_t max_idle_;
  client_observer* events_;
  std::vector<std::shared_ptr<client_connection>> idle_;  // oldest first
};

}  // namespace statefun::inline v0::asio::detail
