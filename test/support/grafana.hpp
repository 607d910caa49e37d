#pragma once

// Reads a Grafana dashboard (JSON) for the tests that check it against the exposition and
// against a live Prometheus: every PromQL query it holds (panel targets, nested rows' panels,
// template variables), the metric names each query selects, and the query with its template
// variables replaced by concrete values.

#include <nlohmann/json.hpp>

#include <cctype>
#include <cstddef>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace statefun::test {

/// One PromQL query of a dashboard, and where it is.
struct dashboard_query {
  std::string where;  ///< "panel \"Title\"" or "variable \"name\"", for messages
  std::string expr;   ///< PromQL; for a `label_values(selector, label)` variable, the selector
  std::string label;  ///< a `label_values` variable's label; empty for panel queries
  std::string variable;  ///< the template variable's name; empty for panel queries
};

namespace grafana_detail {

inline bool is_name_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_' || c == ':'; }

inline bool is_name_char(char c) { return is_name_start(c) || std::isdigit(static_cast<unsigned char>(c)) != 0; }

/// The index just past the quoted string that starts at `i` (its quote character at `i`).
inline std::size_t skip_string(std::string_view expr, std::size_t i) {
  const char quote = expr[i];
  for (++i; i < expr.size(); ++i) {
    if (expr[i] == '\\' && quote != '`') {
      ++i;
    } else if (expr[i] == quote) {
      return i + 1;
    }
  }
  throw std::runtime_error("an unterminated string in: " + std::string(expr));
}

/// The index just past the bracket closing the one at `i` (strings inside skipped).
inline std::size_t skip_group(std::string_view expr, std::size_t i) {
  const char open = expr[i];
  const char close = open == '{' ? '}' : open == '[' ? ']' : ')';
  int depth = 0;
  while (i < expr.size()) {
    const char c = expr[i];
    if (c == '"' || c == '\'' || c == '`') {
      i = skip_string(expr, i);
      continue;
    }
    if (c == open) {
      ++depth;
    } else if (c == close && --depth == 0) {
      return i + 1;
    }
    ++i;
  }
  throw std::runtime_error(std::string("an unclosed '") + open + "' in: " + std::string(expr));
}

inline std::size_t skip_spaces(std::string_view expr, std::size_t i) {
  while (i < expr.size() && std::isspace(static_cast<unsigned char>(expr[i])) != 0) {
    ++i;
  }
  return i;
}

}  // namespace grafana_detail

/**
 * The metric names a PromQL expression selects: identifiers that are not functions or
 * aggregations (followed by '('), keywords, numbers or durations, outside label matchers
 * ({...}), ranges ([...]), strings, Grafana variables ($x, ${x}) and the label lists of
 * by/without/on/ignoring/group_left/group_right.
 */
inline std::set<std::string> metric_names(std::string_view expr) {
  using namespace grafana_detail;
  static const std::set<std::string_view> keywords{
      "and",    "or",     "unless", "bool",    "offset",  "atan2", "Inf",   "NaN",  "inf",   "nan",
      "sum",    "min",    "max",    "avg",     "group",   "count", "stddev", "stdvar", "topk", "bottomk",
      "quantile", "count_values"};
  static const std::set<std::string_view> label_lists{"by", "without", "on", "ignoring", "group_left", "group_right"};
  std::set<std::string> names;
  std::size_t i = 0;
  while (i < expr.size()) {
    const char c = expr[i];
    if (c == '"' || c == '\'' || c == '`') {
      i = skip_string(expr, i);
    } else if (c == '{' || c == '[') {
      i = skip_group(expr, i);
    } else if (c == '$') {
      ++i;
      if (i < expr.size() && expr[i] == '{') {
        i = skip_group(expr, i);
      }
      while (i < expr.size() && is_name_char(expr[i])) {
        ++i;
      }
    } else if (std::isdigit(static_cast<unsigned char>(c)) != 0 || c == '.') {
      while (i < expr.size() && (is_name_char(expr[i]) || expr[i] == '.')) {
        ++i;  // a number, 1e-3, or a duration such as 5m (after offset)
      }
    } else if (is_name_start(c)) {
      const std::size_t start = i;
      while (i < expr.size() && is_name_char(expr[i])) {
        ++i;
      }
      const std::string_view name = expr.substr(start, i - start);
      const std::size_t next = skip_spaces(expr, i);
      if (label_lists.contains(name)) {
        if (next < expr.size() && expr[next] == '(') {
          i = skip_group(expr, next);
        }
      } else if (!keywords.contains(name) && !(next < expr.size() && expr[next] == '(')) {
        names.emplace(name);
      }
    } else {
      ++i;
    }
  }
  return names;
}

/**
 * Every query of `dashboard`: its panels' targets (rows' nested panels included) and its
 * `query` template variables. A variable `label_values(selector, label)` yields the selector
 * and the label; `label_values(label)` yields neither (it names no metric).
 */
inline std::vector<dashboard_query> dashboard_queries(const nlohmann::json& dashboard) {
  std::vector<dashboard_query> queries;
  const auto add_panels = [&](const nlohmann::json& panels, const auto& self) -> void {
    for (const auto& panel : panels) {
      const std::string where = "panel \"" + panel.value("title", std::string("?")) + "\"";
      for (const auto& target : panel.value("targets", nlohmann::json::array())) {
        queries.push_back({where, target.at("expr").get<std::string>(), {}, {}});
      }
      if (panel.contains("panels")) {
        self(panel.at("panels"), self);
      }
    }
  };
  add_panels(dashboard.value("panels", nlohmann::json::array()), add_panels);
  if (dashboard.contains("templating")) {
    for (const auto& variable : dashboard.at("templating").value("list", nlohmann::json::array())) {
      if (variable.value("type", std::string()) != "query") {
        continue;
      }
      const auto& query = variable.at("query");
      std::string text = query.is_string() ? query.get<std::string>() : query.at("query").get<std::string>();
      const std::string where = "variable \"" + variable.value("name", std::string("?")) + "\"";
      const std::string_view prefix = "label_values(";
      if (!text.starts_with(prefix) || !text.ends_with(")")) {
        queries.push_back({where, text, {}, variable.at("name").get<std::string>()});
        continue;
      }
      const std::string arguments = text.substr(prefix.size(), text.size() - prefix.size() - 1);
      const std::size_t comma = arguments.rfind(',');
      if (comma == std::string::npos) {
        continue;
      }
      std::string label = arguments.substr(comma + 1);
      std::erase_if(label, [](char ch) { return std::isspace(static_cast<unsigned char>(ch)) != 0; });
      queries.push_back({where, arguments.substr(0, comma), label, variable.at("name").get<std::string>()});
    }
  }
  return queries;
}

/**
 * `expr` with Grafana's variables (`$name`, `${name}`, `[[name]]` is not supported) replaced by
 * `values`. Throws naming a variable `values` does not have: a new dashboard variable must be
 * given a concrete value by the test that evaluates the queries.
 */
inline std::string substitute(std::string_view expr, const std::map<std::string, std::string>& values) {
  std::string out;
  std::size_t i = 0;
  while (i < expr.size()) {
    if (expr[i] != '$') {
      out += expr[i++];
      continue;
    }
    std::size_t start = i + 1;
    std::size_t end = start;
    std::size_t next = 0;
    if (start < expr.size() && expr[start] == '{') {
      ++start;
      end = expr.find('}', start);
      if (end == std::string_view::npos) {
        throw std::runtime_error("an unclosed ${ in: " + std::string(expr));
      }
      next = end + 1;
    } else {
      while (end < expr.size() && grafana_detail::is_name_char(expr[end])) {
        ++end;
      }
      next = end;
    }
    const std::string name(expr.substr(start, end - start));
    const auto it = values.find(name);
    if (it == values.end()) {
      throw std::runtime_error("no value for the variable $" + name + " in: " + std::string(expr));
    }
    out += it->second;
    i = next;
  }
  return out;
}

/**
 * Why `name` is not a series of an exposition whose families are `types` (name -> type), or ""
 * when it is one: a family's name, or a histogram's with _bucket, _sum or _count (a histogram's
 * own name selects nothing).
 */
inline std::string unknown_series(const std::string& name, const std::map<std::string, std::string>& types) {
  if (const auto it = types.find(name); it != types.end()) {
    return it->second == "histogram" ? name + " is a histogram: select _bucket, _sum or _count" : "";
  }
  for (const std::string_view suffix : {"_bucket", "_sum", "_count"}) {
    if (name.size() > suffix.size() && name.ends_with(suffix)) {
      const auto it = types.find(name.substr(0, name.size() - suffix.size()));
      if (it != types.end() && it->second == "histogram") {
        return "";
      }
    }
  }
  return name + " is not in the exposition";
}

}  // namespace statefun::test
