// A task is awaited once, as an rvalue: awaiting a named task must not compile.
// (g++ adds a second error, that the deleted operator has no await_ready.)
// expect-note: a task is awaited once, as an rvalue: co_await std::move(t)
// max-errors: 2
#include <statefun/task.hpp>

statefun::task<int> child() { co_return 1; }

statefun::task<int> parent() {
  auto t = child();
#ifdef STATEFUN_MISUSE
  co_return co_await t;
#else
  co_return co_await std::move(t);
#endif
}
