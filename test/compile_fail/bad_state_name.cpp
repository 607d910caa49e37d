// A constexpr value_spec with an invalid state name is a compile error, not a runtime one.
// (Both compilers show the throw that a constant expression cannot take, with its text.)
// expect-note: throw std::invalid_argument("statefun: state name
#include <statefun/value_spec.hpp>

#include <cstdint>

#ifdef STATEFUN_MISUSE
constexpr statefun::value_spec<std::int32_t> count{"1count"};
#else
constexpr statefun::value_spec<std::int32_t> count{"count"};
#endif
