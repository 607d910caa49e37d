// A task is awaited once, as an rvalue: awaiting a named task must not compile.
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
