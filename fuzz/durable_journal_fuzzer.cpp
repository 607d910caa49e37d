// libFuzzer target: a durable function's journal, which comes back from the runtime as state
// bytes and may be anything (another SDK's value under the reserved name, a corrupted store).
//
// For every input:
//   1. journal_codec::decode never crashes or reads outside the input (ASan).
//   2. If it accepts: encode -> decode -> encode is a fixed point, and an empty journal encodes
//      as nothing (the state is then removed).
//   3. A handler serving a durable function, given the input as the journal state and a message
//      for each of the engine's paths (a wake, a reply from an address the journal may name, a
//      new message), answers or reports an error: it never crashes, hangs or leaks (ASan).

#include <statefun/codec/to_function.hpp>
#include <statefun/detail/durable_journal.hpp>
#include <statefun/durable.hpp>
#include <statefun/statefun.hpp>

#include "fuzz_check.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

using namespace std::chrono_literals;
namespace dj = statefun::detail;

const statefun::functions& durable_functions() {
  static const statefun::functions fns = [] {
    statefun::functions f;
    f.bind("fuzz/flow", [](statefun::durable_context& ctx, const statefun::message&) -> statefun::task<> {
      const auto reply = co_await ctx.call<std::string>({"fuzz/other", "1"}, std::string("q"), {.timeout = 5s});
      co_await ctx.sleep(1s);
      const auto n = co_await ctx.run("step", [] { return std::int64_t{7}; });
      auto [a, b] = co_await ctx.all(ctx.call<std::int64_t>({"fuzz/other", "2"}, n), ctx.sleep(2s));
      (void)a;
      (void)b;
      ctx.send(statefun::message_to({"fuzz/other", "1"}).value(reply));
    });
    return f;
  }();
  return fns;
}

void check_round_trip(std::string_view bytes) {
  dj::journal first;
  if (!dj::journal_codec::decode(bytes, first)) {
    return;
  }
  const std::string encoded = dj::journal_codec::encode(first);
  statefun::fuzz::require(!first.empty() || encoded.empty(), "an empty journal encodes as bytes");
  dj::journal second;
  statefun::fuzz::require(dj::journal_codec::decode(encoded, second), "our own encoding does not decode");
  statefun::fuzz::require(dj::journal_codec::encode(second) == encoded, "encode -> decode -> encode is not a fixed point");
}

void check_handler(std::string_view journal) {
  static statefun::request_reply_handler handler = durable_functions().handler();
  const std::string wake = dj::journal_codec::encode_wake(1, 0);
  const statefun::codec::address_view self{"fuzz", "flow", "x"};
  const statefun::codec::address_view other{"fuzz", "other", "1"};
  statefun::codec::invocation_batch_view batch;
  batch.target = self;
  batch.states.push_back({dj::journal_state_name, true, {dj::journal_type_name, true, journal}});
  batch.invocations.push_back({self, {dj::wake_type_name, true, wake}});
  batch.invocations.push_back({other, {"io.statefun.types/string", true, std::string_view("\x0a\x01r", 3)}});
  batch.invocations.push_back({std::nullopt, {"io.statefun.types/string", true, std::string_view("\x0a\x01m", 3)}});
  std::string request;
  batch.encode(request);
  (void)handler.handle_sync(request);  // an answer or an error, both fine
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  check_round_trip(bytes);
  check_handler(bytes);
  return 0;
}
