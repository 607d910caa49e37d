// The server's log: one structured event per refusal and failure, with its fields; what a
// client chose is escaped and cut before it reaches a log line or a response body; repeats are
// counted instead of flooding; levels filter; the legacy callback still works; and a log nobody
// reads never stops the server.

#include <statefun/asio/detail/log_limiter.hpp>
#include <statefun/asio/server.hpp>
#include <statefun/detail/log_writer.hpp>
#include <statefun/detail/printable.hpp>
#include <statefun/detail/utf8.hpp>
#include <statefun/log.hpp>
#include <statefun/log_line.hpp>
#include <statefun/stderr_log.hpp>

#include <nlohmann/json.hpp>

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
using statefun::asio::detail::log_summary;
using statefun::detail::log_writer;
using statefun::detail::printable;
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
  std::vector<log_summary> summaries;
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
  CHECK(summaries[0].kind == "refused");
  CHECK(summaries[0].suppressed == 7);
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
    log_writer writer(write_end.get(), [](std::size_t n) { return "dropped " + std::to_string(n); });
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
        if (got.starts_with("dropped ")) {
          dropped += std::stoul(got.substr(8));
        } else {
          CHECK(got == line);
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
  const auto events = server.sink().named("request.failed");  // (raised before the 500 is sent)
  REQUIRE(events.size() == 1);
  CHECK_FALSE(has_control_byte(events[0].line));
  CHECK(events[0].line.find("forged") != std::string::npos);
  CHECK(events[0].at("peer").starts_with("127.0.0.1:"));
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
  const auto events = server.sink().named("request.failed");
  REQUIRE(events.size() == 1);
  CHECK(events[0].line.size() < 2048);
  CHECK(events[0].line.find("(truncated, ") != std::string::npos);
}

TEST_CASE("server log: a parser refusal is logged once, with the peer") {
  test_functions f;
  running_server server(f.fns);
  client c(server.port());
  c.send("HELLO\r\n\r\n");
  CHECK(c.receive().status == 400);
  CHECK(c.closed_by_server());
  const std::string peer = "127.0.0.1:" + std::to_string(c.socket().local_endpoint().port());
  const auto events = server.sink().named("request.refused");
  REQUIRE(events.size() == 1);
  CHECK(events[0].level == statefun::log_level::warn);
  CHECK(events[0].at("peer") == peer);
  CHECK(events[0].at("status") == "400");
  CHECK_FALSE(events[0].at("reason").empty());
}

TEST_CASE("server log: repeats of one event beyond log_burst are counted and summarised when log_window ends (through the legacy callback)") {
  test_functions f;
  watched_log log("event=log.suppressed");
  running_server server(f.fns, {.log = log.callback(), .log_burst = 3, .log_window = 1s});
  for (int i = 0; i < 8; ++i) {
    client c(server.port());
    c.send("HELLO\r\n\r\n");
    CHECK(c.receive().status == 400);
  }
  // The sweeper writes the summary once the window is over: the test waits for that line.
  REQUIRE(log.seen.wait());
  const auto lines = log.copy();
  CHECK(lines_with(lines, "level=warn event=request.refused ").size() == 3);
  const auto summary = lines_with(lines, "event=log.suppressed");
  REQUIRE(summary.size() == 1);
  CHECK(summary[0].starts_with("level=warn event=log.suppressed "));
  CHECK(summary[0].find(" suppressed_event=request.refused suppressed=5 window_ms=1000 burst=3") != std::string::npos);
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

namespace {

/// A 503 over max_connections, for the test below: a second client while the first is open.
std::string request_for(std::string_view type, std::string_view payload) {
  return runtime_post(statefun::test::request("test", type, "id-7").invoke(std::string(payload)).bytes());
}

}  // namespace

TEST_CASE("server log: each refusal and failure raises exactly one event with peer, status, reason and function type") {
  test_functions f;
  running_server server(f.fns, {.path = "/statefun", .max_connections = 1});
  const std::string payload = "payload-secret-41";
  {
    client c(server.port());
    const std::string peer = "127.0.0.1:" + std::to_string(c.socket().local_endpoint().port());
    // 500s: the function threw; an unknown type; bytes that are no ToFunction.
    CHECK(c.exchange(request_for("throws", payload)).status == 500);
    CHECK(c.exchange(request_for("unbound", payload)).status == 500);
    CHECK(c.exchange(runtime_post("\xff\xff garbage")).status == 500);
    // Not StateFun requests: 404, 405, 415.
    CHECK(c.exchange(runtime_post(statefun::test::w1(), "/elsewhere")).status == 404);
    CHECK(c.exchange("GET /statefun HTTP/1.1\r\nHost: x\r\n\r\n").status == 405);
    CHECK(c.exchange("POST /statefun HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 0\r\n\r\n")
              .status == 415);
    // A second connection while this one is open: over max_connections.
    client over(server.port());
    over.send(runtime_post(statefun::test::w1()));
    CHECK(over.receive().status == 503);

    const auto failed = server.sink().named("request.failed");
    REQUIRE(failed.size() == 3);
    for (const auto& e : failed) {
      CHECK(e.level == statefun::log_level::error);
      CHECK(e.at("peer") == peer);
      CHECK(e.at("status") == "500");
      CHECK(e.line.find(payload) == std::string::npos);  // never a message's payload
    }
    CHECK(failed[0].at("kind") == "exception");
    CHECK(failed[0].at("function_type") == "test/throws");
    CHECK(failed[0].at("reason").find("the function failed on purpose") != std::string::npos);
    CHECK(failed[1].at("kind") == "unknown_function_type");
    CHECK(failed[1].at("function_type").empty());  // the client's name is no type: it is in the reason
    CHECK(failed[1].at("reason").find("test/unbound") != std::string::npos);
    CHECK(failed[2].at("kind") == "malformed_request");
    CHECK(failed[2].at("function_type").empty());

    const auto refused = server.sink().named("request.refused");
    REQUIRE(refused.size() == 3);
    CHECK(refused[0].at("status") == "404");
    CHECK(refused[0].at("path") == "/elsewhere");
    CHECK(refused[1].at("status") == "405");
    CHECK(refused[1].at("method") == "GET");
    CHECK(refused[2].at("status") == "415");
    for (const auto& e : refused) {
      CHECK(e.at("peer") == peer);
      CHECK(e.level == statefun::log_level::warn);
    }

    const auto over_limit = server.sink().named("connection.refused");
    REQUIRE(over_limit.size() == 1);
    CHECK(over_limit[0].at("status") == "503");
    CHECK(over_limit[0].at("reason") == "max_connections");
    CHECK(over_limit[0].at("peer") == "127.0.0.1:" + std::to_string(over.socket().local_endpoint().port()));
  }
  // Nothing else was logged: each refusal once, by one layer.
  CHECK(server.sink().events().size() == 7);
}

TEST_CASE("server log: a head cut short is a warning at its header timeout; a silent connection is a debug event, filtered by log_level") {
  test_functions f;
  SUBCASE("log_level info (the default)") {
    running_server server(f.fns, {.header_timeout = 50ms});
    client silent(server.port());
    CHECK(silent.closed_by_server());
    client slow(server.port());
    slow.send("POST /statefun HTTP/1.1\r\nHost:");
    CHECK(slow.closed_by_server());
    client after(server.port());  // (one thread: the sweeper logged before it answers this)
    CHECK(after.exchange(runtime_post(statefun::test::w1())).status == 200);
    const auto timeouts = server.sink().named("connection.timeout");
    REQUIRE(timeouts.size() == 1);
    CHECK(timeouts[0].level == statefun::log_level::warn);
    CHECK(timeouts[0].at("timeout") == "header");
    CHECK(timeouts[0].at("peer") == "127.0.0.1:" + std::to_string(slow.socket().local_endpoint().port()));
  }
  SUBCASE("log_level debug") {
    running_server server(f.fns, {.header_timeout = 50ms, .log_level = statefun::log_level::debug});
    client silent(server.port());
    CHECK(silent.closed_by_server());
    client after(server.port());
    CHECK(after.exchange(runtime_post(statefun::test::w1())).status == 200);
    const auto timeouts = server.sink().named("connection.timeout");
    REQUIRE(timeouts.size() == 1);
    CHECK(timeouts[0].level == statefun::log_level::debug);
  }
  SUBCASE("log_level error: refusals (warnings) are not logged, 500s are") {
    running_server server(f.fns, {.log_level = statefun::log_level::error});
    client c(server.port());
    CHECK(c.exchange(request_for("throws", "x")).status == 500);
    client refused(server.port());
    refused.send("HELLO\r\n\r\n");
    CHECK(refused.receive().status == 400);
    CHECK(refused.closed_by_server());
    const auto events = server.sink().events();
    REQUIRE(events.size() == 1);
    CHECK(events[0].name == "request.failed");
  }
}

TEST_CASE("server log: the legacy log callback gets one logfmt line per event, with the function type") {
  test_functions f;
  watched_log log("event=request.failed");
  running_server server(f.fns, {.log = log.callback()});
  client c(server.port());
  CHECK(c.exchange(request_for("throws", "x")).status == 500);
  REQUIRE(log.seen.wait());
  const auto lines = lines_with(log.copy(), "event=request.failed");
  REQUIRE(lines.size() == 1);
  const std::string peer = "127.0.0.1:" + std::to_string(c.socket().local_endpoint().port());
  CHECK(lines[0] == "level=error event=request.failed msg=\"answered 500: the request failed\" peer=" + peer +
                        " status=500 kind=exception function_type=test/throws"
                        " reason=\"function failed: test/throws/id-7: the function failed on purpose\"");
}

TEST_CASE("log line: JSON and logfmt stay valid, one line, for control bytes, quotes, invalid UTF-8 and bidi controls; long values are cut") {
  const std::string hostile = "a\"b\\c\r\nd\x1b[2J\xff\xc3 \xe2\x80\xae=x\0y"s;
  const std::string huge = "head-" + std::string(1u << 20, 'v') + "-tail";
  const statefun::log_field fields[] = {{"peer", "127.0.0.1:5"}, {"status", 400}, {"reason", hostile},
                                        {"big", huge}, {"count", std::uint64_t{18446744073709551615u}},
                                        {"delta", -3}};
  const statefun::log_event event{.level = statefun::log_level::warn,
                                  .name = "request.refused",
                                  .message = "refused a request",
                                  .fields = fields};
  const auto time = std::chrono::sys_days{std::chrono::year{2026} / 1 / 31} + 12h + 34min + 56s + 789ms;

  const std::string json = statefun::log_line(event, statefun::log_format::json, time);
  CHECK_FALSE(has_control_byte(json));
  CHECK(statefun::detail::is_valid_utf8(json));
  CHECK(json.size() < 4096);
  const auto parsed = nlohmann::json::parse(json);
  CHECK(parsed["ts"] == "2026-01-31T12:34:56.789Z");
  CHECK(parsed["level"] == "warn");
  CHECK(parsed["event"] == "request.refused");
  CHECK(parsed["msg"] == "refused a request");
  CHECK(parsed["status"] == 400);
  CHECK(parsed["count"] == 18446744073709551615u);
  CHECK(parsed["delta"] == -3);
  // The value a collector decodes is the text escaped as `printable` escapes it.
  CHECK(parsed["reason"] == printable(hostile));
  CHECK(parsed["reason"] == "a\"b\\\\c\\u{d}\\u{a}d\\u{1b}[2J\\xff\\xc3 \\u{202e}=x\\u{0}y");
  const std::string big = parsed["big"];
  CHECK(big.starts_with("head-"));
  CHECK(big.ends_with("-tail"));
  CHECK(big.find("(truncated, " + std::to_string(huge.size()) + " bytes)") != std::string::npos);
  CHECK(json.starts_with(R"({"ts":"2026-01-31T12:34:56.789Z","level":"warn","event":"request.refused",)"));

  const std::string logfmt = statefun::log_line(event, statefun::log_format::logfmt, time);
  CHECK_FALSE(has_control_byte(logfmt));
  CHECK(statefun::detail::is_valid_utf8(logfmt));
  CHECK(logfmt.starts_with("ts=2026-01-31T12:34:56.789Z level=warn event=request.refused msg=\"refused a request\" "
                           "peer=127.0.0.1:5 status=400 reason=\"a\\\"b\\\\\\\\c"));
  CHECK(logfmt.ends_with(" count=18446744073709551615 delta=-3"));
  CHECK(logfmt.size() < 4096);
}

TEST_CASE("stderr_log: one JSON line per event at or above its level, with a timestamp") {
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  const statefun::test::detail::file_descriptor read_end(fds[0]);
  const statefun::test::detail::file_descriptor write_end(fds[1]);
  {
    statefun::stderr_log sink(statefun::log_format::json, statefun::log_level::warn, write_end.get());
    const statefun::log_field fields[] = {{"peer", "[::1]:7"}, {"status", 503}};
    sink.write({.level = statefun::log_level::info, .name = "server.stopping", .message = "stopping", .fields = {}});
    sink.write({.level = statefun::log_level::warn, .name = "connection.refused", .message = "refused", .fields = fields});
    sink.write({.level = statefun::log_level::debug, .name = "connection.timeout", .message = "closed", .fields = {}});
  }  // (the destructor writes the queue out)
  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + statefun::test::safety_bound;
  while (text.find('\n') == std::string::npos) {
    REQUIRE(statefun::test::detail::read_some(read_end.get(), text, deadline));
  }
  REQUIRE(text.ends_with("\n"));
  CHECK(std::count(text.begin(), text.end(), '\n') == 1);
  const auto parsed = nlohmann::json::parse(text);
  CHECK(parsed["event"] == "connection.refused");
  CHECK(parsed["level"] == "warn");
  CHECK(parsed["peer"] == "[::1]:7");
  CHECK(parsed["status"] == 503);
  CHECK(std::string(parsed["ts"]).ends_with("Z"));
}

TEST_CASE("test_server: its default log on stderr is JSON lines, one event per refusal") {
  statefun::test::piped_child server({STATEFUN_TEST_SERVER, "--port", "0"});
  const std::string listening = server.wait_for_line("listening on ");
  const auto port = static_cast<std::uint16_t>(std::stoul(listening.substr(13)));
  client refused(port);
  refused.send("HELLO\r\n\r\n");
  CHECK(refused.receive().status == 400);
  const std::string line = server.wait_for_stderr("request.refused");
  const auto parsed = nlohmann::json::parse(line);
  CHECK(parsed["level"] == "warn");
  CHECK(parsed["event"] == "request.refused");
  CHECK(parsed["status"] == 400);
  CHECK(parsed["peer"] == "127.0.0.1:" + std::to_string(refused.socket().local_endpoint().port()));
  server.signal(SIGTERM);
  CHECK(server.wait() == statefun::test::exit_status::exited_with(0));
}
