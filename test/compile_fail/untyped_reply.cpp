// A function that returns (replies with) a type with no statefun::type<T>: one error, at bind.
// expect-error: statefun: this type has no statefun::type<T>, so it cannot be sent or stored
#include <statefun/functions.hpp>

struct receipt {
  int id = 0;
};

#ifdef STATEFUN_MISUSE
receipt checkout(statefun::context&, const statefun::message&) { return {}; }
#else
int checkout(statefun::context&, const statefun::message&) { return 0; }
#endif

void bind(statefun::functions& fns) { fns.bind("example/checkout", checkout); }
