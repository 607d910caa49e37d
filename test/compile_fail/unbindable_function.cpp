// A function that bind cannot call: the one error lists the forms bind takes.
// expect-error: statefun: functions::bind cannot call this function
#include <statefun/functions.hpp>

#ifdef STATEFUN_MISUSE
void greet(statefun::context&) {}
#else
void greet(statefun::context&, const statefun::message&) {}
#endif

void bind(statefun::functions& fns) { fns.bind("example/greeter", greet); }
