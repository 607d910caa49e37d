#include <statefun/type.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

#include "support/doctest.hpp"
#include "support/values.hpp"

// Expected bytes are written out by hand from docs/types.md ("Built in") and
// test/data/vectors.md, never produced by the code under test.

using namespace std::string_view_literals;

namespace {

/// Bytes from hex text such as "0d 01 00 00 00" (spaces ignored).
std::string hex(std::string_view text) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
      return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
      return c - 'A' + 10;
    }
    throw std::invalid_argument("not a hex digit");
  };
  std::string out;
  int high = -1;
  for (char c : text) {
    if (c == ' ') {
      continue;
    }
    if (high < 0) {
      high = nibble(c);
    } else {
      out.push_back(static_cast<char>((high << 4) | nibble(c)));
      high = -1;
    }
  }
  if (high >= 0) {
    throw std::invalid_argument("odd number of hex digits");
  }
  return out;
}

using statefun::test::encode;

using statefun::test::decode;

template <class T>
T round_trip(const T& value) {
  return decode<T>(encode(value));
}

}  // namespace

// --- The concept and the names ---------------------------------------------------------------

static_assert(statefun::typed<bool>);
static_assert(statefun::typed<std::int32_t>);
static_assert(statefun::typed<std::int64_t>);
static_assert(statefun::typed<float>);
static_assert(statefun::typed<double>);
static_assert(statefun::typed<std::string>);
static_assert(statefun::typed<std::string_view>);
static_assert(!statefun::typed<std::uint32_t>);
static_assert(!statefun::typed<std::uint64_t>);
static_assert(!statefun::typed<std::int16_t>);
static_assert(!statefun::typed<char>);

TEST_CASE("the built-in types carry the type names the runtime and the other SDKs use") {
  CHECK(statefun::type_name_of<bool>() == "io.statefun.types/bool");
  CHECK(statefun::type_name_of<std::int32_t>() == "io.statefun.types/int");
  CHECK(statefun::type_name_of<std::int64_t>() == "io.statefun.types/long");
  CHECK(statefun::type_name_of<float>() == "io.statefun.types/float");
  CHECK(statefun::type_name_of<double>() == "io.statefun.types/double");
  CHECK(statefun::type_name_of<std::string>() == "io.statefun.types/string");
  CHECK(statefun::type_name_of<std::string_view>() == "io.statefun.types/string");
}

// --- bool ------------------------------------------------------------------------------------

TEST_CASE("a bool is a BooleanWrapper: true is 08 01 and false is no bytes at all") {
  CHECK(encode(true) == hex("08 01"));
  CHECK(encode(false).empty());
  CHECK(decode<bool>(hex("08 01")) == true);
  CHECK(decode<bool>("") == false);
}

TEST_CASE("a bool decodes any valid encoding of its field") {
  SUBCASE("an explicitly written false") { CHECK(decode<bool>(hex("08 00")) == false); }
  SUBCASE("a non-zero varint other than 1") { CHECK(decode<bool>(hex("08 02")) == true); }
  SUBCASE("a non-minimal varint") { CHECK(decode<bool>(hex("08 81 00")) == true); }
  SUBCASE("the last occurrence wins") {
    CHECK(decode<bool>(hex("08 01 08 00")) == false);
    CHECK(decode<bool>(hex("08 00 08 01")) == true);
  }
}

// --- int -------------------------------------------------------------------------------------

TEST_CASE("an int32 is an IntWrapper holding an sfixed32: 0d and four bytes little-endian") {
  CHECK(encode(std::int32_t{1}) == hex("0d 01 00 00 00"));
  CHECK(encode(std::int32_t{42}) == "\r*\000\000\000"sv);     // test/data/vectors.md, messenger
  CHECK(encode(std::int32_t{-7}) == "\r\371\377\377\377"sv);  // test/data/vectors.md, types-write
  CHECK(encode(std::int32_t{258}) == hex("0d 02 01 00 00"));
  CHECK(decode<std::int32_t>("\r)\000\000\000"sv) == 41);  // test/data/vectors.md, counter-existing
}

TEST_CASE("an int32 of zero encodes as no bytes, and no bytes decode as zero") {
  CHECK(encode(std::int32_t{0}).empty());
  CHECK(decode<std::int32_t>("") == 0);
  CHECK(decode<std::int32_t>(hex("0d 00 00 00 00")) == 0);
}

TEST_CASE("an int32 of INT_MIN round-trips through its wrapper encoding") {
  constexpr auto min = std::numeric_limits<std::int32_t>::min();
  CHECK(encode(min) == hex("0d 00 00 00 80"));
  CHECK(decode<std::int32_t>(hex("0d 00 00 00 80")) == min);
  CHECK(round_trip(min) == min);
}

TEST_CASE("an int32 of INT_MAX round-trips through its wrapper encoding") {
  constexpr auto max = std::numeric_limits<std::int32_t>::max();
  CHECK(encode(max) == hex("0d ff ff ff 7f"));
  CHECK(decode<std::int32_t>(hex("0d ff ff ff 7f")) == max);
  CHECK(round_trip(max) == max);
}

TEST_CASE("an int32 of -1 is four 0xff bytes, not a ten-byte varint") {
  CHECK(encode(std::int32_t{-1}) == hex("0d ff ff ff ff"));
  CHECK(decode<std::int32_t>(hex("0d ff ff ff ff")) == -1);
}

// --- long ------------------------------------------------------------------------------------

TEST_CASE("an int64 is a LongWrapper holding an sfixed64: 09 and eight bytes little-endian") {
  CHECK(encode(std::int64_t{1}) == hex("09 01 00 00 00 00 00 00 00"));
  // test/data/vectors.md, types-write: 2^40 + 3.
  CHECK(encode(std::int64_t{(std::int64_t{1} << 40) + 3}) ==
        "\t\003\000\000\000\000\001\000\000"sv);
  CHECK(encode(std::int64_t{-1}) == hex("09 ff ff ff ff ff ff ff ff"));
  CHECK(encode(std::int64_t{0}).empty());
  CHECK(decode<std::int64_t>("") == 0);
}

TEST_CASE("an int64 of INT64_MIN and INT64_MAX round-trips through its wrapper encoding") {
  constexpr auto min = std::numeric_limits<std::int64_t>::min();
  constexpr auto max = std::numeric_limits<std::int64_t>::max();
  SUBCASE("INT64_MIN") {
    CHECK(encode(min) == hex("09 00 00 00 00 00 00 00 80"));
    CHECK(decode<std::int64_t>(hex("09 00 00 00 00 00 00 00 80")) == min);
    CHECK(round_trip(min) == min);
  }
  SUBCASE("INT64_MAX") {
    CHECK(encode(max) == hex("09 ff ff ff ff ff ff ff 7f"));
    CHECK(decode<std::int64_t>(hex("09 ff ff ff ff ff ff ff 7f")) == max);
    CHECK(round_trip(max) == max);
  }
}

// --- float -----------------------------------------------------------------------------------

TEST_CASE("a float is a FloatWrapper: 0d and the IEEE-754 bits little-endian") {
  CHECK(encode(1.5f) == "\r\000\000\300?"sv);  // test/data/vectors.md, types-write
  CHECK(encode(-2.0f) == hex("0d 00 00 00 c0"));
  CHECK(decode<float>(hex("0d 00 00 c0 3f")) == 1.5f);
  CHECK(encode(std::numeric_limits<float>::max()) == hex("0d ff ff 7f 7f"));
  CHECK(round_trip(std::numeric_limits<float>::lowest()) == std::numeric_limits<float>::lowest());
}

TEST_CASE("a float of +0.0 is no bytes, but -0.0 is written and kept") {
  CHECK(encode(0.0f).empty());
  CHECK(!std::signbit(decode<float>("")));
  CHECK(decode<float>("") == 0.0f);

  CHECK(encode(-0.0f) == hex("0d 00 00 00 80"));
  const float back = decode<float>(hex("0d 00 00 00 80"));
  CHECK(back == 0.0f);
  CHECK(std::signbit(back));
  CHECK(std::bit_cast<std::uint32_t>(round_trip(-0.0f)) == 0x8000'0000u);
}

TEST_CASE("a float infinity of either sign round-trips") {
  constexpr float inf = std::numeric_limits<float>::infinity();
  CHECK(encode(inf) == hex("0d 00 00 80 7f"));
  CHECK(encode(-inf) == hex("0d 00 00 80 ff"));
  CHECK(decode<float>(hex("0d 00 00 80 7f")) == inf);
  CHECK(decode<float>(hex("0d 00 00 80 ff")) == -inf);
}

TEST_CASE("a float NaN keeps its exact bit pattern, sign and payload included") {
  SUBCASE("the canonical quiet NaN") {
    const float nan = std::bit_cast<float>(std::uint32_t{0x7fc0'0000});
    CHECK(encode(nan) == hex("0d 00 00 c0 7f"));
    CHECK(std::bit_cast<std::uint32_t>(decode<float>(hex("0d 00 00 c0 7f"))) == 0x7fc0'0000u);
  }
  SUBCASE("a negative quiet NaN with a payload") {
    const float nan = std::bit_cast<float>(std::uint32_t{0xffc1'2345});
    CHECK(std::isnan(nan));
    CHECK(encode(nan) == hex("0d 45 23 c1 ff"));
    CHECK(std::bit_cast<std::uint32_t>(decode<float>(hex("0d 45 23 c1 ff"))) == 0xffc1'2345u);
  }
}

TEST_CASE("float denormals round-trip exactly") {
  SUBCASE("the smallest denormal") {
    const float tiny = std::numeric_limits<float>::denorm_min();
    CHECK(encode(tiny) == hex("0d 01 00 00 00"));
    CHECK(decode<float>(hex("0d 01 00 00 00")) == tiny);
  }
  SUBCASE("the largest denormal") {
    const float big = std::bit_cast<float>(std::uint32_t{0x007f'ffff});
    CHECK(encode(big) == hex("0d ff ff 7f 00"));
    CHECK(decode<float>(hex("0d ff ff 7f 00")) == big);
    CHECK(std::fpclassify(decode<float>(hex("0d ff ff 7f 00"))) == FP_SUBNORMAL);
  }
  SUBCASE("a negative denormal") {
    const float neg = -std::numeric_limits<float>::denorm_min();
    CHECK(encode(neg) == hex("0d 01 00 00 80"));
    CHECK(round_trip(neg) == neg);
  }
}

// --- double ----------------------------------------------------------------------------------

TEST_CASE("a double is a DoubleWrapper: 09 and the IEEE-754 bits little-endian") {
  CHECK(encode(-0.25) == "\t\000\000\000\000\000\000\320\277"sv);  // test/data/vectors.md, types-write
  CHECK(encode(2.5) == hex("09 00 00 00 00 00 00 04 40"));
  CHECK(encode(1.0) == hex("09 00 00 00 00 00 00 f0 3f"));
  CHECK(decode<double>(hex("09 00 00 00 00 00 00 04 40")) == 2.5);
  CHECK(round_trip(std::numeric_limits<double>::max()) == std::numeric_limits<double>::max());
}

TEST_CASE("a double of +0.0 is no bytes, but -0.0 is written and kept") {
  CHECK(encode(0.0).empty());
  CHECK(!std::signbit(decode<double>("")));
  CHECK(encode(-0.0) == hex("09 00 00 00 00 00 00 00 80"));
  CHECK(std::signbit(decode<double>(hex("09 00 00 00 00 00 00 00 80"))));
  CHECK(std::bit_cast<std::uint64_t>(round_trip(-0.0)) == 0x8000'0000'0000'0000u);
}

TEST_CASE("a double infinity of either sign round-trips") {
  constexpr double inf = std::numeric_limits<double>::infinity();
  CHECK(encode(inf) == hex("09 00 00 00 00 00 00 f0 7f"));
  CHECK(encode(-inf) == hex("09 00 00 00 00 00 00 f0 ff"));
  CHECK(decode<double>(hex("09 00 00 00 00 00 00 f0 7f")) == inf);
  CHECK(decode<double>(hex("09 00 00 00 00 00 00 f0 ff")) == -inf);
}

TEST_CASE("a double NaN keeps its exact bit pattern, sign and payload included") {
  SUBCASE("the canonical quiet NaN") {
    const double nan = std::bit_cast<double>(std::uint64_t{0x7ff8'0000'0000'0000});
    CHECK(encode(nan) == hex("09 00 00 00 00 00 00 f8 7f"));
    CHECK(std::bit_cast<std::uint64_t>(round_trip(nan)) == 0x7ff8'0000'0000'0000u);
  }
  SUBCASE("a negative quiet NaN with a payload") {
    const double nan = std::bit_cast<double>(std::uint64_t{0xfff8'0123'4567'89ab});
    CHECK(encode(nan) == hex("09 ab 89 67 45 23 01 f8 ff"));
    CHECK(std::bit_cast<std::uint64_t>(decode<double>(hex("09 ab 89 67 45 23 01 f8 ff"))) ==
          0xfff8'0123'4567'89abu);
  }
}

TEST_CASE("double denormals round-trip exactly") {
  const double tiny = std::numeric_limits<double>::denorm_min();
  CHECK(encode(tiny) == hex("09 01 00 00 00 00 00 00 00"));
  CHECK(decode<double>(hex("09 01 00 00 00 00 00 00 00")) == tiny);
  const double big = std::bit_cast<double>(std::uint64_t{0x000f'ffff'ffff'ffff});
  CHECK(encode(big) == hex("09 ff ff ff ff ff ff 0f 00"));
  CHECK(std::fpclassify(round_trip(big)) == FP_SUBNORMAL);
  CHECK(round_trip(big) == big);
}

TEST_CASE("int and float share tag 0d, long and double share 09: the bytes alone do not tell") {
  // docs/types.md: only the type name tells them apart, so each decodes the other's bytes.
  CHECK(decode<float>(hex("0d 00 00 c0 3f")) == 1.5f);
  CHECK(decode<std::int32_t>(hex("0d 00 00 c0 3f")) == 0x3fc0'0000);
  CHECK(decode<double>(hex("09 00 00 00 00 00 00 04 40")) == 2.5);
  CHECK(decode<std::int64_t>(hex("09 00 00 00 00 00 00 04 40")) == 0x4004'0000'0000'0000);
}

// --- string ----------------------------------------------------------------------------------

TEST_CASE("a string is a StringWrapper: 0a, a varint length and the UTF-8 bytes") {
  CHECK(encode(std::string("hello")) == "\n\005hello"sv);  // test/data/vectors.md, counter-absent
  CHECK(encode(std::string("echo:one")) == "\n\010echo:one"sv);
  CHECK(decode<std::string>("\n\002hi"sv) == "hi");
}

TEST_CASE("an empty string encodes as no bytes, and no bytes decode as an empty string") {
  CHECK(encode(std::string()).empty());
  CHECK(encode(std::string_view()).empty());
  CHECK(decode<std::string>("").empty());
  CHECK(decode<std::string>(hex("0a 00")).empty());
}

TEST_CASE("a non-ASCII UTF-8 string travels as its bytes, unchanged") {
  SUBCASE("two- and three-byte sequences") {
    const std::string text = "h\xc3\xa9llo \xe2\x9c\x93";      // "héllo ✓"
    CHECK(encode(text) == "\n\nh\303\251llo \342\234\223"sv);  // test/data/vectors.md, types-write
    CHECK(decode<std::string>("\n\nh\303\251llo \342\234\223"sv) == text);
  }
  SUBCASE("a four-byte sequence") {
    const std::string text = "\xf0\x9f\x98\x80";  // U+1F600
    CHECK(encode(text) == hex("0a 04 f0 9f 98 80"));
    CHECK(round_trip(text) == text);
  }
  SUBCASE("an embedded NUL") {
    const std::string text("a\0b", 3);
    CHECK(encode(text) == hex("0a 03 61 00 62"));
    CHECK(round_trip(text) == text);
  }
}

TEST_CASE("a string length switches to a longer varint at 128 bytes") {
  SUBCASE("127 bytes take a one-byte length") {
    const std::string text(127, 'x');
    const std::string bytes = encode(text);
    CHECK(bytes.substr(0, 2) == hex("0a 7f"));
    CHECK(bytes.size() == 2 + 127);
    CHECK(decode<std::string>(bytes) == text);
  }
  SUBCASE("128 bytes take a two-byte length") {
    const std::string text(128, 'x');
    const std::string bytes = encode(text);
    CHECK(bytes.substr(0, 3) == hex("0a 80 01"));
    CHECK(bytes.size() == 3 + 128);
    CHECK(decode<std::string>(bytes) == text);
  }
}

TEST_CASE("a 1 MiB string round-trips with a three-byte varint length") {
  std::string text(std::size_t{1} << 20, '\0');
  for (std::size_t i = 0; i < text.size(); ++i) {
    text[i] = static_cast<char>('a' + i % 26);
  }
  const std::string bytes = encode(text);
  // 1048576 = 2^20: low seven bits 0, next seven 0, then 0x40.
  CHECK(bytes.substr(0, 4) == hex("0a 80 80 40"));
  CHECK(bytes.size() == 4 + text.size());
  CHECK(bytes.compare(4, std::string::npos, text) == 0);
  CHECK(decode<std::string>(bytes) == text);
}

TEST_CASE("a string_view decodes as a view into the bytes it came from") {
  const std::string bytes = "\n\005hello";
  const std::string_view view = decode<std::string_view>(bytes);
  CHECK(view == "hello");
  const char* const begin = bytes.data();
  const char* const end = bytes.data() + bytes.size();
  CHECK(view.data() == begin + 2);
  CHECK(view.data() >= begin);
  CHECK(view.data() + view.size() <= end);
}

TEST_CASE("a string_view encodes exactly as a std::string does") {
  CHECK(encode(std::string_view("hello")) == "\n\005hello"sv);
  CHECK(encode(std::string_view("h\xc3\xa9")) == hex("0a 03 68 c3 a9"));
}

// --- Lenient decoding ------------------------------------------------------------------------

TEST_CASE("unknown fields are skipped, whatever their wire type") {
  SUBCASE("a varint field before field 1") {
    CHECK(decode<std::int32_t>(hex("10 05 0d 2a 00 00 00")) == 42);
  }
  SUBCASE("a length-delimited field after field 1") {
    CHECK(decode<std::int32_t>(hex("0d 2a 00 00 00 1a 02 78 79")) == 42);
  }
  SUBCASE("fixed64 and fixed32 fields around field 1") {
    CHECK(decode<std::string>(hex("11 01 02 03 04 05 06 07 08 0a 02 68 69 15 01 02 03 04")) ==
          "hi");
  }
  SUBCASE("an unknown field with a large field number") {
    // Field 536870911 (the largest), varint: key f8 ff ff ff 0f.
    CHECK(decode<bool>(hex("f8 ff ff ff 0f 07 08 01")) == true);
  }
  SUBCASE("only unknown fields: the zero value") {
    CHECK(decode<std::int64_t>(hex("10 01 1a 00")) == 0);
    CHECK(decode<std::string>(hex("10 01")).empty());
  }
}

TEST_CASE("when field 1 is given twice, the last value wins") {
  SUBCASE("int") { CHECK(decode<std::int32_t>(hex("0d 01 00 00 00 0d 02 00 00 00")) == 2); }
  SUBCASE("long") {
    CHECK(decode<std::int64_t>(hex("09 01 00 00 00 00 00 00 00 09 03 00 00 00 00 00 00 00")) == 3);
  }
  SUBCASE("float") { CHECK(decode<float>(hex("0d 00 00 80 3f 0d 00 00 c0 3f")) == 1.5f); }
  SUBCASE("double") {
    CHECK(decode<double>(hex("09 00 00 00 00 00 00 f0 3f 09 00 00 00 00 00 00 04 40")) == 2.5);
  }
  SUBCASE("string") { CHECK(decode<std::string>(hex("0a 01 61 0a 01 62")) == "b"); }
  SUBCASE("a later explicit zero overrides an earlier value") {
    CHECK(decode<std::int32_t>(hex("0d 07 00 00 00 0d 00 00 00 00")) == 0);
  }
}

// --- Malformed payloads ----------------------------------------------------------------------

TEST_CASE("a truncated fixed-width value throws decode_error") {
  SUBCASE("int: three of four bytes") {
    CHECK_THROWS_AS((void)decode<std::int32_t>(hex("0d 01 02 03")), statefun::decode_error);
  }
  SUBCASE("float: the tag alone") {
    CHECK_THROWS_AS((void)decode<float>(hex("0d")), statefun::decode_error);
  }
  SUBCASE("long: seven of eight bytes") {
    CHECK_THROWS_AS((void)decode<std::int64_t>(hex("09 01 02 03 04 05 06 07")),
                    statefun::decode_error);
  }
  SUBCASE("double: one byte") {
    CHECK_THROWS_AS((void)decode<double>(hex("09 01")), statefun::decode_error);
  }
  SUBCASE("an unknown fixed32 field cut short") {
    CHECK_THROWS_AS((void)decode<bool>(hex("08 01 15 00")), statefun::decode_error);
  }
}

TEST_CASE("a bad varint throws decode_error") {
  SUBCASE("a bool value cut off mid-varint") {
    CHECK_THROWS_AS((void)decode<bool>(hex("08 ff")), statefun::decode_error);
  }
  SUBCASE("a varint longer than ten bytes") {
    CHECK_THROWS_AS((void)decode<bool>(hex("08 ff ff ff ff ff ff ff ff ff ff 01")),
                    statefun::decode_error);
  }
  SUBCASE("a tenth byte above 1") {
    CHECK_THROWS_AS((void)decode<bool>(hex("08 ff ff ff ff ff ff ff ff ff 02")),
                    statefun::decode_error);
  }
  SUBCASE("a key cut off mid-varint") {
    CHECK_THROWS_AS((void)decode<std::int32_t>(hex("80")), statefun::decode_error);
  }
  SUBCASE("a string length cut off mid-varint") {
    CHECK_THROWS_AS((void)decode<std::string>(hex("0a 80")), statefun::decode_error);
  }
}

TEST_CASE("field 1 with the wrong wire type throws decode_error") {
  SUBCASE("int sent as a varint") {
    CHECK_THROWS_AS((void)decode<std::int32_t>(hex("08 2a")), statefun::decode_error);
  }
  SUBCASE("long sent as a fixed32") {
    CHECK_THROWS_AS((void)decode<std::int64_t>(hex("0d 2a 00 00 00")), statefun::decode_error);
  }
  SUBCASE("float sent as a fixed64") {
    CHECK_THROWS_AS((void)decode<float>(hex("09 00 00 00 00 00 00 f0 3f")), statefun::decode_error);
  }
  SUBCASE("double sent as a fixed32") {
    CHECK_THROWS_AS((void)decode<double>(hex("0d 00 00 c0 3f")), statefun::decode_error);
  }
  SUBCASE("bool sent as a string") {
    CHECK_THROWS_AS((void)decode<bool>(hex("0a 01 01")), statefun::decode_error);
  }
  SUBCASE("string sent as a varint") {
    CHECK_THROWS_AS((void)decode<std::string>(hex("08 01")), statefun::decode_error);
  }
  SUBCASE("string_view sent as a fixed32") {
    CHECK_THROWS_AS((void)decode<std::string_view>(hex("0d 61 62 63 64")), statefun::decode_error);
  }
}

TEST_CASE("other malformed wrappers throw decode_error") {
  SUBCASE("a string length past the end") {
    CHECK_THROWS_AS((void)decode<std::string>(hex("0a 05 61 62")), statefun::decode_error);
  }
  SUBCASE("field number 0") {
    CHECK_THROWS_AS((void)decode<std::int32_t>(hex("05 00 00 00 00")), statefun::decode_error);
  }
  SUBCASE("a group wire type") {
    CHECK_THROWS_AS((void)decode<bool>(hex("0b 0c")), statefun::decode_error);
  }
  SUBCASE("the reserved wire types 6 and 7") {
    CHECK_THROWS_AS((void)decode<bool>(hex("0e")), statefun::decode_error);
    CHECK_THROWS_AS((void)decode<bool>(hex("0f")), statefun::decode_error);
  }
}

TEST_CASE("a decode_error names the type whose bytes were malformed") {
  try {
    (void)decode<std::int32_t>(hex("0d 01 02"));
    FAIL("no exception");
  } catch (const statefun::decode_error& e) {
    CHECK(std::string_view(e.what()).find("io.statefun.types/int") != std::string_view::npos);
  }
  try {
    (void)decode<std::string>(hex("0a 05 61"));
    FAIL("no exception");
  } catch (const statefun::decode_error& e) {
    CHECK(std::string_view(e.what()).find("io.statefun.types/string") != std::string_view::npos);
  }
}

TEST_CASE("decode_error and type_mismatch are runtime errors") {
  static_assert(std::is_base_of_v<std::runtime_error, statefun::decode_error>);
  static_assert(std::is_base_of_v<std::runtime_error, statefun::type_mismatch>);
  const statefun::decode_error e("bad");
  CHECK(std::string_view(e.what()) == "bad");
}
