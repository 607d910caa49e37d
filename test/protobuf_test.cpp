#include <statefun/protobuf.hpp>

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

#include "support/doctest.hpp"
#include "support/values.hpp"

// A real protobuf message needs libprotobuf at link time, which the unit binary does not link.
// Build with -DSTATEFUN_TEST_LIBPROTOBUF and -lprotobuf to add the test against
// google.protobuf.StringValue (whose generated code ships with libprotobuf-dev).
#if defined(STATEFUN_TEST_LIBPROTOBUF) && __has_include(<google/protobuf/wrappers.pb.h>)
#include <google/protobuf/wrappers.pb.h>
#define STATEFUN_TEST_HAS_LIBPROTOBUF 1
#else
#define STATEFUN_TEST_HAS_LIBPROTOBUF 0
#endif

using namespace std::string_view_literals;

namespace {

/// Exactly the duck-typed interface of `google::protobuf::MessageLite` that protobuf.hpp uses,
/// with the wire format of `message Point { sfixed32 x = 1; }` written by hand.
class fake_point {
 public:
  fake_point() = default;
  explicit fake_point(std::int32_t x) : x_(x) {}

  [[nodiscard]] std::int32_t x() const noexcept { return x_; }
  /// When set, AppendToString fails, as a message with missing required fields does.
  void make_unserialisable() noexcept { unserialisable_ = true; }

  bool AppendToString(std::string* out) const {
    if (unserialisable_) {
      return false;
    }
    if (x_ != 0) {
      const auto bits = static_cast<std::uint32_t>(x_);
      out->push_back('\x0d');
      for (int i = 0; i < 4; ++i) {
        out->push_back(static_cast<char>(static_cast<unsigned char>(bits >> (8 * i))));
      }
    }
    return true;
  }

  bool ParseFromArray(const void* data, int size) {
    const auto* bytes = static_cast<const unsigned char*>(data);
    if (size == 0) {
      x_ = 0;
      return true;
    }
    if (size != 5 || bytes[0] != 0x0d) {
      return false;
    }
    std::uint32_t bits = 0;
    for (int i = 0; i < 4; ++i) {
      bits |= static_cast<std::uint32_t>(bytes[1 + i]) << (8 * i);
    }
    x_ = static_cast<std::int32_t>(bits);
    return true;
  }

  [[nodiscard]] std::string GetTypeName() const { return "example.geo.Point"; }

 private:
  std::int32_t x_ = 0;
  bool unserialisable_ = false;
};

// Each of these lacks one piece of the interface, so none is a protobuf message.
struct no_append {
  bool ParseFromArray(const void*, int) { return true; }
  std::string GetTypeName() const { return "a.B"; }
};
struct no_parse {
  bool AppendToString(std::string*) const { return true; }
  std::string GetTypeName() const { return "a.B"; }
};
struct no_type_name {
  bool AppendToString(std::string*) const { return true; }
  bool ParseFromArray(const void*, int) { return true; }
};
struct not_default_constructible {
  explicit not_default_constructible(int) {}
  bool AppendToString(std::string*) const { return true; }
  bool ParseFromArray(const void*, int) { return true; }
  std::string GetTypeName() const { return "a.B"; }
};

using statefun::test::encode;

}  // namespace

static_assert(statefun::protobuf_message<fake_point>);
static_assert(statefun::typed<fake_point>);
static_assert(!statefun::protobuf_message<no_append>);
static_assert(!statefun::protobuf_message<no_parse>);
static_assert(!statefun::protobuf_message<no_type_name>);
static_assert(!statefun::protobuf_message<not_default_constructible>);
static_assert(!statefun::typed<no_append>);
// The built-ins keep their own specialisations.
static_assert(!statefun::protobuf_message<std::string>);

TEST_CASE("a class with the protobuf message interface is a value type without libprotobuf") {
  CHECK(statefun::type<fake_point>::name() == "type.googleapis.com/example.geo.Point");
  CHECK(statefun::type_name_of<fake_point>() == "type.googleapis.com/example.geo.Point");
}

TEST_CASE("a protobuf value type encodes with AppendToString and decodes with ParseFromArray") {
  SUBCASE("a value") {
    const std::string bytes = encode(fake_point{-7});
    CHECK(bytes == "\r\371\377\377\377"sv);
    CHECK(statefun::type<fake_point>::decode(bytes).x() == -7);
  }
  SUBCASE("the default message is no bytes") {
    CHECK(encode(fake_point{}).empty());
    CHECK(statefun::type<fake_point>::decode("").x() == 0);
  }
  SUBCASE("encoding appends to what is already there") {
    std::string out = "prefix";
    statefun::type<fake_point>::encode(fake_point{1}, out);
    CHECK(out == "prefix\r\001\000\000\000"sv);
  }
}

TEST_CASE("bytes that ParseFromArray refuses throw decode_error naming the type") {
  try {
    (void)statefun::type<fake_point>::decode("\r\001\002"sv);
    FAIL("no exception");
  } catch (const statefun::decode_error& e) {
    CHECK(std::string_view(e.what()).find("type.googleapis.com/example.geo.Point") !=
          std::string_view::npos);
  }
}

TEST_CASE("a message that AppendToString refuses throws invalid_argument naming the type") {
  fake_point p{3};
  p.make_unserialisable();
  try {
    (void)encode(p);
    FAIL("no exception");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string_view(e.what()).find("type.googleapis.com/example.geo.Point") !=
          std::string_view::npos);
  }
}

#if STATEFUN_TEST_HAS_LIBPROTOBUF
TEST_CASE("a real protobuf message travels under type.googleapis.com/<full name>") {
  static_assert(statefun::protobuf_message<google::protobuf::StringValue>);
  CHECK(statefun::type_name_of<google::protobuf::StringValue>() ==
        "type.googleapis.com/google.protobuf.StringValue");

  google::protobuf::StringValue value;
  value.set_value("h\xc3\xa9llo");
  const std::string bytes = encode(value);
  CHECK(bytes == "\n\006h\303\251llo"sv);
  CHECK(statefun::type<google::protobuf::StringValue>::decode(bytes).value() == "h\xc3\xa9llo");
  CHECK_THROWS_AS((void)statefun::type<google::protobuf::StringValue>::decode("\n\005ab"sv),
                  statefun::decode_error);
}
#endif
