// The local runtime end to end: messages per second through the runtime and an in-process
// function, on one thread (issue 4 asks for at least 1,000,000).
//
// Workload "relay": 1,000 addresses of one function type; each message carries a hop count, the
// function adds one to a counter in state and, while hops remain, sends the message on to the
// next address. Every message therefore costs the runtime a delivery, a ToFunction encoded with
// the address's state, the handler's decode and dispatch, a FromFunction with a mutation and a
// message, and the runtime's decode and application of it. Batching happens as it would: an
// address that is in flight collects a backlog.
//
//   local_runtime [--messages N] [--addresses A] [--runs R] [--json]

#include <statefun/local/runtime.hpp>
#include <statefun/statefun.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr auto seen = statefun::value_spec<std::int64_t>{"seen"};

struct relay_options {
  std::int64_t messages = 2'000'000;
  int addresses = 1000;
  int runs = 3;
  bool json = false;
};

/// Where address i sends on: address i + 1 (made once, so that the function costs what a
/// small real one does, not string conversions).
std::vector<statefun::address> next_of;

void relay(statefun::context& ctx, const statefun::message& msg) {
  ctx.storage().set(seen, ctx.storage().get(seen).value_or(0) + 1);
  const auto hops = msg.as<std::int64_t>();
  if (hops > 0) {
    const auto& id = ctx.self().id;
    std::size_t self = 0;
    for (const char c : id) {
      self = self * 10 + static_cast<std::size_t>(c - '0');
    }
    ctx.send(statefun::message_to(next_of[self]).value(hops - 1));
  }
}

struct result {
  double seconds;
  std::uint64_t messages;
  std::uint64_t requests;
};

result run_once(const relay_options& o) {
  statefun::functions fns;
  fns.bind("bench/relay", {seen}, relay);
  statefun::local::runtime rt({.clock = statefun::local::clock::virtual_time()});
  rt.serve(fns);
  // one chain per address, each `hops` long: messages = addresses * (hops + 1)
  const std::int64_t hops = o.messages / o.addresses - 1;
  for (int i = 0; i < o.addresses; ++i) {
    rt.send(statefun::address{"bench/relay", std::to_string(i)}, hops);
  }
  const auto start = std::chrono::steady_clock::now();
  rt.run_until_quiescent();
  const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // check before reporting: every address counted every message that reached it
  std::int64_t total = 0;
  for (int i = 0; i < o.addresses; ++i) {
    total += rt.state(statefun::address{"bench/relay", std::to_string(i)}, seen).value_or(0);
  }
  if (total != o.addresses * (hops + 1) || rt.stats().messages != static_cast<std::uint64_t>(total)) {
    std::fprintf(stderr, "local_runtime: wrong result: %lld counted, %llu delivered\n", static_cast<long long>(total),
                 static_cast<unsigned long long>(rt.stats().messages));
    std::exit(1);
  }
  return {seconds, rt.stats().messages, rt.stats().requests};
}

}  // namespace

int main(int argc, char** argv) {
  relay_options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--messages" && i + 1 < argc) {
      o.messages = std::atoll(argv[++i]);
    } else if (arg == "--addresses" && i + 1 < argc) {
      o.addresses = std::atoi(argv[++i]);
    } else if (arg == "--runs" && i + 1 < argc) {
      o.runs = std::atoi(argv[++i]);
    } else if (arg == "--json") {
      o.json = true;
    } else {
      std::fprintf(stderr, "usage: local_runtime [--messages N] [--addresses A] [--runs R] [--json]\n");
      return 2;
    }
  }
  for (int i = 0; i < o.addresses; ++i) {
    next_of.push_back(statefun::address{"bench/relay", std::to_string((i + 1) % o.addresses)});
  }
  std::vector<double> rates;
  result last{};
  for (int r = 0; r < o.runs; ++r) {
    last = run_once(o);
    rates.push_back(static_cast<double>(last.messages) / last.seconds);
  }
  std::sort(rates.begin(), rates.end());
  const double median = rates[rates.size() / 2];
  if (o.json) {
    std::printf("{\"benchmark\": \"local-runtime-relay\", \"messages\": %llu, \"requests\": %llu, "
                "\"messages_per_second_median\": %.0f, \"messages_per_second_min\": %.0f, \"runs\": %d}\n",
                static_cast<unsigned long long>(last.messages), static_cast<unsigned long long>(last.requests), median,
                rates.front(), o.runs);
  } else {
    std::printf("relay: %llu messages in %llu requests; median %.0f messages/s (min %.0f, %d runs)\n",
                static_cast<unsigned long long>(last.messages), static_cast<unsigned long long>(last.requests), median,
                rates.front(), o.runs);
  }
}
