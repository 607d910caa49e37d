// A CGI program serving bench/counter, the function test/data/workloads/w1_counter.bin targets
// (bench/dispatch.cpp binds the same one): it reads `count` (0 if absent), adds 1 and writes it
// back. test/cgi/run_python_host runs it behind `python3 -m http.server --cgi`.
#include <statefun/cgi.hpp>

#include <cstdint>

namespace {

constexpr statefun::value_spec<std::int32_t> count{"count"};

void counter(statefun::context& ctx, const statefun::message&) {
  ctx.storage().set(count, ctx.storage().get(count).value_or(0) + 1);
}

}  // namespace

int main() {
  statefun::functions fns;
  fns.bind("bench/counter", {count}, counter);
  return statefun::cgi::serve(fns);
}
