#pragma once

// The load generator of `statefun-local bench`: keeps N keep-alive HTTP/1.1 connections busy
// with prepared requests, on T threads with an event loop each, at full speed or at a target
// rate, and checks every response as the runtime would (status 200, Content-Type
// application/octet-stream, a body that decodes as a FromFunction).
//
// The hot path is callbacks on plain sockets: no coroutine frames, no allocation per request
// once buffers have grown. At a target rate each connection has a schedule, and latency runs
// from the scheduled send time, so that a stalled server is not hidden by requests that were
// never sent ("coordinated omission", as wrk2 corrects it).

#include <statefun/codec/from_function.hpp>
#include <statefun/detail/http_grammar.hpp>
#include <statefun/http/response_parser.hpp>

#include <asio/buffer.hpp>
#include <asio/connect.hpp>
#include <asio/generic/stream_protocol.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include "latency_histogram.hpp"

namespace statefun_local {

using load_clock = std::chrono::steady_clock;

/// What to send, where, and for how long.
struct load_plan {
  asio::generic::stream_protocol::endpoint endpoint;
  bool tcp = true;                      ///< sets TCP_NODELAY, as the runtime's clients do
  std::vector<std::string> requests{};  ///< complete HTTP requests, sent round-robin
  std::size_t invocations_per_request = 1;
  std::size_t connections = 32;
  std::size_t threads = 1;
  double rate = 0;  ///< requests per second over all connections; 0: as fast as answers come
  load_clock::duration warmup{};
  load_clock::duration duration{std::chrono::seconds{10}};
  std::uint64_t max_requests = 0;  ///< stop after this many measured responses (0: by duration)
  load_clock::duration timeout{std::chrono::seconds{10}};
};

/// What the measured window saw.
struct load_result {
  double seconds = 0;          ///< the measured window
  std::uint64_t responses = 0;  ///< measured responses that passed every check
  std::uint64_t failed = 0;     ///< measured responses or exchanges that did not
  std::map<std::string, std::uint64_t> errors{};  ///< failures by kind (warm-up included)
  std::uint64_t reconnects = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
  latency_histogram latency{};  ///< of the responses that passed
};

namespace detail {

/// How the runtime would judge a response; empty when it accepts it.
inline std::string_view judge(const statefun::http::response_parser& response,
                              statefun::codec::from_function_view& decoded) {
  if (response.status_code() != 200) {
    return "status other than 200";
  }
  const auto type = response.header("Content-Type");
  // The async transport's rule: the type anywhere in the field's comma-separated list.
  if (!type || !statefun::detail::http1::list_contains(*type, "application/octet-stream")) {
    return "Content-Type other than application/octet-stream";
  }
  if (!decoded.decode(response.body())) {
    return "body is not a FromFunction";
  }
  if (decoded.incomplete) {
    return "missing states (incomplete_invocation_context)";
  }
  return {};
}

class load_thread;

/// One connection: write a request, read its response, check it, record it, again.
class load_connection {
 public:
  load_connection(load_thread& thread, std::size_t index, load_clock::duration offset);

  void start() { connect(); }

  /// The sweeper's view: true if a request has been out longer than the timeout.
  [[nodiscard]] bool overdue(load_clock::time_point now, load_clock::duration timeout) const noexcept {
    return busy_ && now - sent_at_ > timeout;
  }
  void close_for_timeout();

 private:
  void connect();
  void on_connected(const std::error_code& ec);
  void send_next();
  void send();
  void read();
  void on_read(const std::error_code& ec, std::size_t n);
  void finish_response();
  void fail_connection(std::string_view what, const std::error_code& ec);

  load_thread& thread_;
  asio::generic::stream_protocol::socket socket_;
  asio::steady_timer timer_;
  statefun::http::response_parser parser_;
  statefun::codec::from_function_view decoded_;
  std::vector<char> buffer_ = std::vector<char>(16 * 1024);
  std::size_t filled_ = 0;
  std::size_t next_request_;
  load_clock::time_point due_{};      // when the current request was scheduled (rate mode)
  load_clock::time_point sent_at_{};  // when it was written
  load_clock::duration interval_{};
  bool busy_ = false;
  bool timed_out_ = false;
};

/// One thread: an event loop, its connections, their results, and a sweeper for timeouts.
class load_thread {
 public:
  load_thread(const load_plan& plan, std::size_t first_connection, std::size_t connections,
              std::atomic<std::uint64_t>& measured, load_clock::time_point start)
      : plan_(plan), measured_(measured), start_(start), sweeper_(io_) {
    const auto interval = plan.rate > 0 ? std::chrono::duration_cast<load_clock::duration>(
                                              std::chrono::duration<double>(static_cast<double>(plan.connections) / plan.rate))
                                        : load_clock::duration{};
    for (std::size_t i = 0; i < connections; ++i) {
      const std::size_t index = first_connection + i;
      // Staggered, so that the connections' schedules interleave evenly.
      const auto offset = plan.connections == 0 ? load_clock::duration{}
                                                : interval * static_cast<long>(index) / static_cast<long>(plan.connections);
      connections_.push_back(std::make_unique<load_connection>(*this, index, offset));
    }
  }

  void run() {
    for (auto& c : connections_) {
      c->start();
    }
    sweep();
    io_.run();
  }

  asio::io_context& io() noexcept { return io_; }
  const load_plan& plan() const noexcept { return plan_; }
  load_clock::time_point start() const noexcept { return start_; }
  load_clock::time_point measure_from() const noexcept { return start_ + plan_.warmup; }
  load_result& result() noexcept { return result_; }
  load_clock::time_point last_measured() const noexcept { return last_measured_; }

  /// True once no request should be sent any more.
  bool done(load_clock::time_point now) const noexcept {
    if (plan_.max_requests > 0) {
      return measured_.load(std::memory_order_relaxed) >= plan_.max_requests;
    }
    return now >= measure_from() + plan_.duration;
  }

  /// Counts a response that passed; only those inside the window are measured.
  void passed(load_clock::time_point begin, load_clock::time_point end) {
    if (!in_window(end)) {
      return;
    }
    if (plan_.max_requests > 0 && measured_.fetch_add(1, std::memory_order_relaxed) >= plan_.max_requests) {
      return;  // another thread took the last one
    }
    ++result_.responses;
    result_.latency.record(static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(end - begin).count()));
    last_measured_ = std::max(last_measured_, end);
  }

  void failed(std::string_view kind, load_clock::time_point when) {
    ++result_.errors[std::string(kind)];
    if (in_window(when)) {
      ++result_.failed;
    }
  }

  void connection_closed() {
    if (--open_ == 0 && done(load_clock::now())) {
      sweeper_.cancel();
    }
  }
  void connection_opened() { ++open_; }

 private:
  bool in_window(load_clock::time_point t) const noexcept {
    return t >= measure_from() && (plan_.max_requests > 0 || t < measure_from() + plan_.duration);
  }

  /// Every 10 ms: closes connections whose request is overdue; ends when they are all done.
  void sweep() {
    sweeper_.expires_after(std::chrono::milliseconds{10});
    sweeper_.async_wait([this](const std::error_code& ec) {
      if (ec) {
        return;
      }
      const auto now = load_clock::now();
      for (auto& c : connections_) {
        if (c->overdue(now, plan_.timeout)) {
          c->close_for_timeout();
        }
      }
      if (open_ > 0 || !done(now)) {
        sweep();
      }
    });
  }

  const load_plan& plan_;
  std::atomic<std::uint64_t>& measured_;
  load_clock::time_point start_;
  asio::io_context io_{1};
  asio::steady_timer sweeper_;
  std::vector<std::unique_ptr<load_connection>> connections_;
  load_result result_;
  load_clock::time_point last_measured_{};
  std::size_t open_ = 0;
};

inline load_connection::load_connection(load_thread& thread, std::size_t index, load_clock::duration offset)
    : thread_(thread),
      socket_(thread.io()),
      timer_(thread.io()),
      next_request_(index % thread.plan().requests.size()) {
  if (thread.plan().rate > 0) {
    interval_ = std::chrono::duration_cast<load_clock::duration>(
        std::chrono::duration<double>(static_cast<double>(thread.plan().connections) / thread.plan().rate));
    due_ = thread.start() + offset;
  }
}

inline void load_connection::connect() {
  if (thread_.done(load_clock::now())) {
    return;
  }
  thread_.connection_opened();
  socket_.async_connect(thread_.plan().endpoint, [this](const std::error_code& ec) { on_connected(ec); });
}

inline void load_connection::on_connected(const std::error_code& ec) {
  if (ec) {
    thread_.connection_closed();
    thread_.failed("connect: " + ec.message(), load_clock::now());
    // Try again a little later rather than spin on a refusing endpoint.
    timer_.expires_after(std::chrono::milliseconds{100});
    timer_.async_wait([this](const std::error_code& e) {
      if (!e) {
        connect();
      }
    });
    return;
  }
  if (thread_.plan().tcp) {
    socket_.set_option(asio::ip::tcp::no_delay(true));
  }
  send_next();
}

inline void load_connection::send_next() {
  const auto now = load_clock::now();
  if (thread_.done(now)) {
    std::error_code ignored;
    socket_.close(ignored);
    thread_.connection_closed();
    return;
  }
  if (interval_ == load_clock::duration{} || due_ <= now) {
    send();
    return;
  }
  timer_.expires_at(due_);
  timer_.async_wait([this](const std::error_code& ec) {
    if (!ec) {
      send();
    }
  });
}

inline void load_connection::send() {
  const std::string& request = thread_.plan().requests[next_request_];
  next_request_ = (next_request_ + 1) % thread_.plan().requests.size();
  sent_at_ = load_clock::now();
  busy_ = true;
  asio::async_write(socket_, asio::buffer(request), [this](const std::error_code& ec, std::size_t n) {
    if (ec) {
      fail_connection("write", ec);
      return;
    }
    thread_.result().bytes_sent += n;
    read();
  });
}

inline void load_connection::read() {
  if (filled_ == buffer_.size()) {
    buffer_.resize(buffer_.size() * 2);
  }
  socket_.async_read_some(asio::buffer(buffer_.data() + filled_, buffer_.size() - filled_),
                          [this](const std::error_code& ec, std::size_t n) { on_read(ec, n); });
}

inline void load_connection::on_read(const std::error_code& ec, std::size_t n) {
  if (ec) {
    fail_connection(ec == asio::error::eof ? "read: the endpoint closed the connection" : "read", ec);
    return;
  }
  thread_.result().bytes_received += n;
  filled_ += n;
  switch (parser_.parse(std::span<char>(buffer_.data(), filled_))) {
    case statefun::http::parse_status::need_more:
      read();
      return;
    case statefun::http::parse_status::failed:
      thread_.failed("malformed HTTP response: " + std::string(parser_.error().reason), load_clock::now());
      fail_connection({}, {});
      return;
    case statefun::http::parse_status::complete:
      finish_response();
      return;
  }
}

inline void load_connection::finish_response() {
  const auto now = load_clock::now();
  busy_ = false;
  const std::string_view problem = judge(parser_, decoded_);
  if (problem.empty()) {
    thread_.passed(interval_ == load_clock::duration{} ? sent_at_ : due_, now);
  } else {
    thread_.failed(problem, now);
  }
  const bool keep_alive = parser_.keep_alive();
  const std::size_t used = parser_.message_size();
  std::copy(buffer_.begin() + static_cast<std::ptrdiff_t>(used), buffer_.begin() + static_cast<std::ptrdiff_t>(filled_),
            buffer_.begin());
  filled_ -= used;
  parser_.reset();
  due_ += interval_;
  if (!keep_alive) {
    ++thread_.result().reconnects;
    std::error_code ignored;
    socket_.close(ignored);
    thread_.connection_closed();
    filled_ = 0;
    connect();
    return;
  }
  send_next();
}

inline void load_connection::close_for_timeout() {
  timed_out_ = true;
  std::error_code ignored;
  socket_.close(ignored);  // the pending read completes with operation_aborted
}

inline void load_connection::fail_connection(std::string_view what, const std::error_code& ec) {
  const auto now = load_clock::now();
  if (timed_out_) {
    thread_.failed("timeout: no answer within the timeout", now);
  } else if (!what.empty() && !thread_.done(now)) {
    thread_.failed(std::string(what) + ": " + ec.message(), now);
  }
  timed_out_ = false;
  busy_ = false;
  std::error_code ignored;
  socket_.close(ignored);
  thread_.connection_closed();
  filled_ = 0;
  parser_.reset();
  ++thread_.result().reconnects;
  socket_ = asio::generic::stream_protocol::socket(thread_.io());
  connect();
}

}  // namespace detail

/// Runs `plan` on its threads and returns what they measured together.
inline load_result generate_load(const load_plan& plan) {
  std::atomic<std::uint64_t> measured{0};
  const auto start = load_clock::now();
  std::vector<std::unique_ptr<detail::load_thread>> threads;
  const std::size_t thread_count = std::max<std::size_t>(1, std::min(plan.threads, plan.connections));
  for (std::size_t t = 0, first = 0; t < thread_count; ++t) {
    const std::size_t count = plan.connections / thread_count + (t < plan.connections % thread_count ? 1 : 0);
    threads.push_back(std::make_unique<detail::load_thread>(plan, first, count, measured, start));
    first += count;
  }
  std::vector<std::thread> running;
  for (std::size_t t = 1; t < threads.size(); ++t) {
    running.emplace_back([&thread = *threads[t]] { thread.run(); });
  }
  threads.front()->run();
  for (auto& t : running) {
    t.join();
  }

  load_result total;
  load_clock::time_point last{};
  for (const auto& t : threads) {
    const load_result& r = t->result();
    total.responses += r.responses;
    total.failed += r.failed;
    for (const auto& [kind, count] : r.errors) {
      total.errors[kind] += count;
    }
    total.reconnects += r.reconnects;
    total.bytes_sent += r.bytes_sent;
    total.bytes_received += r.bytes_received;
    total.latency.merge(r.latency);
    last = std::max(last, t->last_measured());
  }
  const auto window = plan.max_requests > 0 ? std::max(last - (start + plan.warmup), load_clock::duration{}) : plan.duration;
  total.seconds = std::chrono::duration<double>(window).count();
  return total;
}

}  // namespace statefun_local
