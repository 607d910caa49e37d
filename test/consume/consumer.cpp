// A program that uses statefun-cpp the way a consumer would: include the umbrella header and
// print the version. test/consume/run builds it through dependency('statefun') and against a
// bare copy of include/.
#if __has_include(<statefun/statefun.hpp>)
#include <statefun/statefun.hpp>
#else
#include <statefun/config.hpp>  // until the umbrella header exists
#endif

#include <cstdio>

int main() {
  std::printf("statefun %s\n", statefun::version_string);
  return 0;
}
