#pragma once

// The REST gateway: an HTTP/1.1 server on standalone Asio that turns each request into a
// message for the functions (routes.hpp), publishes it on the request bus and answers the client
// when the functions' answer comes back with the same request id. A connection waiting for its
// answer is a suspended coroutine: the event loop goes on serving every other connection.

#include "http_answer.hpp"
#include "http_connection.hpp"
#include "pending_answers.hpp"
#include "request_bus.hpp"
#include "routes.hpp"

#include <statefun/asio/async_run.hpp>
#include <statefun/asio/use_task.hpp>
#include <statefun/http/request_parser.hpp>
#include <statefun/task.hpp>

#include <asio/detached.hpp>
#include <asio/error.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_set>
#include <utility>
#include <variant>

namespace user_service {

/// An acceptor listening on `address`:`port` (port 0: any free one).
/// @throws std::system_error naming the address and port.
inline ::asio::ip::tcp::acceptor listen_on(::asio::io_context& io, const std::string& address, std::uint16_t port) {
  try {
    return ::asio::ip::tcp::acceptor(io, {::asio::ip::make_address(address), port});
  } catch (const std::system_error& e) {
    throw std::system_error(e.code(), "cannot listen on " + address + " port " + std::to_string(port));
  }
}

struct gateway_options {
  std::string address = "127.0.0.1";
  std::uint16_t port = 8080;                            // 0: any free port (see `port()`)
  std::chrono::milliseconds answer_timeout{5'000};      // then 504 Gateway Timeout
  std::chrono::milliseconds idle_timeout{30'000};       // for a request to arrive, or an answer to be read
  std::size_t max_head_bytes = 8 * 1024;                // then 431
  std::size_t max_body_bytes = 1024;                    // then 413 (no endpoint reads a body)
  std::string request_id_prefix = "gateway";            // unique among gateways sharing the answers' topic
};

/**
 * Serves the REST endpoints on `io` (one thread), through `bus`. It listens from construction;
 * `stop()` closes the listener and every connection, whose coroutines then end as the event loop
 * runs: run it (e.g. `rt.drain()`) before the gateway is destroyed.
 */
class http_gateway {
 public:
  /// @throws std::system_error if it cannot listen on the address and port.
  http_gateway(::asio::io_context& io, request_bus& bus, gateway_options options = {})
      : options_(std::move(options)),
        executor_(io.get_executor()),
        bus_(bus),
        acceptor_(listen_on(io, options_.address, options_.port)),
        retry_(io) {
    bus_.on_answer([this](user_response response) { answers_.deliver(std::move(response)); });
    statefun::asio::async_run(executor_, accept_connections(), ::asio::detached);
  }

  http_gateway(const http_gateway&) = delete;
  http_gateway& operator=(const http_gateway&) = delete;
  ~http_gateway() {
    stop();
    bus_.on_answer(nullptr);
  }

  /// The port it listens on.
  [[nodiscard]] std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

  /// Stops accepting and closes every connection; requests waiting for answers are dropped.
  void stop() {
    stopping_ = true;
    std::error_code ignored;
    acceptor_.close(ignored);
    retry_.cancel();
    for (http_connection* c : connections_) {
      c->close();
    }
    answers_.cancel_all();
  }

  /// Connections open, and requests waiting for their answers.
  [[nodiscard]] std::size_t connections() const noexcept { return connections_.size(); }
  [[nodiscard]] std::size_t requests_waiting() const noexcept { return answers_.size(); }

 private:
  statefun::task<> accept_connections() {
    while (!stopping_) {
      auto [error, socket] =
          co_await acceptor_.async_accept(::asio::experimental::as_tuple(statefun::asio::use_task));
      if (stopping_) {
        break;
      }
      if (error) {
        // Out of file descriptors, say: try again in a moment rather than spin.
        retry_.expires_after(std::chrono::milliseconds(100));
        co_await retry_.async_wait(::asio::experimental::as_tuple(statefun::asio::use_task));
        continue;
      }
      auto connection = std::make_shared<http_connection>(
          std::move(socket),
          statefun::http::parser_limits{.max_head_bytes = options_.max_head_bytes,
                                        .max_body_bytes = options_.max_body_bytes},
          options_.idle_timeout);
      statefun::asio::async_run(executor_, serve(std::move(connection)), ::asio::detached);
    }
  }

  /// Answers the requests of one connection in order, until either side closes it.
  statefun::task<> serve(std::shared_ptr<http_connection> connection) {
    connections_.insert(connection.get());
    try {
      for (;;) {
        const auto status = co_await connection->read_request();
        if (status == statefun::http::parse_status::need_more) {
          break;  // closed by the client, or too slow
        }
        if (status == statefun::http::parse_status::failed) {
          const statefun::http::parse_error error = connection->request().error();
          // (Named: g++ 12 destroys an aggregate temporary in a co_await expression wrongly.)
          const http_answer refusal{.status = error.status, .body = error_body(error.reason)};
          co_await connection->send(refusal, false);
          co_await connection->finish();
          break;
        }
        const bool keep_alive = connection->request().keep_alive() && !stopping_;
        const http_answer answer = co_await answer_to(connection->request());
        co_await connection->send(answer, keep_alive);
        if (!keep_alive) {
          co_await connection->finish();
          break;
        }
        connection->next_request();
      }
    } catch (const std::system_error&) {
      // The client went away, or did not read its answer in time.
    } catch (const std::exception& e) {
      std::cerr << "user-service gateway: connection closed after an unexpected error: " << e.what() << '\n';
    }
    connection->close();
    connections_.erase(connection.get());
  }

  /// The answer to one request: at once from its route, or from the functions.
  statefun::task<http_answer> answer_to(const statefun::http::request_parser& request) {
    route_result routed = route(request.method(), request.target());
    if (auto* answer = std::get_if<http_answer>(&routed)) {
      co_return std::move(*answer);
    }
    if (stopping_) {
      co_return http_answer{.status = 503, .body = error_body("the gateway is stopping")};
    }
    auto& message = std::get<user_request>(routed);
    message.request_id = options_.request_id_prefix + "-" + std::to_string(++requests_);
    pending_answers::waiter awaited(answers_, message.request_id, executor_);  // before it can come
    bool published = true;
    try {
      bus_.publish(message);
    } catch (const std::exception& e) {
      std::cerr << "user-service gateway: cannot publish request " << message.request_id << ": " << e.what() << '\n';
      published = false;
    }
    if (!published) {
      co_return http_answer{.status = 503, .body = error_body("the user service cannot take requests")};
    }
    auto response = co_await awaited.get(options_.answer_timeout);
    if (!response) {
      co_return http_answer{.status = 504, .body = error_body("no answer from the user service in time")};
    }
    co_return http_answer{.status = response->status, .body = std::move(response->body)};
  }

  gateway_options options_;
  ::asio::any_io_executor executor_;
  request_bus& bus_;
  ::asio::ip::tcp::acceptor acceptor_;
  ::asio::steady_timer retry_;
  pending_answers answers_;
  std::unordered_set<http_connection*> connections_;
  std::uint64_t requests_ = 0;
  bool stopping_ = false;
};

}  // namespace user_service
