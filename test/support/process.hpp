#pragma once

// Real processes in tests: run a program to completion and capture what it prints, or start one
// in the background, read its stdout line by line, signal it and collect its exit status; and a
// temporary directory that removes itself.
//
// Programs are started with posix_spawn, never through a shell: each argument reaches the
// program as it is. Nothing sleeps: reads block in poll(2) until output arrives, bounded by a
// generous hang guard, so a child that hangs fails its test instead of hanging the suite.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

extern char** environ;  // POSIX has programs declare it themselves

namespace statefun::test {

/// How long a child may take to print or finish before the test gives up on it (and kills it).
inline constexpr std::chrono::milliseconds hang_guard = std::chrono::seconds(60);

/// How a process ended: its exit code, or the signal that killed it.
struct exit_status {
  int code = -1;   ///< the exit code when it exited, -1 otherwise
  int signal = 0;  ///< the signal that killed it, 0 when it exited

  static exit_status exited_with(int code) { return {code, 0}; }
  static exit_status killed_by(int signal) { return {-1, signal}; }

  bool operator==(const exit_status&) const = default;

  /// Read by doctest to print a failed CHECK(status == exit_status::exited_with(0)).
  friend std::ostream& operator<<(std::ostream& out, const exit_status& status) {
    if (status.signal != 0) {
      return out << "killed by signal " << status.signal << " (" << ::strsignal(status.signal) << ")";
    }
    return out << "exit " << status.code;
  }
};

namespace detail {

/// A file descriptor that closes itself.
class file_descriptor {
 public:
  file_descriptor() = default;
  explicit file_descriptor(int fd) noexcept : fd_(fd) {}
  file_descriptor(file_descriptor&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  file_descriptor& operator=(file_descriptor&& other) noexcept {
    reset(std::exchange(other.fd_, -1));
    return *this;
  }
  ~file_descriptor() { reset(); }

  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }

  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) {
      ::close(fd_);
    }
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

/// A pipe whose ends close on exec (the child gets only what it is handed as stdout/stderr).
struct pipe_ends {
  file_descriptor read;
  file_descriptor write;
};

inline pipe_ends make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    throw std::system_error(errno, std::generic_category(), "pipe2");
  }
  return {file_descriptor(fds[0]), file_descriptor(fds[1])};
}

inline std::string command_line(const std::vector<std::string>& argv) {
  std::string line;
  for (const std::string& arg : argv) {
    line += (line.empty() ? "" : " ") + arg;
  }
  return line;
}

/**
 * Starts `argv` (argv[0] is looked up in PATH if it has no '/') with stdin on `input`, stdout
 * on `out` and stderr on `err` (-1: the test's own). Signals the child needs to see with their
 * default meaning (SIGINT, SIGTERM, SIGPIPE...) are reset and none is blocked, whatever the
 * test process did with them. With `new_session` the child has no controlling terminal: a
 * program that would prompt there (OpenSSL asking for a passphrase) cannot wait for a person.
 */
inline ::pid_t spawn(const std::vector<std::string>& argv, int out, int err, bool new_session,
                     const std::string& input = "/dev/null") {
  if (argv.empty()) {
    throw std::invalid_argument("spawn: no program");
  }
  std::vector<char*> args;
  for (const std::string& arg : argv) {
    args.push_back(const_cast<char*>(arg.c_str()));  // posix_spawn's signature; it does not write
  }
  args.push_back(nullptr);

  ::posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_addopen(&actions, 0, input.c_str(), O_RDONLY, 0);
  ::posix_spawn_file_actions_adddup2(&actions, out, 1);
  if (err >= 0) {
    ::posix_spawn_file_actions_adddup2(&actions, err, 2);
  }
  ::posix_spawnattr_t attributes;
  ::posix_spawnattr_init(&attributes);
  ::sigset_t none;
  ::sigemptyset(&none);
  ::posix_spawnattr_setsigmask(&attributes, &none);
  ::sigset_t defaults;
  ::sigemptyset(&defaults);
  for (const int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGCHLD}) {
    ::sigaddset(&defaults, s);
  }
  ::posix_spawnattr_setsigdefault(&attributes, &defaults);
  ::posix_spawnattr_setflags(&attributes,
                             static_cast<short>(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                                (new_session ? POSIX_SPAWN_SETSID : 0)));

  ::pid_t pid = -1;
  const int error = ::posix_spawnp(&pid, args[0], &actions, &attributes, args.data(), environ);
  ::posix_spawnattr_destroy(&attributes);
  ::posix_spawn_file_actions_destroy(&actions);
  if (error != 0) {
    throw std::system_error(error, std::generic_category(), "cannot start " + command_line(argv));
  }
  return pid;
}

/// Reaps `pid` (blocking: call once it has exited or was killed).
inline exit_status reap(::pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      throw std::system_error(errno, std::generic_category(), "waitpid");
    }
  }
  if (WIFSIGNALED(status)) {
    return exit_status::killed_by(WTERMSIG(status));
  }
  return exit_status::exited_with(WEXITSTATUS(status));
}

/// Kills and reaps a child the test gives up on.
inline void kill_and_reap(::pid_t pid) noexcept {
  ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

/// Milliseconds left until `deadline`, for poll(2).
inline int milliseconds_until(std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

/**
 * Reads what is available on `fd` into `into`, waiting at most until `deadline`.
 * @return False at end of file.
 * @throws std::runtime_error Nothing arrived before `deadline`.
 */
inline bool read_some(int fd, std::string& into, std::chrono::steady_clock::time_point deadline) {
  ::pollfd ready{fd, POLLIN, 0};
  for (;;) {
    const int n = ::poll(&ready, 1, milliseconds_until(deadline));
    if (n > 0) {
      break;
    }
    if (n == 0) {
      throw std::runtime_error("the child printed nothing more within the hang guard");
    }
    if (errno != EINTR) {
      throw std::system_error(errno, std::generic_category(), "poll");
    }
  }
  char chunk[4096];
  for (;;) {
    const ::ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n >= 0) {
      into.append(chunk, static_cast<std::size_t>(n));
      return n > 0;
    }
    if (errno != EINTR) {
      throw std::system_error(errno, std::generic_category(), "read");
    }
  }
}

}  // namespace detail

/// What a finished program printed, and how it ended.
struct run_result {
  exit_status status;
  std::string out;
  std::string err;
};

/**
 * Runs `argv` to completion and captures its stdout and stderr. It runs in a session of its
 * own, without a controlling terminal, so that nothing it does can wait for someone to type;
 * its stdin is the file `input`.
 * @throws std::runtime_error It ran longer than `bound` (it is killed).
 * @throws std::system_error It could not be started.
 */
inline run_result run(const std::vector<std::string>& argv,
                      std::chrono::milliseconds bound = hang_guard,
                      const std::string& input = "/dev/null") {
  detail::pipe_ends out = detail::make_pipe();
  detail::pipe_ends err = detail::make_pipe();
  const ::pid_t pid = detail::spawn(argv, out.write.get(), err.write.get(), true, input);
  out.write.reset();
  err.write.reset();

  run_result result;
  const auto deadline = std::chrono::steady_clock::now() + bound;
  // Both pipes at once: a child that fills one while we block on the other would deadlock.
  while (out.read || err.read) {
    ::pollfd fds[2] = {{out.read.get(), POLLIN, 0}, {err.read.get(), POLLIN, 0}};
    const int n = ::poll(fds, 2, detail::milliseconds_until(deadline));
    if (n == 0) {
      detail::kill_and_reap(pid);
      throw std::runtime_error(detail::command_line(argv) + " did not finish within " +
                               std::to_string(bound.count()) + " ms; stderr so far: " + result.err);
    }
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      detail::kill_and_reap(pid);
      throw std::system_error(errno, std::generic_category(), "poll");
    }
    // (poll ignores the negative descriptors of pipes already at end of file.)
    if (fds[0].revents != 0 && !detail::read_some(out.read.get(), result.out, deadline)) {
      out.read.reset();
    }
    if (fds[1].revents != 0 && !detail::read_some(err.read.get(), result.err, deadline)) {
      err.read.reset();
    }
  }
  result.status = detail::reap(pid);
  return result;
}

/**
 * A program running in the background while the test talks to it. Its stdout is a pipe the
 * test reads line by line (so the program can say when it is ready); its stderr is the test's
 * own, so that whatever it reports (a sanitizer, say) lands in the test log.
 *
 * A child that the test did not `wait` for is killed (SIGKILL) and reaped on destruction.
 */
class child {
 public:
  explicit child(std::vector<std::string> argv) : argv_(std::move(argv)) {
    detail::pipe_ends out = detail::make_pipe();
    // (In the test's session: should the test be interrupted from its terminal, so is the child.)
    pid_ = detail::spawn(argv_, out.write.get(), -1, false);
    out_ = std::move(out.read);
  }

  child(const child&) = delete;
  child& operator=(const child&) = delete;

  ~child() {
    if (!status_) {
      detail::kill_and_reap(pid_);
    }
  }

  ::pid_t pid() const noexcept { return pid_; }

  /**
   * The next line the child prints, without its '\n'; nullopt once its stdout is closed (and
   * no partial line is left).
   * @throws std::runtime_error No line within `bound`.
   */
  std::optional<std::string> read_line(std::chrono::milliseconds bound = hang_guard) {
    const auto deadline = std::chrono::steady_clock::now() + bound;
    for (;;) {
      if (const auto end = pending_.find('\n'); end != std::string::npos) {
        std::string line = pending_.substr(0, end);
        pending_.erase(0, end + 1);
        return line;
      }
      if (!out_ || !read_more(deadline)) {
        if (pending_.empty()) {
          return std::nullopt;
        }
        return std::exchange(pending_, {});
      }
    }
  }

  /**
   * Reads lines until one starts with `prefix`, and returns that line (earlier ones are
   * dropped).
   * @throws std::runtime_error The child closed its stdout, or took longer than `bound`.
   */
  std::string wait_for_line(std::string_view prefix, std::chrono::milliseconds bound = hang_guard) {
    const auto deadline = std::chrono::steady_clock::now() + bound;
    for (;;) {
      const auto line = read_line(std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now()));
      if (!line) {
        throw std::runtime_error(detail::command_line(argv_) + " ended its output before a line \"" +
                                 std::string(prefix) + "...\"");
      }
      if (line->starts_with(prefix)) {
        return *line;
      }
    }
  }

  /// Sends `signal` to the child.
  void signal(int signal) {
    if (::kill(pid_, signal) != 0) {
      throw std::system_error(errno, std::generic_category(), "kill");
    }
  }

  /**
   * Waits until the child ends: reads its stdout to the end (kept in `rest()`), then reaps it.
   * @throws std::runtime_error It did not end within `bound` (it is then killed).
   */
  exit_status wait(std::chrono::milliseconds bound = hang_guard) {
    if (status_) {
      return *status_;
    }
    const auto deadline = std::chrono::steady_clock::now() + bound;
    try {
      while (out_ && read_more(deadline)) {
      }
    } catch (const std::runtime_error&) {
      detail::kill_and_reap(pid_);
      status_ = exit_status::killed_by(SIGKILL);
      throw std::runtime_error(detail::command_line(argv_) + " did not exit within " +
                               std::to_string(bound.count()) + " ms");
    }
    status_ = detail::reap(pid_);
    return *status_;
  }

  /// What the child printed that no `read_line` returned yet.
  const std::string& rest() const noexcept { return pending_; }

 private:
  /// @return False at end of file (the descriptor is then closed).
  bool read_more(std::chrono::steady_clock::time_point deadline) {
    if (!detail::read_some(out_.get(), pending_, deadline)) {
      out_.reset();
      return false;
    }
    return true;
  }

  std::vector<std::string> argv_;
  ::pid_t pid_ = -1;
  detail::file_descriptor out_;
  std::string pending_;
  std::optional<exit_status> status_;
};

/// A fresh directory under the system's temporary directory, removed with all it holds.
class temp_dir {
 public:
  temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "statefun-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
    }
    path_ = pattern;
  }

  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }

  const std::filesystem::path& path() const noexcept { return path_; }

  /// The path of `name` in the directory.
  std::string operator/(std::string_view name) const { return (path_ / name).string(); }

  /// Writes `bytes` to `name` in the directory and returns its path.
  std::string write(std::string_view name, std::string_view bytes) const {
    const std::string file = *this / name;
    std::ofstream out(file, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) {
      throw std::runtime_error("cannot write " + file);
    }
    return file;
  }

 private:
  std::filesystem::path path_;
};

/// The bytes of the file at `path`.
inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error("cannot read " + path);
  }
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace statefun::test
