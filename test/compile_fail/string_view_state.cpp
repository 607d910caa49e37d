// State must own its value: a value_spec of std::string_view must not compile.
// expect-error: state must own its value: use value_spec<std::string>
#include <statefun/value_spec.hpp>

#include <string>

#ifdef STATEFUN_MISUSE
const statefun::value_spec<std::string_view> name{"name"};
#else
const statefun::value_spec<std::string> name{"name"};
#endif
