#pragma once

// fault_proxy: a TCP proxy between the local runtime's HTTP client and a function server that
// spoils some exchanges on purpose, as a network and a busy service would, to show that the
// runtime's retries never change results (docs/runtime_rules.md §4.4 step 4, §1.5):
//
// - `status_500`:  answers 500 itself; the function never sees the request;
// - `drop_before`: closes the connection instead of forwarding the request;
// - `drop_after`:  forwards it, reads the function's answer, and closes the connection instead
//                  of passing the answer on: the function ran, the runtime must call it again;
// - `slow`:        passes the answer on late (within any timeout);
// - `hold`:        reads the function's answer and keeps it until the client gives up and closes
//                  the connection: past OkHttp's per-attempt read timeout, the runtime sends the
//                  request again. Only for the okhttp transport: the async one has no per-attempt
//                  timeout, so a held answer would use up its whole call budget.
//
// One thread, one event loop, a seeded choice per request; every fault applied is counted.
// HTTP is read just enough to find message boundaries (`Content-Length` bodies, as both the
// runtime and statefun::asio::http_server send them). Written with the SDK's own `task` and
// `use_task` (Asio 1.22's `asio::awaitable` is not enabled for clang++-14 with libstdc++).

#include <statefun/asio/async_run.hpp>
#include <statefun/asio/use_task.hpp>
#include <statefun/task.hpp>

#include <asio/buffer.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

namespace statefun::test::smoke {

/// How often (per request) each fault is injected.
struct fault_rates {
  double status_500 = 0;
  double drop_before = 0;
  double drop_after = 0;
  double slow = 0;
  double hold = 0;
  std::size_t max_holds = 4;  ///< each hold costs a read timeout of wall time
  std::chrono::milliseconds slow_by{3};
};

/// What the proxy did.
struct fault_counts {
  std::uint64_t requests = 0;  ///< requests read from the runtime
  std::uint64_t answered = 0;  ///< answers of the function passed on (slow ones included)
  std::uint64_t status_500 = 0;
  std::uint64_t drop_before = 0;
  std::uint64_t drop_after = 0;
  std::uint64_t slow = 0;
  std::uint64_t held = 0;
};

class fault_proxy {
 public:
  /// Listens on 127.0.0.1 (a free port) and forwards to 127.0.0.1:`upstream_port`.
  fault_proxy(std::uint16_t upstream_port, fault_rates rates, std::uint64_t seed)
      : rates_(rates),
        random_(seed),
        upstream_(::asio::ip::make_address("127.0.0.1"), upstream_port),
        acceptor_(io_, {::asio::ip::make_address("127.0.0.1"), 0}),
        port_(acceptor_.local_endpoint().port()) {
    start(accept());
    thread_ = std::thread([this] { io_.run(); });
  }

  fault_proxy(const fault_proxy&) = delete;
  fault_proxy& operator=(const fault_proxy&) = delete;

  /// Stops at once: closes every connection, and waits for their tasks to end (the event loop
  /// then runs out of work and its thread returns).
  ~fault_proxy() {
    ::asio::post(io_, [this] {
      acceptor_.close();
      for (tcp::socket* socket : open_) {
        socket->close();
      }
    });
    thread_.join();
  }

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }

  /// The counts so far (callable from any thread).
  [[nodiscard]] fault_counts counts() const {
    return {requests_.load(), answered_.load(), status_500_.load(), drop_before_.load(),
            drop_after_.load(), slow_.load(), held_.load()};
  }

 private:
  using tcp = ::asio::ip::tcp;
  static constexpr const statefun::asio::use_task_t& use_task = statefun::asio::use_task;
  enum class fault { none, status_500, drop_before, drop_after, slow, hold };

  static constexpr std::string_view injected_500 =
      "HTTP/1.1 500 Internal Server Error\r\n"
      "Content-Type: text/plain\r\n"
      "Content-Length: 14\r\n"
      "\r\n"
      "injected fault";

  /// Runs `work` on the proxy's loop; how it ends does not matter (a closed socket ends it).
  void start(task<> work) {
    statefun::asio::async_run(io_.get_executor(), std::move(work), [](const std::exception_ptr&) {});
  }

  task<> accept() {
    try {
      for (;;) {
        tcp::socket client = co_await acceptor_.async_accept(use_task);
        client.set_option(tcp::no_delay(true));
        start(serve(std::move(client)));
      }
    } catch (const std::system_error&) {
      // The acceptor was closed: the proxy is stopping.
    }
  }

  /// Keeps `socket` on the list the destructor closes, while it lives.
  class registered {
   public:
    registered(std::set<tcp::socket*>& open, tcp::socket& socket) : open_(open), socket_(&socket) {
      open_.insert(socket_);
    }
    registered(const registered&) = delete;
    registered& operator=(const registered&) = delete;
    ~registered() { open_.erase(socket_); }

   private:
    std::set<tcp::socket*>& open_;
    tcp::socket* socket_;
  };

  /// One connection of the runtime's, with a connection of its own to the function server.
  task<> serve(tcp::socket client) {
    tcp::socket upstream(io_);
    const registered client_registered(open_, client);
    const registered upstream_registered(open_, upstream);
    std::string from_client;
    std::string from_upstream;
    try {
      co_await upstream.async_connect(upstream_, use_task);
      upstream.set_option(tcp::no_delay(true));
      for (;;) {
        const std::string request = co_await read_message(client, from_client);
        ++requests_;
        const fault f = pick();
        if (f == fault::status_500) {
          ++status_500_;
          co_await ::asio::async_write(client, ::asio::buffer(injected_500), use_task);
          continue;
        }
        if (f == fault::drop_before) {
          ++drop_before_;
          co_return;  // both sockets close here
        }
        co_await ::asio::async_write(upstream, ::asio::buffer(request), use_task);
        const std::string answer = co_await read_message(upstream, from_upstream);
        if (f == fault::drop_after) {
          ++drop_after_;
          co_return;
        }
        if (f == fault::hold) {
          ++held_;
          // Wait for the client to give up: its read timeout closes the connection (EOF).
          char byte = 0;
          co_await client.async_read_some(::asio::buffer(&byte, 1), use_task);
          co_return;
        }
        if (f == fault::slow) {
          ++slow_;
          ::asio::steady_timer later(io_, rates_.slow_by);
          co_await later.async_wait(use_task);
        }
        co_await ::asio::async_write(client, ::asio::buffer(answer), use_task);
        ++answered_;
      }
    } catch (const std::system_error&) {
      // A peer closed its connection (or the proxy is stopping): this exchange is over.
    }
  }

  /// Picks the fault for the next request (on the proxy's thread only).
  fault pick() {
    double x = std::uniform_real_distribution<double>(0.0, 1.0)(random_);
    const std::pair<fault, double> table[] = {
        {fault::status_500, rates_.status_500},
        {fault::drop_before, rates_.drop_before},
        {fault::drop_after, rates_.drop_after},
        {fault::slow, rates_.slow},
        {fault::hold, held_.load() < rates_.max_holds ? rates_.hold : 0.0},
    };
    for (const auto& [f, p] : table) {
      if (x < p) {
        return f;
      }
      x -= p;
    }
    return fault::none;
  }

  /// One HTTP message (head and `Content-Length` body) from `socket`; `buffer` keeps what
  /// arrived beyond it.
  static task<std::string> read_message(tcp::socket& socket, std::string& buffer) {
    std::size_t head_end = 0;
    while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
      co_await read_more(socket, buffer);
    }
    head_end += 4;
    const std::size_t total = head_end + content_length(std::string_view(buffer).substr(0, head_end));
    while (buffer.size() < total) {
      co_await read_more(socket, buffer);
    }
    std::string message = buffer.substr(0, total);
    buffer.erase(0, total);
    co_return message;
  }

  static task<> read_more(tcp::socket& socket, std::string& buffer) {
    char chunk[16384];
    const std::size_t n = co_await socket.async_read_some(::asio::buffer(chunk), use_task);
    buffer.append(chunk, n);
  }

  static std::size_t content_length(std::string_view head) {
    std::string lower(head);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const std::size_t at = lower.find("\r\ncontent-length:");
    if (at == std::string::npos) {
      return 0;
    }
    std::size_t length = 0;
    for (std::size_t i = at + 17; i < lower.size(); ++i) {
      if (lower[i] >= '0' && lower[i] <= '9') {
        length = length * 10 + static_cast<std::size_t>(lower[i] - '0');
      } else if (lower[i] != ' ' && lower[i] != '\t') {
        break;
      }
    }
    return length;
  }

  fault_rates rates_;
  std::mt19937_64 random_;
  // The event loop goes first: it is destroyed last, after the sockets that use it.
  ::asio::io_context io_{1};
  tcp::endpoint upstream_;
  tcp::acceptor acceptor_;
  std::uint16_t port_;
  std::set<tcp::socket*> open_;  // on the proxy's thread only
  std::thread thread_;

  std::atomic<std::uint64_t> requests_{0};
  std::atomic<std::uint64_t> answered_{0};
  std::atomic<std::uint64_t> status_500_{0};
  std::atomic<std::uint64_t> drop_before_{0};
  std::atomic<std::uint64_t> drop_after_{0};
  std::atomic<std::uint64_t> slow_{0};
  std::atomic<std::uint64_t> held_{0};
};

}  // namespace statefun::test::smoke
