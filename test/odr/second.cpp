// The second TU of the ODR test (see first.cpp).
#include <statefun/durable.hpp>
#include <statefun/json.hpp>
#include <statefun/statefun.hpp>
#include <statefun/testing.hpp>

#include <string_view>

std::string_view statefun_version_seen_by_second() { return statefun::version_string; }
