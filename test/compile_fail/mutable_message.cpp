// A function that takes the message by non-const reference: the one error says how to take it.
// expect-error: statefun: functions::bind: take the message as const statefun::message&
#include <statefun/functions.hpp>

#ifdef STATEFUN_MISUSE
void greet(statefun::context&, statefun::message&) {}
#else
void greet(statefun::context&, const statefun::message&) {}
#endif

void bind(statefun::functions& fns) { fns.bind("example/greeter", greet); }
