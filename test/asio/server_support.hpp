#pragma once

// What the transport tests share: functions to serve, a server running on a thread of its own,
// blocking HTTP exchanges on real sockets, and events to wait on instead of sleeping.

#include <statefun/asio/server.hpp>
#include <statefun/asio/use_task.hpp>
#include <statefun/http/response_parser.hpp>
#include <statefun/log.hpp>
#include <statefun/log_line.hpp>
#include <statefun/statefun.hpp>

#include <asio/connect.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "support/files.hpp"

namespace statefun::test {

using namespace std::chrono_literals;

/// A one-shot event that one thread sets and another waits for (no sleeping, no polling).
class event {
 public:
  void set() {
    {
      const std::lock_guard lock(mutex_);
      set_ = true;
    }
    changed_.notify_all();
  }

  /// Waits until set; false if that takes longer than a generous bound (a hung test fails).
  [[nodiscard]] bool wait(std::chrono::seconds bound = std::chrono::seconds(30)) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, bound, [this] { return set_; });
  }

  bool is_set() {
    const std::lock_guard lock(mutex_);
    return set_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool set_ = false;
};

/**
 * A gate functions wait at until the test opens it: `co_await gate.wait()` inside a function
 * served by the server under test, `gate.open()` from the test. `arrived` is set when the first
 * function reaches the gate; `cancelled` when a waiting function was cancelled instead.
 */
class gate {
 public:
  task<> wait() {
    ::asio::steady_timer timer(statefun::asio::current_executor(), std::chrono::hours(1));
    {
      const std::lock_guard lock(mutex_);
      if (open_) {
        co_return;
      }
      waiting_.push_back(&timer);
    }
    arrived.set();
    try {
      co_await timer.async_wait(statefun::asio::use_task);
    } catch (const std::system_error&) {
      const std::lock_guard lock(mutex_);
      std::erase(waiting_, &timer);
      if (!open_) {
        cancelled.set();
        throw;  // cancelled by the server, not opened by the test
      }
    }
  }

  /// Lets every waiting function (and every later one) through. `executor`: the server's.
  void open(::asio::any_io_executor executor) {
    ::asio::post(executor, [this] {
      const std::lock_guard lock(mutex_);
      open_ = true;
      for (::asio::steady_timer* timer : waiting_) {
        timer->cancel();
      }
    });
  }

  event arrived;
  event cancelled;

 private:
  std::mutex mutex_;
  std::vector<::asio::steady_timer*> waiting_;
  bool open_ = false;
};

/// A log event as a test keeps it: copied, its fields as text (integers in decimal).
struct logged_event {
  statefun::log_level level{};
  std::string name;
  std::string message;
  std::map<std::string, std::string> fields;
  /// The logfmt line of the event (what the legacy callback would get).
  std::string line;

  bool has(const std::string& key) const { return fields.contains(key); }
  std::string at(const std::string& key) const {
    const auto found = fields.find(key);
    return found == fields.end() ? std::string("(no field " + key + ")") : found->second;
  }
};

/// A log sink that keeps every event; `arrived` is set when one named `wanted` arrives.
class recording_sink final : public statefun::log_sink {
 public:
  explicit recording_sink(std::string wanted = {}) : wanted_(std::move(wanted)) {}

  void write(const statefun::log_event& e) noexcept override {
    logged_event copy{e.level, std::string(e.name), std::string(e.message), {},
                      statefun::log_line(e, statefun::log_format::logfmt, std::nullopt)};
    for (const statefun::log_field& f : e.fields) {
      switch (f.type()) {
        case statefun::log_field::kind::text: copy.fields[std::string(f.key())] = std::string(f.text()); break;
        case statefun::log_field::kind::integer: copy.fields[std::string(f.key())] = std::to_string(f.integer()); break;
        case statefun::log_field::kind::unsigned_integer:
          copy.fields[std::string(f.key())] = std::to_string(f.unsigned_integer());
          break;
      }
    }
    const bool wanted = !wanted_.empty() && copy.name == wanted_;
    {
      const std::lock_guard lock(mutex_);
      events_.push_back(std::move(copy));
    }
    if (wanted) {
      arrived.set();
    }
  }

  std::vector<logged_event> events() {
    const std::lock_guard lock(mutex_);
    return events_;
  }

  /// The events named `name`.
  std::vector<logged_event> named(std::string_view name) {
    std::vector<logged_event> found;
    for (logged_event& e : events()) {
      if (e.name == name) {
        found.push_back(std::move(e));
      }
    }
    return found;
  }

  event arrived;

 private:
  std::string wanted_;
  std::mutex mutex_;
  std::vector<logged_event> events_;
};

constexpr statefun::value_spec<std::int32_t> count{"count"};

/// The functions the transport tests serve.
struct test_functions {
  test_functions() {
    fns.bind("bench/counter", {count}, [](context& ctx, const message&) {
      ctx.storage().set(count, ctx.storage().get(count).value_or(0) + 1);
    });
    fns.bind("test/throws", {}, [](context&, const message&) {
      throw std::runtime_error("the function failed on purpose");
    });
    fns.bind("test/gated", {count}, gated);
  }

  /// Waits at the gate, then counts like bench/counter.
  static task<> gated(context& ctx, const message&);

  statefun::functions fns;
};

/// The gate of test/gated: each test that uses it starts with a fresh one.
inline std::unique_ptr<gate> current_gate = std::make_unique<gate>();

inline task<> test_functions::gated(context& ctx, const message&) {
  co_await current_gate->wait();
  ctx.storage().set(count, ctx.storage().get(count).value_or(0) + 1);
}

/// An http_server on 127.0.0.1 (any free port), run on a thread of its own until destroyed.
class running_server {
 public:
  explicit running_server(const functions& fns, statefun::asio::server_options options = {},
                          const std::function<void(statefun::asio::http_server&)>& listen = {})
      : server_(fns, quiet(std::move(options))) {
    if (listen) {
      listen(server_);
    } else {
      port_ = server_.listen("127.0.0.1", 0);
    }
    thread_ = std::thread([this] { server_.run(); });
  }

  running_server(const running_server&) = delete;
  running_server& operator=(const running_server&) = delete;

  ~running_server() { stop(); }

  /// Stops gracefully and waits for `run` to return.
  void stop() {
    server_.stop();
    if (thread_.joinable()) {
      thread_.join();
    }
  }

  std::uint16_t port() const noexcept { return port_; }
  statefun::asio::http_server& server() noexcept { return server_; }

  /// What the server logged (unless the options named a sink or a callback): one logfmt line
  /// per event.
  std::vector<std::string> log() {
    std::vector<std::string> lines;
    for (const logged_event& e : sink_->events()) {
      lines.push_back(e.line);
    }
    return lines;
  }

  /// What the server logged (unless the options named a sink or a callback), event by event.
  recording_sink& sink() noexcept { return *sink_; }

 private:
  statefun::asio::server_options quiet(statefun::asio::server_options options) {
    options.handle_signals = false;
    if (options.log_sink == nullptr && !options.log) {
      options.log_sink = sink_.get();
    }
    return options;
  }

  std::unique_ptr<recording_sink> sink_ = std::make_unique<recording_sink>();
  statefun::asio::http_server server_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

/// A response as the test client read it.
struct http_response {
  int status = 0;
  std::string content_type;
  std::optional<std::string> content_length;
  std::string connection;
  std::string allow;
  std::string body;
};

/// What the test clients keep of a complete response.
inline http_response response_of(const http::response_parser& parser) {
  const auto length = parser.header("Content-Length");
  return {parser.status_code(),
          std::string(parser.header("Content-Type").value_or("")),
          length ? std::optional<std::string>(*length) : std::nullopt,
          std::string(parser.header("Connection").value_or("")),
          std::string(parser.header("Allow").value_or("")),
          std::string(parser.body())};
}

/// A blocking HTTP/1.1 client connection: raw bytes out, parsed responses in.
template <class Socket = ::asio::ip::tcp::socket>
class client {
 public:
  /// Connects to 127.0.0.1:`port`.
  explicit client(std::uint16_t port) : socket_(io_) {
    socket_.connect({::asio::ip::make_address("127.0.0.1"), port});
  }

  /// Connects to an endpoint of `Socket`'s protocol.
  explicit client(const typename Socket::endpoint_type& endpoint) : socket_(io_) {
    socket_.connect(endpoint);
  }

  void send(std::string_view bytes) { ::asio::write(socket_, ::asio::buffer(bytes)); }

  /// Reads one response (100 Continue included: it is a response too).
  http_response receive(bool to_head = false) {
    http::response_parser parser;
    parser.expect_no_body(to_head);
    for (;;) {
      const auto status = buffered_ > 0 ? parser.parse(std::span(buffer_.data(), buffered_))
                                        : http::parse_status::need_more;
      if (status == http::parse_status::complete) {
        http_response response = response_of(parser);
        buffer_.erase(0, parser.message_size());
        buffered_ -= parser.message_size();
        return response;
      }
      if (status == http::parse_status::failed) {
        throw std::runtime_error("the server's response does not parse: " +
                                 std::string(parser.error().reason));
      }
      if (buffer_.size() < buffered_ + 4096) {
        buffer_.resize(buffered_ + 65536);
      }
      std::error_code error;
      const std::size_t n = socket_.read_some(
          ::asio::buffer(buffer_.data() + buffered_, buffer_.size() - buffered_), error);
      if (error) {
        throw std::system_error(error, "the server closed the connection before a response");
      }
      buffered_ += n;
    }
  }

  http_response exchange(std::string_view request) {
    send(request);
    return receive();
  }

  /// An exchange whose response has no body whatever its head says (HEAD).
  http_response exchange_head(std::string_view request) {
    send(request);
    return receive(true);
  }

  /// True once the server has closed the connection (reads until EOF; what arrives is dropped).
  bool closed_by_server() {
    char byte[512];
    std::error_code error;
    while (!error) {
      socket_.read_some(::asio::buffer(byte), error);
    }
    return error == ::asio::error::eof || error == ::asio::error::connection_reset;
  }

  Socket& socket() noexcept { return socket_; }

 private:
  ::asio::io_context io_;
  Socket socket_;
  std::string buffer_;
  std::size_t buffered_ = 0;
};

/// The W1 workload: one invocation of bench/counter, whose state holds 41.
inline std::string w1() { return read_data("workloads/w1_counter.bin"); }

/// What `fns` answers to `request` in process: what a server of `fns` must send back.
inline std::string expected_reply(const statefun::functions& fns, const std::string& request) {
  auto handler = fns.handler();
  const auto reply = handler.handle_sync(request);
  if (!reply) {
    throw std::runtime_error("the functions refused the request in process: " + reply.error().message());
  }
  return std::string(*reply);
}

/// A POST as the runtime's async (Netty) transport sends it.
inline std::string runtime_post(std::string_view body, std::string_view path = "/statefun") {
  return "POST " + std::string(path) +
         " HTTP/1.1\r\n"
         "Content-Type: application/octet-stream\r\n"
         "Accept: application/octet-stream\r\n"
         "Accept-Encoding: gzip,deflate\r\n"
         "Connection: keep-alive\r\n"
         "User-Agent: statefun\r\n"
         "Host: localhost:8000\r\n"
         "Content-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

}  // namespace statefun::test
