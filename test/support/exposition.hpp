#pragma once

// Reads a Prometheus text exposition (format 0.0.4) back, checking its grammar as it goes, so
// that tests can assert on its values: `samples["name{label=\"v\"}"]`.

#include <cstddef>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>

namespace statefun::test {

/// An exposition read back: samples by their series (name and labels as written), and the
/// declared type of each family.
struct exposition {
  std::map<std::string, double> samples;
  std::map<std::string, std::string> types;

  /// The value of `series`; throws if the exposition has no such series.
  double at(const std::string& series) const {
    const auto it = samples.find(series);
    if (it == samples.end()) {
      throw std::runtime_error("no series " + series + " in the exposition");
    }
    return it->second;
  }
};

namespace exposition_detail {

inline bool is_name_char(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || (!first && c >= '0' && c <= '9');
}

/// The family a sample belongs to: its name, less a histogram's suffix.
inline std::string family_of(const std::string& name, const std::map<std::string, std::string>& types) {
  if (types.contains(name)) {
    return name;
  }
  for (const std::string_view suffix : {"_bucket", "_sum", "_count"}) {
    if (name.size() > suffix.size() && name.ends_with(suffix)) {
      const std::string base = name.substr(0, name.size() - suffix.size());
      if (const auto it = types.find(base); it != types.end() && it->second == "histogram") {
        return base;
      }
    }
  }
  throw std::runtime_error("sample " + name + " has no # TYPE line before it");
}

}  // namespace exposition_detail

/// Parses `text`; throws std::runtime_error naming the first line that breaks the format.
inline exposition parse_exposition(std::string_view text) {
  using namespace exposition_detail;
  exposition result;
  std::set<std::string> helped;
  std::size_t line_number = 0;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    if (end == std::string_view::npos) {
      throw std::runtime_error("the exposition does not end with a line feed");
    }
    const std::string_view line = text.substr(0, end);
    text.remove_prefix(end + 1);
    ++line_number;
    const auto fail = [&](const std::string& why) {
      throw std::runtime_error("line " + std::to_string(line_number) + " (" + std::string(line) + "): " + why);
    };
    if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
      const std::string_view rest = line.substr(7);
      const std::size_t space = rest.find(' ');
      if (space == std::string_view::npos || space == 0) {
        fail("no metric name and text");
      }
      const std::string name(rest.substr(0, space));
      if (line[2] == 'H') {
        if (!helped.insert(name).second) {
          fail("a second HELP for the family");
        }
        continue;
      }
      const std::string type(rest.substr(space + 1));
      if (type != "counter" && type != "gauge" && type != "histogram" && type != "summary" && type != "untyped") {
        fail("unknown type");
      }
      if (!result.types.emplace(name, type).second) {
        fail("a second TYPE for the family");
      }
      if (type == "counter" && !name.ends_with("_total")) {
        fail("a counter whose name does not end in _total");
      }
      continue;
    }
    if (line.empty() || line[0] == '#') {
      fail("an empty line or an unknown comment");
    }
    std::size_t i = 0;
    while (i < line.size() && is_name_char(line[i], i == 0)) {
      ++i;
    }
    if (i == 0) {
      fail("no metric name");
    }
    const std::string name(line.substr(0, i));
    std::string series = name;
    if (i < line.size() && line[i] == '{') {
      series += '{';
      ++i;
      bool first = true;
      while (i < line.size() && line[i] != '}') {
        if (!first) {
          if (line[i] != ',') {
            fail("labels not separated by a comma");
          }
          series += ',';
          ++i;
        }
        first = false;
        const std::size_t start = i;
        while (i < line.size() && is_name_char(line[i], i == start)) {
          ++i;
        }
        if (i == start || i + 1 >= line.size() || line[i] != '=' || line[i + 1] != '"') {
          fail("a label that is not name=\"value\"");
        }
        series += line.substr(start, i - start + 2);
        i += 2;
        for (;;) {
          if (i >= line.size()) {
            fail("an unterminated label value");
          }
          if (line[i] == '\\') {
            if (i + 1 >= line.size() || (line[i + 1] != '\\' && line[i + 1] != '"' && line[i + 1] != 'n')) {
              fail("an invalid escape in a label value");
            }
            series += line.substr(i, 2);
            i += 2;
            continue;
          }
          if (line[i] == '"') {
            series += '"';
            ++i;
            break;
          }
          series += line[i];
          ++i;
        }
      }
      if (i >= line.size()) {
        fail("unterminated labels");
      }
      series += '}';
      ++i;
    }
    if (i >= line.size() || line[i] != ' ') {
      fail("no space before the value");
    }
    const std::string value(line.substr(i + 1));
    std::size_t used = 0;
    double v = 0;
    try {
      v = value == "+Inf" ? 1e308 * 10 : std::stod(value, &used);
    } catch (const std::exception&) {
      fail("a value that is not a number");
    }
    if (value != "+Inf" && used != value.size()) {
      fail("a value followed by more than a timestamp-free end of line");
    }
    (void)family_of(name, result.types);
    if (!result.samples.emplace(series, v).second) {
      fail("a series written twice");
    }
  }
  return result;
}

}  // namespace statefun::test
