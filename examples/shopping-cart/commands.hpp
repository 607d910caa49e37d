#pragma once

// The local runner's commands, one per line:
//
//   restock ITEM QUANTITY        a record on the topic "restock", key ITEM
//   add USER ITEM QUANTITY       ... on "add-to-cart", key USER
//   remove USER ITEM QUANTITY    ... on "remove-from-cart"
//   clear USER                   ... on "clear-cart"
//   checkout USER                ... on "checkout"
//   +DURATION                    virtual time passes ("+30min", "+90s")

#include "local_shop.hpp"

#include <statefun/local/module_yaml.hpp>

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace shopping_cart {

/// One command, ready to feed to a shop.
using command = std::function<void(local_shop&)>;

inline constexpr std::string_view command_usage =
    "restock ITEM QUANTITY | add USER ITEM QUANTITY | remove USER ITEM QUANTITY | clear USER | checkout USER | "
    "+DURATION";

namespace detail {

inline std::int64_t quantity_of(const std::string& word) {
  std::int64_t quantity = 0;
  const char* end = word.data() + word.size();
  const auto [at, error] = std::from_chars(word.data(), end, quantity);
  if (error != std::errc{} || at != end || quantity <= 0) {
    throw std::invalid_argument("'" + word + "' is not a quantity (a whole number above 0)");
  }
  return quantity;
}

}  // namespace detail

/**
 * Reads one command (see the top of this file).
 * @throws std::invalid_argument saying what is wrong.
 */
inline command parse_command(std::string_view line) {
  std::istringstream in{std::string(line)};
  std::vector<std::string> words;
  for (std::string word; in >> word;) {
    words.push_back(word);
  }
  const auto expect = [&words](std::size_t count, std::string_view usage) {
    if (words.size() != count) {
      throw std::invalid_argument("usage: " + std::string(usage));
    }
  };
  const std::string verb = words.empty() ? "" : words[0];
  if (verb.starts_with('+')) {
    expect(1, "+DURATION, such as +30min");
    return [wait = statefun::local::parse_flink_duration(verb.substr(1))](local_shop& shop) { shop.rt.advance(wait); };
  }
  if (verb == "restock") {
    expect(3, "restock ITEM QUANTITY");
    return [item = words[1], quantity = detail::quantity_of(words[2])](local_shop& shop) {
      shop.restock(item, quantity);
    };
  }
  if (verb == "add") {
    expect(4, "add USER ITEM QUANTITY");
    return [user = words[1], item = words[2], quantity = detail::quantity_of(words[3])](local_shop& shop) {
      shop.add(user, item, quantity);
    };
  }
  if (verb == "remove") {
    expect(4, "remove USER ITEM QUANTITY");
    return [user = words[1], item = words[2], quantity = detail::quantity_of(words[3])](local_shop& shop) {
      shop.remove(user, item, quantity);
    };
  }
  if (verb == "clear") {
    expect(2, "clear USER");
    return [user = words[1]](local_shop& shop) { shop.clear(user); };
  }
  if (verb == "checkout") {
    expect(2, "checkout USER");
    return [user = words[1]](local_shop& shop) { shop.checkout(user); };
  }
  throw std::invalid_argument("not a command (" + std::string(command_usage) + ")");
}

}  // namespace shopping_cart
