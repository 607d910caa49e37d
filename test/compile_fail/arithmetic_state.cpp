// An arithmetic type that StateFun has no type for: the one error names the built-in ones.
// expect-error: statefun: this arithmetic type is not a StateFun type
#include <statefun/value_spec.hpp>

#include <cstdint>

#ifdef STATEFUN_MISUSE
constexpr statefun::value_spec<unsigned> count{"count"};
#else
constexpr statefun::value_spec<std::int64_t> count{"count"};
#endif
