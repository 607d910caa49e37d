#pragma once

#include <statefun/task.hpp>

namespace statefun_test {

// The smallest coroutines, for the task and sync_wait tests to await.

inline statefun::task<int> answer() { co_return 42; }

inline statefun::task<void> nothing() { co_return; }

inline statefun::task<int&> reference_to(int& value) { co_return value; }

}  // namespace statefun_test
