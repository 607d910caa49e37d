#pragma once

// The merchant-score service (merchant_score_service.py) as a child process on a free loopback
// port, for the simulator and the tests: started with python3, ready once it prints the port it
// listens on, killed when the object goes.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

extern char** environ;  // POSIX has programs declare it themselves

namespace fraud {

class score_service_process {
 public:
  /// Starts `python3 script --host 127.0.0.1 --port 0 options...` and waits until it listens.
  /// @throws std::runtime_error if it cannot start, or ends or stays silent instead.
  explicit score_service_process(const std::string& script, const std::vector<std::string>& options = {}) {
    std::vector<std::string> argv{"python3", script, "--host", "127.0.0.1", "--port", "0"};
    argv.insert(argv.end(), options.begin(), options.end());
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) {
      throw std::system_error(errno, std::generic_category(), "pipe2");
    }
    pid_ = spawn(std::move(argv), out[1]);
    ::close(out[1]);
    try {
      port_ = read_port(out[0]);
    } catch (...) {
      ::close(out[0]);
      stop();
      throw;
    }
    ::close(out[0]);  // it prints nothing more
  }

  score_service_process(const score_service_process&) = delete;
  score_service_process& operator=(const score_service_process&) = delete;

  ~score_service_process() { stop(); }

  /// Where it listens: "http://127.0.0.1:PORT".
  [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  /// Kills it (the service keeps nothing worth a graceful stop) and waits until it is gone.
  void stop() noexcept {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
      }
      pid_ = -1;
    }
  }

 private:
  /// How long the service may take to start before we give up on it.
  static constexpr std::chrono::seconds start_guard{30};
  static constexpr std::string_view ready_line = "merchant-score service listening on port ";

  static ::pid_t spawn(std::vector<std::string> argv, int out) {
    std::vector<char*> args;
    for (std::string& arg : argv) {
      args.push_back(arg.data());
    }
    args.push_back(nullptr);
    ::posix_spawn_file_actions_t actions;
    ::posix_spawn_file_actions_init(&actions);
    ::posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    ::posix_spawn_file_actions_adddup2(&actions, out, 1);
    ::pid_t pid = -1;
    const int error = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
    ::posix_spawn_file_actions_destroy(&actions);
    if (error != 0) {
      throw std::system_error(error, std::generic_category(), "cannot start python3 " + argv[1]);
    }
    return pid;
  }

  /// Reads the service's stdout up to its first line, which names the port.
  static std::uint16_t read_port(int fd) {
    const auto deadline = std::chrono::steady_clock::now() + start_guard;
    std::string line;
    while (!line.ends_with('\n')) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      ::pollfd ready{fd, POLLIN, 0};
      const int n = ::poll(&ready, 1, static_cast<int>(std::max<std::int64_t>(left.count(), 0)));
      if (n == 0) {
        throw std::runtime_error("the merchant-score service did not start within 30 s");
      }
      char chunk[256];
      const ::ssize_t got = n < 0 ? -1 : ::read(fd, chunk, sizeof chunk);
      if (got < 0 && errno != EINTR) {
        throw std::system_error(errno, std::generic_category(), "reading the merchant-score service's output");
      }
      if (got == 0) {
        throw std::runtime_error("the merchant-score service ended before listening (its error is above)");
      }
      line.append(chunk, static_cast<std::size_t>(std::max<::ssize_t>(got, 0)));
    }
    if (!line.starts_with(ready_line)) {
      throw std::runtime_error("the merchant-score service said \"" + line.substr(0, line.size() - 1) +
                               "\" instead of its port");
    }
    return static_cast<std::uint16_t>(std::stoi(line.substr(ready_line.size())));
  }

  ::pid_t pid_ = -1;
  std::uint16_t port_ = 0;
};

}  // namespace fraud
