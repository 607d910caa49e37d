// The server's log against hostile clients: what a client chose is escaped and cut before it
// reaches a log line or a response body, repeats are counted instead of flooding, and a log
// nobody reads never stops the server.

#include <statefun/asio/detail/log_limiter.hpp>
#include <statefun/asio/detail/log_writer.hpp>
#include <statefun/asio/detail/printable.hpp>
#include <statefun/asio/server.hpp>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "asio/hostile_support.hpp"
#include "asio/server_support.hpp"
#include "support/doctest.hpp"
#include "support/requests.hpp"

using namespace std::chrono_literals;
using namespace std::string_literals;
using statefun::asio::detail::log_limiter;
using statefun::asio::detail::log_writer;
using statefun::asio::detail::printable;
using statefun::test::client;
using statefun::test::running_server;
using statefun::test::runtime_post;
using statefun::test::test_functions;

namespace {

/// Whether `text` holds a byte that starts a new line or a terminal escape.
bool has_control_byte(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7F;
  });
}

/// The lines of `log` that contain `text`.
std::vector<std::string> lines_with(const std::vector<std::string>& log, std::string_view text) {
  std::vector<std::string> found;
  for (const std::string& line : log) {
    if (line.find(text) != std::string::npos) {
      found.push_back(line);
    }
  }
  return found;
}

/// A log callback that keeps the lines and sets `seen` when one contains `wanted`.
struct watched_log {
  explicit watched_log(std::string wanted_) : wanted(std::move(wanted_)) {}

  std::function<void(std::string_view)> callback() {
    return [this](std::string_view line) {
      const std::lock_guard lock(mutex);
      lines.emplace_back(line);
      if (line.find(wanted) != std::string_view::npos) {
        seen.set();
      }
    };
  }

  std::vector<std::string> copy() {
    const std::lock_guard lock(mutex);
    return lines;
  }

  std::string wanted;
  std::mutex mutex;
  std::vector<std::string> lines;
  statefun::test::event seen;
};

}  // namespace

TEST_CASE("printable: control bytes, separators, bidi controls and invalid UTF-8 are escaped; the rest is kept") {
  CHECK(printable("plain/name-1") == "plain/name-1");
  CHECK(printable("a\r\nb") == "a\\u{d}\\u{a}b");
  CHECK(printable("\x1b[31mred") == "\\u{1b}[31mred");
  CHECK(printable("back\\slash") == "back\\\\slash");
  CHECK(printable("nul\0here"s) == "nul\\u{0}here");
  CHECK(printable("del\x7f") == "del\\u{7f}");
  CHECK(printable("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80") == "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  CHECK(printable("c1 \xc2\x85") == "c1 \\u{85}");                      // NEL
  CHECK(printable("ls \xe2\x80\xa8") == "ls \\u{2028}");                // line separator
  CHECK(printable("rlo \xe2\x80\xae") == "rlo \\u{202e}");              // right-to-left override
  CHECK(printable("bad \xff\xc3") == "bad \\xff\\xc3");                 // invalid, truncated
  CHECK(printable("overlong \xc0\xaf") == "overlong \\xc0\\xaf");
  CHECK(printable("surrogate \xed\xa0\x80") == "surrogate \\xed\\xa0\\x80");
  CHECK_FALSE(has_control_byte(printable(std::string("\0\1\2\3\4\5\6\7\10\11\12\13\14\15\16\17", 16))));
}

TEST_CASE("printable: a long text is cut in its middle, says its size, and stays bounded") {
  const std::string name = "head-" + std::string(4u << 20, 'n') + "-tail";
  const std::string shown = printable(name, 512);
  CHECK(shown.size() < 600);
  CHECK(shown.starts_with("head-"));
  CHECK(shown.ends_with("-tail"));
  CHECK(shown.find("...(truncated, " + std::to_string(name.size()) + " bytes)...") != std::string::npos);
  // Escaped bytes cost at most 6 characters each: still bounded.
  CHECK(printable(std::string(4u << 20, '\n'), 512).size() < 6 * 512 + 64);
  // A multibyte character is not split at the cut.
  std::string euros;
  for (int i = 0; i < 1000; ++i) {
    euros += "\xe2\x82\xac";
  }
  CHECK(printable(euros, 512).find("\\x") == std::string::npos);
}

TEST_CASE("log_limiter: at most burst lines of a kind per window; the rest are counted in one summary line") {
  using clock = log_limiter::clock;
  log_limiter limiter(3, 10s);
  const clock::time_point start{};
  std::vector<std::string> summaries;
  int admitted = 0;
  for (int i = 0; i < 10; ++i) {
    admitted += limiter.admit("refused", start + std::chrono::milliseconds(i), summaries) ? 1 : 0;
  }
  CHECK(admitted == 3);
  CHECK(limiter.admit("500", start + 1s, summaries));  // another kind has a window of its own
  CHECK(summaries.empty());
  limiter.expire(start + 9s, summaries);
  CHECK(summaries.empty());  // the window is not over
  limiter.expire(start + 10s, summaries);
  REQUIRE(summaries.size() == 1);
  CHECK(summaries[0].find("7 more \"refused\" lines") != std::string::npos);
  summaries.clear();
  CHECK(limiter.admit("refused", start + 11s, summaries));  // a new window
  CHECK(summaries.empty());
  limiter.expire(start + 30s, summaries);
  CHECK(summaries.empty());  // nothing was left out of the second window
}

TEST_CASE("log_writer: a descriptor nobody reads never blocks write; lines beyond the queue are dropped and counted") {
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  const statefun::test::detail::file_descriptor read_end(fds[0]);
  const statefun::test::detail::file_descriptor write_end(fds[1]);
  (void)::fcntl(write_end.get(), F_SETPIPE_SZ, 4096);
  constexpr std::size_t total = 5000;
  {
    log_writer writer(write_end.get(), "test: ");
    const std::string line(100, 'l');
    // Nobody reads the pipe while this runs: returning at all is the point.
    for (std::size_t i = 0; i < total; ++i) {
      writer.write(line);
    }
    CHECK(writer.dropped() > 0);
    // Now read: every line is either written or counted in a "dropped" line.
    std::size_t written = 0;
    std::size_t dropped = 0;
    std::string text;
    const auto deadline = std::chrono::steady_clock::now() + statefun::test::safety_bound;
    while (written + dropped < total) {
      REQUIRE(statefun::test::detail::read_some(read_end.get(), text, deadline));
      for (std::size_t end = text.find('\n'); end != std::string::npos; end = text.find('\n')) {
        const std::string got = text.substr(0, end);
        text.erase(0, end + 1);
        REQUIRE(got.starts_with("test: "));
        if (got.ends_with(" log lines dropped (the log could not keep up)")) {
          dropped += std::stoul(got.substr(6));
        } else {
          CHECK(got == "test: " + line);
          ++written;
        }
      }
    }
    CHECK(written + dropped == total);
    CHECK(dropped > 0);
  }
}

TEST_CASE("server log: CR, LF and ESC in a function type or id give one escaped log line and an escaped 500") {
  test_functions f;
  running_server server(f.fns);
  SUBCASE("in the function type") {
    client c(server.port());
    const auto response = c.exchange(runtime_post(
        statefun::test::request("test", "forged\r\n2026-01-01 admin logged in\x1b[2J", "a").invoke(std::int32_t{1}).bytes()));
    CHECK(response.status == 500);
    CHECK_FALSE(has_control_byte(response.body.substr(0, response.body.size() - 1)));
    CHECK(response.body.find("\\u{d}\\u{a}2026-01-01 admin logged in\\u{1b}[2J") != std::string::npos);
  }
  SUBCASE("in the id") {
    client c(server.port());
    const auto response = c.exchange(runtime_post(
        statefun::test::request("test", "throws", "id\r\nforged line\x1b]0;title\x07").invoke(std::int32_t{1}).bytes()));
    CHECK(response.status == 500);
    CHECK(response.body.find("id\\u{d}\\u{a}forged line\\u{1b}]0;title\\u{7}") != std::string::npos);
  }
  client after(server.port());  // (a later exchange: the 500's log line is surely written)
  CHECK(after.exchange(runtime_post(statefun::test::w1())).status == 200);
  const auto lines = lines_with(server.log(), "answered 500");
  REQUIRE(lines.size() == 1);
  CHECK_FALSE(has_control_byte(lines[0]));
  CHECK(lines[0].find("forged") != std::string::npos);
  CHECK(lines[0].find("127.0.0.1:") != std::string::npos);
}

TEST_CASE("server log: a 4 MiB function type gives a bounded log line and a bounded 500 body") {
  test_functions f;
  running_server server(f.fns);
  const std::string huge(4u << 20, 't');
  client c(server.port());
  const auto response = c.exchange(runtime_post(statefun::test::request("test", huge, "a").invoke(std::int32_t{1}).bytes()));
  CHECK(response.status == 500);
  CHECK(response.body.size() < 2048);
  CHECK(response.body.find("(truncated, ") != std::string::npos);
  const auto lines = lines_with(server.log(), "answered 500");
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].size() < 2048);
  CHECK(lines[0].find("(truncated, ") != std::string::npos);
}

TEST_CASE("server log: a parser refusal is logged once, with the peer") {
  test_functions f;
  running_server server(f.fns);
  client c(server.port());
  c.send("HELLO\r\n\r\n");
  CHECK(c.receive().status == 400);
  CHECK(c.closed_by_server());
  const std::string peer = "127.0.0.1:" + std::to_string(c.socket().local_endpoint().port());
  const auto lines = lines_with(server.log(), "refused");
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].find(peer) != std::string::npos);
  CHECK(lines[0].find("400") != std::string::npos);
}

TEST_CASE("server log: repeats of one kind beyond log_burst are counted and summarised when log_window ends") {
  test_functions f;
  watched_log log("were not logged");
  running_server server(f.fns, {.log = log.callback(), .log_burst = 3, .log_window = 1s});
  for (int i = 0; i < 8; ++i) {
    client c(server.port());
    c.send("HELLO\r\n\r\n");
    CHECK(c.receive().status == 400);
  }
  // The sweeper writes the summary once the window is over: the test waits for that line.
  REQUIRE(log.seen.wait());
  const auto lines = log.copy();
  CHECK(lines_with(lines, "refused 127.0.0.1").size() == 3);
  const auto summary = lines_with(lines, "were not logged");
  REQUIRE(summary.size() == 1);
  CHECK(summary[0].starts_with("5 more \"refused\" lines"));
}

TEST_CASE("test_server: a stderr pipe that nobody reads does not stop the server") {
  statefun::test::piped_child server({STATEFUN_TEST_SERVER, "--port", "0"}, false);
  const std::string listening = server.wait_for_line("listening on ");
  const auto port = static_cast<std::uint16_t>(std::stoul(listening.substr(13)));
  // Lines of every kind the server logs for a client: far more than the pipe (4 KiB) holds.
  const std::string long_type(2000, 'x');
  for (int i = 0; i < 40; ++i) {
    client refused(port);
    refused.send("HELLO\r\n\r\n");
    REQUIRE(statefun::test::receive_or_close(refused.socket()).status == 400);
    client failed(port);
    failed.send(runtime_post(statefun::test::request("test", long_type + std::to_string(i), "a")
                                 .invoke(std::int32_t{1})
                                 .bytes()));
    REQUIRE(statefun::test::receive_or_close(failed.socket()).status == 500);
  }
  client c(port);
  c.send(runtime_post(statefun::test::w1()));
  const auto answer = statefun::test::receive_or_close(c.socket());
  CHECK(answer.status == 200);
  server.signal(SIGTERM);
  CHECK(server.wait() == statefun::test::exit_status::exited_with(0));
}
