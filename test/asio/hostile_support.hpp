#pragma once

// What the hostile-client tests share: blocking reads bounded by a generous safety guard (a
// server that never answers fails the test instead of hanging it; the bound is never what the
// test measures), and test_server run as a child whose stdout and stderr are pipes the test
// reads, or leaves unread.

#include <statefun/http/response_parser.hpp>

#include <asio/error.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/write.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "support/process.hpp"

namespace statefun::test {

/// Far longer than anything the tests wait for on a healthy server.
inline constexpr std::chrono::milliseconds safety_bound = std::chrono::seconds(20);

/// Whether `fd` has something to read (bytes, EOF, an error) within `bound`.
inline bool readable_within(int fd, std::chrono::milliseconds bound) {
  ::pollfd ready{fd, POLLIN, 0};
  const auto deadline = std::chrono::steady_clock::now() + bound;
  for (;;) {
    const int n = ::poll(&ready, 1, detail::milliseconds_until(deadline));
    if (n >= 0) {
      return n > 0;
    }
    if (errno != EINTR) {
      throw std::system_error(errno, std::generic_category(), "poll");
    }
  }
}

/// How a server answered a client: a response, or a close (EOF or reset) before any.
struct answer {
  std::optional<int> status;  ///< the response's status; nullopt: closed without one
  std::string body;
};

/**
 * Reads one response on `socket`, or the close that comes instead.
 * @throws std::runtime_error Neither came within `bound` (the server left the client waiting).
 */
inline answer receive_or_close(::asio::ip::tcp::socket& socket,
                               std::chrono::milliseconds bound = safety_bound) {
  http::response_parser parser;
  std::string buffer;
  const auto deadline = std::chrono::steady_clock::now() + bound;
  for (;;) {
    if (!buffer.empty()) {
      const auto status = parser.parse(std::span(buffer.data(), buffer.size()));
      if (status == http::parse_status::complete) {
        return {parser.status_code(), std::string(parser.body())};
      }
      if (status == http::parse_status::failed) {
        throw std::runtime_error("the server's response does not parse: " + std::string(parser.error().reason));
      }
    }
    if (!readable_within(socket.native_handle(), std::chrono::duration_cast<std::chrono::milliseconds>(
                                                      deadline - std::chrono::steady_clock::now()))) {
      throw std::runtime_error("the server neither answered nor closed within the safety bound");
    }
    char chunk[65536];
    std::error_code error;
    const std::size_t n = socket.read_some(::asio::buffer(chunk), error);
    if (error) {
      return {};  // EOF or reset before a whole response
    }
    buffer.append(chunk, n);
  }
}

/**
 * Reads until the server closes the connection (what arrives is dropped).
 * @return False if it did not close within `bound`.
 */
inline bool closed_within(::asio::ip::tcp::socket& socket, std::chrono::milliseconds bound = safety_bound) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  for (;;) {
    if (!readable_within(socket.native_handle(), std::chrono::duration_cast<std::chrono::milliseconds>(
                                                      deadline - std::chrono::steady_clock::now()))) {
      return false;
    }
    char chunk[4096];
    std::error_code error;
    socket.read_some(::asio::buffer(chunk), error);
    if (error) {
      return error == ::asio::error::eof || error == ::asio::error::connection_reset;
    }
  }
}

/**
 * test_server (or another program) in the background with its stdout and stderr on pipes: the
 * test reads stdout line by line, and reads stderr or leaves it unread (`read_stderr` false:
 * a log pipe nobody drains). Killed and reaped on destruction if not waited for.
 */
class piped_child {
 public:
  explicit piped_child(const std::vector<std::string>& argv, bool read_stderr = true) {
    detail::pipe_ends out = detail::make_pipe();
    detail::pipe_ends err = detail::make_pipe();
    if (!read_stderr) {
      // As small as a pipe gets (one page): a few lines fill it.
      (void)::fcntl(err.write.get(), F_SETPIPE_SZ, 4096);
    }
    pid_ = detail::spawn(argv, out.write.get(), err.write.get(), false);
    out_ = std::move(out.read);
    err_ = std::move(err.read);
  }

  piped_child(const piped_child&) = delete;
  piped_child& operator=(const piped_child&) = delete;

  ~piped_child() {
    if (!status_) {
      detail::kill_and_reap(pid_);
    }
  }

  /// Reads stdout until a line starting with `prefix`; returns it.
  std::string wait_for_line(std::string_view prefix) {
    return wait_for(out_, out_text_, prefix);
  }

  /// Reads stderr until a line containing `text`; returns it.
  std::string wait_for_stderr(std::string_view text) { return wait_for(err_, err_text_, text, true); }

  void signal(int signal) { ::kill(pid_, signal); }

  /// Waits for the child to end (bounded), reading stdout to its end; stderr is left as it is.
  exit_status wait() {
    const auto deadline = std::chrono::steady_clock::now() + safety_bound;
    try {
      while (out_ && detail::read_some(out_.get(), out_text_, deadline)) {
      }
    } catch (const std::runtime_error&) {
      detail::kill_and_reap(pid_);
      status_ = exit_status::killed_by(SIGKILL);
      throw;
    }
    status_ = detail::reap(pid_);
    return *status_;
  }

 private:
  static std::string wait_for(detail::file_descriptor& fd, std::string& text, std::string_view wanted,
                              bool anywhere = false) {
    const auto deadline = std::chrono::steady_clock::now() + safety_bound;
    for (;;) {
      std::size_t start = 0;
      for (std::size_t end = text.find('\n'); end != std::string::npos; end = text.find('\n', start)) {
        std::string line = text.substr(start, end - start);
        start = end + 1;
        if (anywhere ? line.find(wanted) != std::string::npos : line.starts_with(wanted)) {
          text.erase(0, start);
          return line;
        }
      }
      text.erase(0, start);
      if (!fd || !detail::read_some(fd.get(), text, deadline)) {
        throw std::runtime_error("the child's output ended before \"" + std::string(wanted) + "\"");
      }
    }
  }

  ::pid_t pid_ = -1;
  detail::file_descriptor out_;
  detail::file_descriptor err_;
  std::string out_text_;
  std::string err_text_;
  std::optional<exit_status> status_;
};

}  // namespace statefun::test
