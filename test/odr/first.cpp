// The ODR test: this TU and second.cpp both include everything and are linked into one program.
// A non-inline function or variable defined in a header then fails the link with a duplicate
// symbol (fmt's ranges-odr-test, cpp-httplib's include_httplib.cc).
#include <statefun/durable.hpp>
#include <statefun/json.hpp>
#include <statefun/statefun.hpp>
#include <statefun/testing.hpp>

#include <string_view>

std::string_view statefun_version_seen_by_second();

int main() {
  // Calling into the other TU keeps it in the link.
  return std::string_view{statefun::version_string} == statefun_version_seen_by_second() ? 0 : 1;
}
