#pragma once

/// @file
/// `printable`: text a client chose (ids, type names, reasons) made safe to put in a log line or
/// a text response body: escaped and bounded.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <statefun/config.hpp>
#include <statefun/detail/utf8.hpp>

namespace statefun::inline v0::detail {

/// Client-supplied text longer than this (in bytes, before escaping) is cut in its middle.
inline constexpr std::size_t max_printed_bytes = 512;

/// The code point of a valid UTF-8 sequence of `size` bytes.
inline char32_t utf8_code_point(std::string_view sequence, std::size_t size) noexcept {
  const auto byte = [&sequence](std::size_t i) { return static_cast<char32_t>(static_cast<std::uint8_t>(sequence[i])); };
  switch (size) {
    case 1: return byte(0);
    case 2: return ((byte(0) & 0x1F) << 6) | (byte(1) & 0x3F);
    case 3: return ((byte(0) & 0x0F) << 12) | ((byte(1) & 0x3F) << 6) | (byte(2) & 0x3F);
    default:
      return ((byte(0) & 0x07) << 18) | ((byte(1) & 0x3F) << 12) | ((byte(2) & 0x3F) << 6) | (byte(3) & 0x3F);
  }
}

/// Code points that must not reach a log or a terminal as they are: controls (C0, DEL, C1),
/// line and paragraph separators, and the bidirectional controls that reorder what is shown.
constexpr bool is_unsafe_code_point(char32_t c) noexcept {
  return c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == 0x200E || c == 0x200F ||
         (c >= 0x2028 && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069) || c == 0xFEFF;
}

/**
 * Appends `text` to `out` with every unsafe code point written `\u{XXXX}`, every byte that is
 * not valid UTF-8 written `\xNN`, and `\` written `\\`: what is appended is printable UTF-8 on
 * one line, and a reader can tell the escapes from the text.
 */
inline void append_escaped(std::string& out, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t size = utf8_sequence_size(text.substr(i));
    if (size == 0) {
      const auto byte = static_cast<std::uint8_t>(text[i]);
      out += "\\x";
      out += hex[byte >> 4];
      out += hex[byte & 0xF];
      ++i;
      continue;
    }
    const char32_t c = utf8_code_point(text.substr(i), size);
    if (c == U'\\') {
      out += "\\\\";
    } else if (is_unsafe_code_point(c)) {
      out += "\\u{";
      bool digits = false;
      for (int shift = 20; shift >= 0; shift -= 4) {
        const auto digit = static_cast<std::uint32_t>(c >> shift) & 0xF;
        if (digit != 0 || digits || shift == 0) {
          out += hex[digit];
          digits = true;
        }
      }
      out += '}';
    } else {
      out.append(text.substr(i, size));
    }
    i += size;
  }
}

/**
 * `text` escaped as `append_escaped` does, and, if longer than `max_bytes`, cut in its middle:
 * its first three quarters and its last quarter of `max_bytes` are kept (a name's start and an
 * exception's message at the end both stay readable) around "...(truncated, N bytes)...", N
 * being the size of the whole text. The result is at most about 4 * `max_bytes` + 40 bytes.
 */
inline std::string printable(std::string_view text, std::size_t max_bytes = max_printed_bytes) {
  std::string out;
  if (text.size() <= max_bytes) {
    append_escaped(out, text);
    return out;
  }
  // Cut at sequence boundaries, so that no valid character is shown as escaped bytes.
  std::size_t head = max_bytes - max_bytes / 4;
  while (head < text.size() && (static_cast<std::uint8_t>(text[head]) & 0xC0) == 0x80 &&
         head > max_bytes - max_bytes / 4 - 3) {
    --head;
  }
  std::size_t tail = text.size() - max_bytes / 4;
  for (int i = 0; i < 3 && tail < text.size() && (static_cast<std::uint8_t>(text[tail]) & 0xC0) == 0x80; ++i) {
    ++tail;
  }
  append_escaped(out, text.substr(0, head));
  out += "...(truncated, " + std::to_string(text.size()) + " bytes)...";
  append_escaped(out, text.substr(tail));
  return out;
}

}  // namespace statefun::inline v0::detail
