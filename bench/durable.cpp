// What a durable step costs next to a plain invocation (issue 7): the request handler in
// process, on requests as the runtime sends them, with the journal a real run leaves behind.
//
//   durable [--only NAME[,NAME...]] [--iterations N] [--runs R] [--json]
//
// Benchmarks (one operation = one request):
//   plain       a plain function reads and writes one state (W1's counter)
//   start       a durable flow starts: it writes the state, sleeps (a delayed message), parks
//   resume-K    the wake of the K-th sleep reaches a flow that has slept K times: the engine
//               replays K steps, issues the next sleep and parks (K = 1, 4, 16)
// For each it prints ns/op (min of the runs), the journal's size in bytes after the request,
// and checks the response once before timing. bench/callgrind (which toggles on `*::measure(*`)
// gives instructions per operation: `bench/callgrind build/bench/durable plain start resume-4`.

#include <statefun/codec/from_function.hpp>
#include <statefun/codec/to_function.hpp>
#include <statefun/detail/durable_journal.hpp>
#include <statefun/durable.hpp>
#include <statefun/statefun.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace bench {

using namespace std::chrono_literals;
namespace dj = statefun::detail;

constexpr auto count = statefun::value_spec<std::int64_t>{"count"};

void counter(statefun::context& ctx, const statefun::message&) {
  ctx.storage().set(count, ctx.storage().get(count).value_or(0) + 1);
}

statefun::task<> sleeper(statefun::durable_context& ctx, const statefun::message&) {
  ctx.storage().set(count, ctx.storage().get(count).value_or(0) + 1);
  for (int i = 0; i < 64; ++i) {
    co_await ctx.sleep(1s);
  }
}

const statefun::functions& registry() {
  static const statefun::functions fns = [] {
    statefun::functions f;
    f.bind("bench/counter", {count}, counter);
    f.bind("bench/sleeper", {count}, sleeper);
    return f;
  }();
  return fns;
}

/// A ToFunction for `type`/"user-1" with the given state values and one invocation.
std::string request(std::string_view type, std::string_view count_bytes, std::string_view journal,
                    const std::optional<statefun::codec::address_view>& caller, std::string_view arg_type,
                    std::string_view arg) {
  statefun::codec::invocation_batch_view batch;
  batch.target = {"bench", type, "user-1"};
  batch.states.push_back({"count", !count_bytes.empty(), {"io.statefun.types/long", true, count_bytes}});
  if (type == "sleeper") {
    batch.states.push_back({dj::journal_state_name, !journal.empty(), {dj::journal_type_name, true, journal}});
  }
  batch.invocations.push_back({caller, {arg_type, true, arg}});
  std::string out;
  batch.encode(out);
  return out;
}

/// The state values a response leaves: `count` and the journal.
struct left_behind {
  std::string count_bytes;
  std::string journal;
  std::size_t delayed = 0;
};

left_behind apply(std::string_view response, std::string_view count_before, std::string_view journal_before) {
  statefun::codec::from_function_view view;
  if (!view.decode(response)) {
    throw std::runtime_error("not a FromFunction");
  }
  left_behind out{std::string(count_before), std::string(journal_before), view.delayed.size()};
  for (const auto& m : view.mutations) {
    std::string& target = m.state_name == "count" ? out.count_bytes : out.journal;
    target = m.type == statefun::codec::mutation_type::modify ? std::string(m.value.value) : std::string();
  }
  return out;
}

struct benchmark {
  std::string name;
  std::string request;
  std::size_t journal_bytes = 0;
};

/// The requests: each built from the state the previous step of a real run left.
std::vector<benchmark> benchmarks() {
  auto handler = registry().handler();
  std::vector<benchmark> out;
  const std::string ingress_arg = "\x0a\x02go";
  out.push_back({"plain", request("counter", "", "", std::nullopt, "io.statefun.types/string", ingress_arg), 0});

  const std::string start = request("sleeper", "", "", std::nullopt, "io.statefun.types/string", ingress_arg);
  auto answer = handler.handle_sync(start);
  if (!answer) {
    throw std::runtime_error(answer.error().message());
  }
  left_behind state = apply(*answer, "", "");
  out.push_back({"start", start, state.journal.size()});
  const statefun::codec::address_view self{"bench", "sleeper", "user-1"};
  for (std::uint32_t k = 1; k <= 16; ++k) {
    const std::string wake = dj::journal_codec::encode_wake(1, k - 1);
    const std::string resume = request("sleeper", state.count_bytes, state.journal, self, dj::wake_type_name, wake);
    answer = handler.handle_sync(resume);
    if (!answer) {
      throw std::runtime_error(answer.error().message());
    }
    state = apply(*answer, state.count_bytes, state.journal);
    if (state.delayed != 1) {
      throw std::runtime_error("resume-" + std::to_string(k) + " did not issue the next sleep");
    }
    if (k == 1 || k == 4 || k == 16) {
      out.push_back({"resume-" + std::to_string(k), resume, state.journal.size()});
    }
  }
  return out;
}

/// The timed loop (callgrind collects inside it only).
[[gnu::noinline]] std::size_t measure(statefun::request_reply_handler& handler, const std::string& body,
                                      std::size_t iterations) {
  std::size_t bytes = 0;
  for (std::size_t i = 0; i < iterations; ++i) {
    const auto answer = handler.handle_sync(body);
    bytes += answer ? answer->size() : 0;
  }
  return bytes;
}

}  // namespace bench

int main(int argc, char** argv) {
  std::size_t iterations = 200'000;
  int runs = 3;
  bool json = false;
  std::vector<std::string> only;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--iterations" && i + 1 < argc) {
      iterations = std::strtoull(argv[++i], nullptr, 10);
    } else if (arg == "--runs" && i + 1 < argc) {
      runs = std::atoi(argv[++i]);
    } else if (arg == "--only" && i + 1 < argc) {
      std::string list = argv[++i];
      for (std::size_t at = 0; at <= list.size();) {
        const std::size_t comma = std::min(list.find(',', at), list.size());
        only.push_back(list.substr(at, comma - at));
        at = comma + 1;
      }
    } else if (arg == "--json") {
      json = true;
    } else if (arg != "--data" || ++i >= argc) {  // --data: bench/callgrind may pass it
      std::fprintf(stderr, "usage: durable [--only NAME[,NAME...]] [--iterations N] [--runs R] [--json]\n");
      return 2;
    }
  }
  try {
    auto handler = bench::registry().handler();
    bool first = true;
    std::printf(json ? "[" : "%-10s %12s %14s\n", "benchmark", "ns/op (min)", "journal bytes");
    for (const auto& b : bench::benchmarks()) {
      if (!only.empty() && std::find(only.begin(), only.end(), b.name) == only.end()) {
        continue;
      }
      (void)bench::measure(handler, b.request, std::min<std::size_t>(iterations, 1'000));  // warm-up
      double best = 1e300;
      for (int r = 0; r < runs; ++r) {
        const auto started = std::chrono::steady_clock::now();
        const std::size_t bytes = bench::measure(handler, b.request, iterations);
        const std::chrono::duration<double, std::nano> took = std::chrono::steady_clock::now() - started;
        if (bytes == 0) {
          throw std::runtime_error(b.name + ": the handler failed");
        }
        best = std::min(best, took.count() / static_cast<double>(iterations));
      }
      if (json) {
        std::printf("%s{\"name\": \"%s\", \"ns_per_op\": %.1f, \"journal_bytes\": %zu}", first ? "" : ", ",
                    b.name.c_str(), best, b.journal_bytes);
      } else {
        std::printf("%-10s %12.1f %14zu\n", b.name.c_str(), best, b.journal_bytes);
      }
      first = false;
    }
    if (json) {
      std::printf("]\n");
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "durable: %s\n", e.what());
    return 1;
  }
  return 0;
}
