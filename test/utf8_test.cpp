// The UTF-8 validator behind every protobuf `string` the SDK writes or reads, against an
// independent reference (decode the code point, then check its range) over every 1-, 2- and
// 3-byte sequence and every 4-byte sequence around the limits.

#include <statefun/detail/utf8.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "support/doctest.hpp"

using statefun::detail::first_invalid_utf8;
using statefun::detail::is_ascii;
using statefun::detail::is_valid_utf8;

namespace {

/// The length of the well-formed sequence at the start of `text`, decoded the long way: the
/// lead byte's high bits give the length, the code point is assembled, and then it must use
/// its shortest form, not be a surrogate and not exceed U+10FFFF. Nothing if it is malformed.
std::optional<std::size_t> reference_sequence(std::string_view text) {
  const auto lead = static_cast<unsigned char>(text[0]);
  std::size_t length = 0;
  std::uint32_t code_point = 0;
  if (lead < 0x80) {
    return 1;
  }
  if ((lead & 0xE0u) == 0xC0u) {
    length = 2;
    code_point = lead & 0x1Fu;
  } else if ((lead & 0xF0u) == 0xE0u) {
    length = 3;
    code_point = lead & 0x0Fu;
  } else if ((lead & 0xF8u) == 0xF0u) {
    length = 4;
    code_point = lead & 0x07u;
  } else {
    return std::nullopt;
  }
  if (text.size() < length) {
    return std::nullopt;
  }
  for (std::size_t i = 1; i < length; ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if ((byte & 0xC0u) != 0x80u) {
      return std::nullopt;
    }
    code_point = (code_point << 6) | (byte & 0x3Fu);
  }
  const std::uint32_t shortest[] = {0, 0, 0x80, 0x800, 0x10000};
  if (code_point < shortest[length] || (code_point >= 0xD800 && code_point <= 0xDFFF) || code_point > 0x10FFFF) {
    return std::nullopt;
  }
  return length;
}

bool reference_valid(std::string_view text) {
  while (!text.empty()) {
    const auto length = reference_sequence(text);
    if (!length) {
      return false;
    }
    text.remove_prefix(*length);
  }
  return true;
}

std::string bytes(std::initializer_list<unsigned> list) {
  std::string out;
  for (const unsigned b : list) {
    out.push_back(static_cast<char>(b));
  }
  return out;
}

}  // namespace

TEST_CASE("utf8: every sequence of one and two bytes, and every three-byte one that starts E0 to EF") {
  char buffer[3];
  auto judged_alike = [&buffer](std::size_t length) {
    const std::string_view text(buffer, length);
    return is_valid_utf8(text) == reference_valid(text);
  };
  std::size_t disagreements = 0;
  std::size_t checked = 0;
  for (unsigned a = 0; a < 256; ++a) {
    buffer[0] = static_cast<char>(a);
    disagreements += judged_alike(1) ? 0 : 1;
    for (unsigned b = 0; b < 256; ++b) {
      buffer[1] = static_cast<char>(b);
      disagreements += judged_alike(2) ? 0 : 1;
      // Three bytes: every third byte after a 3-byte lead, the edges after any other.
      for (unsigned c = 0; c < 256; ++c) {
        const bool edge = c == 0 || c == 0x7F || c == 0x80 || c == 0xBF || c == 0xC0 || c == 0xFF;
        if (!edge && (a < 0xE0 || a > 0xEF)) {
          continue;
        }
        buffer[2] = static_cast<char>(c);
        disagreements += judged_alike(3) ? 0 : 1;
        ++checked;
      }
    }
  }
  CHECK(disagreements == 0);
  CHECK(checked == 16u * 256u * 256u + 240u * 256u * 6u);
}

TEST_CASE("utf8: four-byte sequences from F0 to F7 with every second byte, and their edges") {
  // Third and fourth bytes: the edges of the continuation range and one byte either side.
  const unsigned edges[] = {0x00, 0x41, 0x7F, 0x80, 0x81, 0xBE, 0xBF, 0xC0, 0xFF};
  std::size_t checked = 0;
  for (unsigned a = 0xF0; a <= 0xF7; ++a) {
    for (unsigned b = 0; b < 256; ++b) {
      for (const unsigned c : edges) {
        for (const unsigned d : edges) {
          const std::string four = bytes({a, b, c, d});
          CAPTURE(four);
          REQUIRE(is_valid_utf8(four) == reference_valid(four));
          ++checked;
        }
      }
    }
  }
  CHECK(checked == 8u * 256u * 81u);
}

TEST_CASE("utf8: the classic edge cases") {
  // Accepted: the first and last code point of each length, and the ones around the surrogates.
  for (const std::string& ok : {bytes({0x00}), bytes({0x7F}), bytes({0xC2, 0x80}), bytes({0xDF, 0xBF}),
                                bytes({0xE0, 0xA0, 0x80}), bytes({0xED, 0x9F, 0xBF}), bytes({0xEE, 0x80, 0x80}),
                                bytes({0xEF, 0xBF, 0xBF}), bytes({0xF0, 0x90, 0x80, 0x80}),
                                bytes({0xF4, 0x8F, 0xBF, 0xBF}), std::string("Grüße, 世界, 🙂")}) {
    CAPTURE(ok);
    CHECK(is_valid_utf8(ok));
    CHECK(first_invalid_utf8(ok) == ok.size());
  }
  struct bad {
    const char* what;
    std::string text;
    std::size_t at;
  };
  const bad refused[] = {
      {"a lone continuation byte", "ab" + bytes({0x80}), 2},
      {"an overlong NUL (C0 80)", bytes({0xC0, 0x80}), 0},
      {"an overlong slash (C1 AF)", bytes({0xC1, 0xAF}), 0},
      {"an overlong 3-byte form (E0 9F BF)", bytes({0xE0, 0x9F, 0xBF}), 0},
      {"an overlong 4-byte form (F0 8F BF BF)", bytes({0xF0, 0x8F, 0xBF, 0xBF}), 0},
      {"the first surrogate (ED A0 80)", bytes({0xED, 0xA0, 0x80}), 0},
      {"the last surrogate (ED BF BF)", bytes({0xED, 0xBF, 0xBF}), 0},
      {"U+110000 (F4 90 80 80)", bytes({0xF4, 0x90, 0x80, 0x80}), 0},
      {"a lead byte F5", bytes({0xF5, 0x80, 0x80, 0x80}), 0},
      {"a lead byte FF", bytes({0xFF}), 0},
      {"a 2-byte sequence cut short at the end", "hello" + bytes({0xC3}), 5},
      {"a 3-byte sequence cut short", bytes({0xE2, 0x82}) + "x", 0},
      {"a 4-byte sequence cut short at the end", "0123456789" + bytes({0xF0, 0x9F, 0x99}), 10},
      {"Latin-1 text", "caf" + bytes({0xE9}), 3},
  };
  for (const bad& b : refused) {
    CAPTURE(b.what);
    CHECK_FALSE(is_valid_utf8(b.text));
    CHECK(first_invalid_utf8(b.text) == b.at);
  }
}

TEST_CASE("utf8: the ASCII fast path sees a high byte at every position of every length up to 40") {
  for (std::size_t length = 0; length <= 40; ++length) {
    const std::string ascii(length, 'a');
    CHECK(is_ascii(ascii));
    CHECK(is_valid_utf8(ascii));
    for (std::size_t at = 0; at < length; ++at) {
      CAPTURE(length);
      CAPTURE(at);
      std::string text = ascii;
      text[at] = static_cast<char>(0x80);
      CHECK_FALSE(is_ascii(text));
      CHECK_FALSE(is_valid_utf8(text));
      CHECK(first_invalid_utf8(text) == at);
      text[at] = static_cast<char>(0xC3);  // "Ã" cut short, unless a byte follows
      if (at + 1 < length) {
        text[at + 1] = static_cast<char>(0xA9);  // é
        CHECK(is_valid_utf8(text));
      }
    }
  }
}

TEST_CASE("utf8: the validator works in constant expressions") {
  static_assert(is_valid_utf8("io.statefun.types/string"));
  static_assert(is_valid_utf8("\xC3\xA9t\xC3\xA9"));
  static_assert(!is_valid_utf8("\xC0\x80"));
  static_assert(first_invalid_utf8("abc\xED\xA0\x80") == 3);
}
