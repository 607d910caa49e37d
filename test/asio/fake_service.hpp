#pragma once

// fake_service: the outside service of the http_client tests. An HTTP/1.1 server on 127.0.0.1
// (any free port; unix_fake_service: on a Unix domain socket; with a TLS layer, which the TLS
// tests supply, over TLS) run on a thread of its own, written with statefun::task, use_task and
// http::request_parser. Each target can be told how to answer (503 first, hold until released,
// delay, chunked, close-delimited, Connection: close, drop the connection), and the service
// counts what happened so that tests assert on counters and events, never on time.

#include <statefun/asio/async_run.hpp>
#include <statefun/asio/use_task.hpp>
#include <statefun/http/request_parser.hpp>
#include <statefun/task.hpp>

#include <asio/buffer.hpp>
#include <asio/error.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace statefun::test {

/// How the service answers the requests for one target (the default: 200 with an echo).
struct behaviour {
  int status = 200;
  /// The body; empty: an echo of the request, "<method> <target>\n<body>".
  std::string body{};
  /// Answer the first N requests for this target with 503.
  int unavailable_first = 0;
  /// Close the connection without answering the first N requests for this target.
  int drop_first = 0;
  /// Answer only once `release()` is called, or once `release_when_holding` requests (for any
  /// held target) are held at the same time.
  bool hold = false;
  std::size_t release_when_holding = 0;
  /// Answer this long after the request arrived.
  std::chrono::milliseconds delay{0};
  /// Send `100 Continue` before the answer.
  bool interim = false;
  bool chunked = false;
  /// No Content-Length: the body ends when the connection closes.
  bool close_delimited = false;
  /// Say `Connection: close`, and close after answering.
  bool connection_close = false;
  /// Close after answering without saying so first (as an idle timeout would, later). Over
  /// TLS, without close_notify, as http_server closes idle connections.
  bool close_after_answer = false;
  /// Over TLS, close without close_notify where one is due (after a close-delimited body or
  /// Connection: close): a truncation, as if someone on the path cut the connection.
  bool no_close_notify = false;
  /// Send these bytes instead of a response (then close).
  std::optional<std::string> raw{};
  /// The answer's Content-Type field.
  std::string content_type = "text/plain";
};

/// A request as the service received it.
struct received_request {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body{};

  std::optional<std::string> header(std::string_view name) const {
    for (const auto& [field, value] : headers) {
      if (field.size() == name.size() &&
          std::equal(field.begin(), field.end(), name.begin(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
          })) {
        return value;
      }
    }
    return std::nullopt;
  }
};

/**
 * What the service speaks over its sockets: HTTP itself. A layer is a policy type with
 * `scheme`, `stream<Socket>`, `wrap(socket)`, `handshake(stream)` (false: drop the connection)
 * and `shutdown(stream)` (before closing, where the protocol says goodbye: TLS's close_notify).
 */
struct plain_layer {
  static constexpr std::string_view scheme = "http";

  template <class Socket>
  using stream = Socket;

  template <class Socket>
  Socket wrap(Socket&& socket) const {
    return std::move(socket);
  }

  template <class Socket>
  task<bool> handshake(Socket&) const {
    co_return true;
  }

  template <class Socket>
  task<> shutdown(Socket&) const {
    co_return;
  }
};

/// The service on `Protocol`'s sockets (`asio::ip::tcp` or `asio::local::stream_protocol`),
/// speaking HTTP over `Layer`.
template <class Protocol, class Layer = plain_layer>
class basic_fake_service {
  static constexpr bool is_tcp = std::is_same_v<Protocol, ::asio::ip::tcp>;

 public:
  /// Listens on 127.0.0.1, on any free port.
  explicit basic_fake_service(Layer layer = {})
    requires is_tcp
      : basic_fake_service(typename Protocol::endpoint(::asio::ip::make_address("127.0.0.1"), 0), std::move(layer)) {}

  /// Listens at `where` (a socket file is removed again by the destructor).
  explicit basic_fake_service(const typename Protocol::endpoint& where, Layer layer = {})
      : layer_(std::move(layer)), acceptor_(io_, where) {
    if constexpr (is_tcp) {
      port_ = acceptor_.local_endpoint().port();
    } else {
      socket_file_ = where.path();
    }
    statefun::asio::async_run(io_.get_executor(), accept_loop(), [](std::exception_ptr) {});
    thread_ = std::thread([this] { io_.run(); });
  }

  basic_fake_service(const basic_fake_service&) = delete;
  basic_fake_service& operator=(const basic_fake_service&) = delete;

  /// Closes every connection, ends every task, and joins the thread.
  ~basic_fake_service() {
    ::asio::post(io_, [this] {
      stopping_ = true;
      std::error_code ignored;
      acceptor_.close(ignored);
      for (lowest_layer_type* socket : sockets_) {
        socket->close(ignored);
      }
      for (::asio::steady_timer* timer : waiting_) {
        timer->cancel();
      }
    });
    work_.reset();
    thread_.join();
    if (!socket_file_.empty()) {
      std::error_code ignored;
      std::filesystem::remove(socket_file_, ignored);
    }
  }

  std::uint16_t port() const noexcept
    requires is_tcp
  {
    return port_;
  }

  /// The base URL of the service: http://127.0.0.1:<port> (https with TLS), or
  /// http+unix://<socket file>.
  std::string url() const {
    if constexpr (is_tcp) {
      return std::string(Layer::scheme) + "://127.0.0.1:" + std::to_string(port_);
    } else {
      return "http+unix://" + socket_file_;
    }
  }

  /// How to answer `target` from now on.
  void on(std::string target, behaviour how) {
    const std::lock_guard lock(mutex_);
    routes_[std::move(target)] = std::move(how);
  }

  /// Called on the service's thread with each request as it arrives, before it is answered.
  void on_request(std::function<void(const received_request&)> hook) {
    const std::lock_guard lock(mutex_);
    hook_ = std::move(hook);
  }

  /// Lets every held request (and every later one) be answered.
  void release() {
    ::asio::post(io_, [this] { release_held(); });
  }

  std::size_t connections_accepted() const { return read(accepted_); }
  std::size_t connections_closed() const { return read(closed_); }
  std::size_t requests_received() const { return read(received_); }
  /// Requests answered with a response (not dropped, not still held).
  std::size_t requests_answered() const { return read(answered_); }
  /// The most requests held at the same time.
  std::size_t most_held() const { return read(most_held_); }

  std::vector<received_request> requests() const {
    const std::lock_guard lock(mutex_);
    return requests_;
  }

  /// Waits until `n` requests have arrived; false after a generous bound (a hung test fails).
  [[nodiscard]] bool wait_for_requests(std::size_t n) { return wait(received_, n); }
  /// Waits until the service has closed `n` connections; false after a generous bound.
  [[nodiscard]] bool wait_for_closed(std::size_t n) { return wait(closed_, n); }

 private:
  using socket_type = typename Protocol::socket;
  using stream_type = typename Layer::template stream<socket_type>;
  using lowest_layer_type = typename socket_type::lowest_layer_type;

  /// Keeps a pointer in a list for a lifetime (so that the destructor can close or cancel it).
  template <class T>
  class listed {
   public:
    listed(std::vector<T*>& list, T& item) : list_(list), item_(item) { list_.push_back(&item_); }
    ~listed() { std::erase(list_, &item_); }
    listed(const listed&) = delete;
    listed& operator=(const listed&) = delete;

   private:
    std::vector<T*>& list_;
    T& item_;
  };

  std::size_t read(const std::size_t& counter) const {
    const std::lock_guard lock(mutex_);
    return counter;
  }

  void bump(std::size_t& counter) {
    {
      const std::lock_guard lock(mutex_);
      ++counter;
    }
    changed_.notify_all();
  }

  bool wait(const std::size_t& counter, std::size_t n) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(30), [&] { return counter >= n; });
  }

  void release_held() {
    released_ = true;
    for (::asio::steady_timer* timer : waiting_) {
      timer->cancel();
    }
  }

  task<> accept_loop() {
    while (!stopping_) {
      auto [error, socket] = co_await acceptor_.async_accept(::asio::experimental::as_tuple(statefun::asio::use_task));
      if (error) {
        continue;  // the destructor closed the acceptor, or a transient failure
      }
      bump(accepted_);
      statefun::asio::async_run(io_.get_executor(), serve(std::move(socket)), [](std::exception_ptr) {});
    }
  }

  /// Waits on a timer that `release_held` or the destructor may cancel.
  task<> wait_listed(::asio::steady_timer::time_point until) {
    ::asio::steady_timer timer(io_, until);
    const listed<::asio::steady_timer> in_list(waiting_, timer);
    co_await timer.async_wait(::asio::experimental::as_tuple(statefun::asio::use_task));
  }

  void close(lowest_layer_type& socket) {
    std::error_code ignored;
    socket.close(ignored);
    bump(closed_);
  }

  task<> serve(socket_type accepted) {
    stream_type stream = layer_.wrap(std::move(accepted));
    lowest_layer_type& socket = stream.lowest_layer();
    const listed<lowest_layer_type> in_list(sockets_, socket);
    if (!co_await layer_.handshake(stream)) {
      close(socket);
      co_return;
    }
    http::request_parser parser;
    std::string buffer;
    std::size_t size = 0;
    while (!stopping_) {
      http::parse_status status = size > 0 ? parser.parse(std::span(buffer.data(), size)) : http::parse_status::need_more;
      while (status == http::parse_status::need_more) {
        if (buffer.size() < size + 4096) {
          buffer.resize(size + 65536);
        }
        auto [error, n] = co_await stream.async_read_some(::asio::buffer(buffer.data() + size, buffer.size() - size),
                                                          ::asio::experimental::as_tuple(statefun::asio::use_task));
        if (error) {
          close(socket);  // the client went away (or the destructor closed it)
          co_return;
        }
        size += n;
        status = parser.parse(std::span(buffer.data(), size));
      }
      if (status == http::parse_status::failed) {
        close(socket);
        co_return;
      }
      received_request request{std::string(parser.method()), std::string(parser.target()), {}, std::string(parser.body())};
      for (std::size_t i = 0; i < parser.header_count(); ++i) {
        request.headers.emplace_back(parser.header_at(i).name, parser.header_at(i).value);
      }
      buffer.erase(0, parser.message_size());
      size -= parser.message_size();
      parser.reset();

      behaviour how;
      std::function<void(const received_request&)> hook;
      {
        const std::lock_guard lock(mutex_);
        if (auto route = routes_.find(request.target); route != routes_.end()) {
          how = route->second;
        }
        hook = hook_;
        requests_.push_back(request);
        ++received_;
      }
      changed_.notify_all();
      if (hook) {
        hook(request);
      }
      const int nth = ++seen_per_target_[request.target];

      if (nth <= how.drop_first) {
        close(socket);
        co_return;
      }
      if (how.hold && !released_) {
        ++held_;
        {
          const std::lock_guard lock(mutex_);
          most_held_ = std::max(most_held_, held_);
        }
        if (how.release_when_holding > 0 && held_ >= how.release_when_holding) {
          release_held();
        } else {
          co_await wait_listed(::asio::steady_timer::time_point::max());
        }
        --held_;
      }
      if (how.delay > std::chrono::milliseconds(0)) {
        co_await wait_listed(std::chrono::steady_clock::now() + how.delay);
      }
      if (stopping_) {
        co_return;
      }

      if (how.interim) {
        const bool sent = co_await write(stream, "HTTP/1.1 100 Continue\r\n\r\n");
        if (!sent) {
          co_return;
        }
      }
      if (how.raw) {
        const bool sent = co_await write(stream, *how.raw);
        if (sent) {
          close(socket);
        }
        co_return;
      }
      // Counted before it is sent: once the client has the answer, the count shows it.
      bump(answered_);
      const bool sent = co_await write(stream, response(how, request, nth));
      if (!sent) {
        co_return;
      }
      if (how.connection_close || how.close_delimited || how.close_after_answer) {
        // A goodbye (TLS close_notify) only where the client closes next: the layer's shutdown
        // waits for that, and a client that pools the connection would keep it waiting.
        if (!how.close_after_answer && !how.no_close_notify) {
          co_await layer_.shutdown(stream);
        }
        close(socket);
        co_return;
      }
    }
  }

  /// The answer to `request`, the `nth` for its target, framed as `how` says.
  static std::string response(const behaviour& how, const received_request& request, int nth) {
    const int status = nth <= how.unavailable_first ? 503 : how.status;
    const std::string body = how.body.empty() ? request.method + " " + request.target + "\n" + request.body : how.body;
    const bool no_body = request.method == "HEAD";  // but the fields describe the GET answer
    std::string bytes = "HTTP/1.1 " + std::to_string(status) + " Whatever\r\nContent-Type: " + how.content_type + "\r\n";
    if (how.connection_close) {
      bytes += "Connection: close\r\n";
    }
    if (how.chunked) {
      bytes += "Transfer-Encoding: chunked\r\n\r\n";
      for (std::size_t at = 0; at < body.size() && !no_body; at += 5) {
        const std::string piece = body.substr(at, 5);
        char size[17];
        std::snprintf(size, sizeof size, "%zx", piece.size());
        bytes += std::string(size) + ";piece=" + std::to_string(at / 5) + "\r\n" + piece + "\r\n";
      }
      return no_body ? bytes : bytes + "0\r\nX-Trailer: yes\r\n\r\n";
    }
    if (!how.close_delimited) {
      bytes += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    }
    return bytes + "\r\n" + (no_body ? std::string() : body);
  }

  /// Writes `bytes`; false (and the connection closed) when the client has gone.
  task<bool> write(stream_type& stream, std::string bytes) {
    auto [error, n] = co_await ::asio::async_write(stream, ::asio::buffer(bytes),
                                                   ::asio::experimental::as_tuple(statefun::asio::use_task));
    (void)n;
    if (error) {
      close(stream.lowest_layer());
      co_return false;
    }
    co_return true;
  }

  Layer layer_;
  ::asio::io_context io_{1};
  std::optional<::asio::executor_work_guard<::asio::io_context::executor_type>> work_{io_.get_executor()};
  typename Protocol::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::string socket_file_;

  // The service's thread only.
  std::vector<lowest_layer_type*> sockets_;
  std::vector<::asio::steady_timer*> waiting_;
  std::map<std::string, int> seen_per_target_;
  std::size_t held_ = 0;
  bool released_ = false;
  bool stopping_ = false;

  // Shared with the test's thread.
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, behaviour> routes_;
  std::function<void(const received_request&)> hook_;
  std::vector<received_request> requests_;
  std::size_t accepted_ = 0;
  std::size_t closed_ = 0;
  std::size_t received_ = 0;
  std::size_t answered_ = 0;
  std::size_t most_held_ = 0;

  std::thread thread_;  // last: starts once everything it uses exists
};

/// The service on TCP, 127.0.0.1.
using fake_service = basic_fake_service<::asio::ip::tcp>;

/// The service on a Unix domain socket (for http+unix:// URLs).
using unix_fake_service = basic_fake_service<::asio::local::stream_protocol>;

}  // namespace statefun::test
