#pragma once

// What every statefun-local command shares: exit codes, errors that carry them, reading an input
// (a file or stdin) and writing an output, and JSON parse errors named by file, line and column.

#include <statefun/codec/views.hpp>
#include <statefun/error.hpp>

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace statefun_local {

/// The exit codes of every command.
enum exit_code : int {
  exit_ok = 0,
  exit_failure = 1,  ///< the command ran and something failed (unreachable URL, bad input...)
  exit_usage = 2,    ///< the command line is wrong
};

/// A failure to report on stderr, with the exit code it ends the program with.
class error : public std::runtime_error {
 public:
  error(exit_code code, const std::string& message) : std::runtime_error(message), code_(code) {}
  [[nodiscard]] exit_code code() const noexcept { return code_; }

 private:
  exit_code code_;
};

[[noreturn]] inline void fail(const std::string& message) { throw error(exit_failure, message); }
[[noreturn]] inline void usage_error(const std::string& message) { throw error(exit_usage, message); }

/// Runs one command, reporting what it throws on stderr as `statefun-local: ...`.
inline int run_reporting_errors(const std::function<int()>& command) {
  try {
    return command();
  } catch (const error& e) {
    std::cerr << "statefun-local: " << e.what() << '\n';
    return e.code();
  } catch (const std::exception& e) {
    std::cerr << "statefun-local: " << e.what() << '\n';
    return exit_failure;
  }
}

/// An input's bytes and how messages name it (its path, or "stdin").
struct input {
  std::string name;
  std::string bytes;
};

/// Reads the file `path`, or stdin when `path` is empty or "-".
inline input read_input(const std::string& path) {
  if (path.empty() || path == "-") {
    input in{"stdin", {}};
    char chunk[65536];
    while (const std::size_t n = std::fread(chunk, 1, sizeof chunk, stdin)) {
      in.bytes.append(chunk, n);
    }
    if (std::ferror(stdin) != 0) {
      fail("cannot read stdin");
    }
    return in;
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    fail("cannot open " + path);
  }
  input in{path, std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>())};
  if (file.bad()) {
    fail("cannot read " + path);
  }
  return in;
}

/**
 * Writes `bytes` to the file `path`, or to stdout when `path` is empty or "-". Binary output is
 * refused on a terminal, where it would only garble the screen.
 */
inline void write_output(const std::string& path, std::string_view bytes, bool binary) {
  if (path.empty() || path == "-") {
    if (binary && ::isatty(STDOUT_FILENO) != 0) {
      usage_error("refusing to write binary protobuf to a terminal: redirect stdout or pass -o FILE");
    }
    if (std::fwrite(bytes.data(), 1, bytes.size(), stdout) != bytes.size() || std::fflush(stdout) != 0) {
      fail("cannot write to stdout");
    }
    return;
  }
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  file.close();
  if (!file) {
    fail("cannot write " + path);
  }
}

/// Why decoding failed, for messages: "truncated protobuf message at byte 12".
inline std::string describe(const statefun::codec::decode_result& result) {
  std::string why = statefun::make_error_code(result.code).message();
  if (result.offset > 0) {
    why += " at byte " + std::to_string(result.offset);
  }
  return why;
}

/// JSON as the commands print it: indented by two, one document per line group.
inline std::string pretty(const nlohmann::json& value) { return value.dump(2) + "\n"; }

/**
 * Parses one JSON document from `text`. A syntax error is reported as `source:line:column: what`,
 * counting lines from `first_line` (for one line of a JSON-lines file, pass its line number).
 */
inline nlohmann::json parse_json(std::string_view text, const std::string& source, std::size_t first_line = 1) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte counts from 1 and points at the character the parser stopped at.
    const std::size_t at = e.byte == 0 ? 0 : std::min<std::size_t>(e.byte - 1, text.size());
    std::size_t line = first_line;
    std::size_t column = 1;
    for (std::size_t i = 0; i < at; ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    // nlohmann's message reads "[json.exception.parse_error.101] parse error at line 1, column 2:
    // syntax error while parsing ..."; keep the part after the position.
    std::string what = e.what();
    const std::size_t column_word = what.find("column ");
    const std::size_t detail = column_word == std::string::npos ? std::string::npos : what.find(": ", column_word);
    if (detail != std::string::npos) {
      what = what.substr(detail + 2);
    }
    fail(source + ":" + std::to_string(line) + ":" + std::to_string(column) + ": not JSON: " + what);
  }
}

}  // namespace statefun_local
