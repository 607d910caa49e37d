#pragma once

// UTF-8 validation for protobuf `string` fields. protobuf-java, which the runtime uses, refuses a
// message with a `string` that is not well-formed UTF-8, so the SDK checks every string it
// writes or reads. Nearly all of them are short ASCII identifiers: the fast path reads 8 bytes
// at a time and only a byte >= 0x80 takes the full validator.

#include <statefun/config.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

namespace statefun::inline v0::detail {

/// The bytes at `p` as one word (byte order does not matter to the callers, which only test
/// the top bit of each byte).
template <class Unsigned>
[[gnu::always_inline]] constexpr Unsigned load_word(const char* p) noexcept {
  if (std::is_constant_evaluated()) {
    Unsigned word = 0;
    for (std::size_t i = 0; i < sizeof(Unsigned); ++i) {
      word |= static_cast<Unsigned>(static_cast<unsigned char>(p[i])) << (8 * i);
    }
    return word;
  }
  Unsigned word;
  std::memcpy(&word, p, sizeof word);
  return word;
}

/// The top bits of the bytes of `text`, folded into one word: zero when `text` is ASCII. Reads
/// 8 bytes at a time; the last word, and texts under 8 bytes, are read as overlapping words
/// rather than byte by byte. (Callers OR several texts together and test once.)
[[nodiscard, gnu::always_inline]] constexpr std::uint64_t high_bits(std::string_view text) noexcept {
  const char* p = text.data();
  const std::size_t n = text.size();
  std::uint64_t bits = 0;
  if (n >= 8) {
    // Up to 24 bytes (nearly every id and type name) without a loop, which compilers would
    // vectorise at a cost that only pays for long texts.
    bits = load_word<std::uint64_t>(p) | load_word<std::uint64_t>(p + n - 8);
    if (n > 16) {
      bits |= load_word<std::uint64_t>(p + 8);
      for (const char* word = p + 16; word < p + n - 8; word += 8) {
        bits |= load_word<std::uint64_t>(word);
      }
    }
  } else if (n >= 4) {
    bits = load_word<std::uint32_t>(p) | load_word<std::uint32_t>(p + n - 4);
  } else if (n > 0) {
    bits = static_cast<unsigned char>(p[0]) | static_cast<unsigned char>(p[n / 2]) |
           static_cast<unsigned char>(p[n - 1]);
  }
  return bits & 0x8080'8080'8080'8080u;
}

/// True when every byte of `text` is below 0x80.
[[nodiscard, gnu::always_inline]] constexpr bool is_ascii(std::string_view text) noexcept {
  return high_bits(text) == 0;
}

/**
 * The length of the well-formed UTF-8 sequence at the start of `text` (1 to 4), or 0 if there
 * is none (RFC 3629, table 3-7 of the Unicode standard). Refused: stray continuation bytes,
 * overlong forms (C0, C1, E0 80..9F, F0 80..8F), UTF-16 surrogates (ED A0..BF), code points
 * above U+10FFFF (F4 90.., F5..FF) and sequences cut short. `text` must not be empty.
 */
[[nodiscard]] constexpr std::size_t utf8_sequence_size(std::string_view text) noexcept {
  const std::size_t n = text.size();
  auto byte = [&text](std::size_t at) { return static_cast<unsigned char>(text[at]); };
  const unsigned lead = byte(0);
  if (lead < 0x80) {
    return 1;
  }
  // The range of the second byte, which rules out overlongs, surrogates and > U+10FFFF.
  unsigned low = 0x80;
  unsigned high = 0xBF;
  std::size_t length = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    low = lead == 0xE0 ? 0xA0 : 0x80;
    high = lead == 0xED ? 0x9F : 0xBF;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    low = lead == 0xF0 ? 0x90 : 0x80;
    high = lead == 0xF4 ? 0x8F : 0xBF;
  } else {
    return 0;  // a continuation byte, C0/C1 (overlong) or F5..FF (beyond U+10FFFF)
  }
  if (n < length || byte(1) < low || byte(1) > high) {
    return 0;
  }
  for (std::size_t k = 2; k < length; ++k) {
    if ((byte(k) & 0xC0u) != 0x80u) {
      return 0;
    }
  }
  return length;
}

/// The offset of the first byte of `text` that does not start a well-formed UTF-8 sequence (see
/// `utf8_sequence_size`), or `text.size()` if there is none.
[[nodiscard, gnu::noinline]] constexpr std::size_t first_invalid_utf8(std::string_view text) noexcept {
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    if (i + 8 <= n && is_ascii(text.substr(i, 8))) {
      i += 8;
      continue;
    }
    const std::size_t size = utf8_sequence_size(text.substr(i));
    if (size == 0) {
      return i;
    }
    i += size;
  }
  return n;
}

/// True when `text` is well-formed UTF-8 (see `first_invalid_utf8`); ASCII costs a few
/// instructions per 8 bytes.
[[nodiscard, gnu::always_inline]] constexpr bool is_valid_utf8(std::string_view text) noexcept {
  return is_ascii(text) || first_invalid_utf8(text) == text.size();
}

/**
 * `text` for an error message: printable ASCII as it is, every other byte as `\xNN` (so that a
 * message naming a value that is not UTF-8 is UTF-8 itself, and holds no control bytes).
 */
[[nodiscard]] inline std::string escaped(std::string_view text) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7F && c != '\\') {
      out += c;
    } else {
      out += "\\x";
      out += digits[u >> 4];
      out += digits[u & 15u];
    }
  }
  return out;
}

/// Throws `std::invalid_argument` saying that `what` ('`text`', escaped) is not valid UTF-8.
[[noreturn, gnu::noinline, gnu::cold]] inline void throw_not_utf8(std::string_view text, std::string_view what) {
  throw std::invalid_argument("statefun: " + std::string(what) + " '" + escaped(text) +
                              "' is not valid UTF-8 (the runtime refuses such a string)");
}

/// Throws (see `throw_not_utf8`) unless `text` is valid UTF-8.
[[gnu::always_inline]] inline void require_utf8(std::string_view text, const char* what) {
  if (!is_valid_utf8(text)) [[unlikely]] {
    throw_not_utf8(text, what);
  }
}

/// Throws (see `throw_not_utf8`) unless `text` is valid UTF-8; `describe()` says what `text`
/// is, and runs only then (it usually builds a string).
template <class Describe>
[[gnu::always_inline]] inline void require_utf8(std::string_view text, Describe&& describe) {
  if (!is_valid_utf8(text)) [[unlikely]] {
    throw_not_utf8(text, describe());
  }
}

}  // namespace statefun::inline v0::detail
