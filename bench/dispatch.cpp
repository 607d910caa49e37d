// The request-reply handler on the benchmark workloads, with baselines in the same binary.
//
// Workloads (test/data/workloads/README.md): W1 one counter invocation, W2 a batch of 100, W3 a
// fan-out (state + message + Kafka egress), W4 the missing-state handshake, plus B1000 (a batch
// of 1,000 generated here), W1co (W1 served by a coroutine function), and, built with
// STATEFUN_BENCH_METRICS (meson's dispatch_metrics), W1metrics and W3metrics (W1 and W3 with a
// Prometheus observer attached: the cost of metrics on; in a binary of their own, so that the
// observer in this translation unit does not change how g++ inlines the handler for the
// others, which is what a program without metrics gets). Baselines: nanopb's
// generic pb_decode() of the same ToFunction bodies against our view decoder, and awaiting a
// statefun::task against a plain call and asio::awaitable.
//
// Every response is decoded and checked before anything is timed, so a broken handler cannot
// post a number. Iteration counts are fixed; allocations are counted (by replacing the global
// operator new) only around the timed loops. For repeatable instruction counts use
// bench/callgrind, which runs this program under valgrind with two iteration counts.
//
//   dispatch [DIR | --data DIR] [--iterations N] [--runs R] [--only NAME[,NAME...]] [--json]
//
// NAME is a benchmark name (W1, W2, W3, W4, B1000, W1co, decode-W1-nanopb, ...) or a group
// prefix (`decode`, `await`): a name is selected when it equals NAME or starts with "NAME-".

#if STATEFUN_BENCH_METRICS
#include <statefun/metrics/prometheus.hpp>
#endif
#include <statefun/statefun.hpp>
#include <statefun/detail/proto/request-reply.pb.h>

#include <pb_decode.h>

#if __has_include(<asio.hpp>)
#include <asio.hpp>
#if defined(ASIO_HAS_CO_AWAIT)  // Asio 1.22 enables asio::awaitable for g++, not for clang++ 14
#define STATEFUN_BENCH_ASIO 1
#endif
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#ifndef STATEFUN_BENCH_DATA
#define STATEFUN_BENCH_DATA "test/data/workloads"
#endif

// --- Counting heap allocations -------------------------------------------------------------------
// Every replaceable global operator new counts one allocation. The counters run all the time;
// the harness reads them just before and after a timed loop, so only that loop is counted.

namespace heap {

std::atomic<std::uint64_t> allocations{0};
std::atomic<std::uint64_t> bytes{0};
/// realloc() calls: nanopb's PB_ENABLE_MALLOC allocates with realloc, not operator new.
std::atomic<std::uint64_t> reallocs{0};

struct snapshot {
  std::uint64_t allocations;
  std::uint64_t bytes;
  std::uint64_t reallocs;
};

snapshot now() noexcept {
  return {allocations.load(std::memory_order_relaxed), bytes.load(std::memory_order_relaxed),
          reallocs.load(std::memory_order_relaxed)};
}

void* allocate(std::size_t size, std::size_t alignment = 0) noexcept {
  allocations.fetch_add(1, std::memory_order_relaxed);
  bytes.fetch_add(size, std::memory_order_relaxed);
  if (size == 0) {
    size = 1;
  }
  if (alignment > __STDCPP_DEFAULT_NEW_ALIGNMENT__) {
    return std::aligned_alloc(alignment, (size + alignment - 1) / alignment * alignment);
  }
  return std::malloc(size);
}

void* allocate_or_throw(std::size_t size, std::size_t alignment = 0) {
  if (void* p = allocate(size, alignment)) {
    return p;
  }
  throw std::bad_alloc();
}

}  // namespace heap

void* operator new(std::size_t n) { return heap::allocate_or_throw(n); }
void* operator new[](std::size_t n) { return heap::allocate_or_throw(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return heap::allocate(n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return heap::allocate(n); }
void* operator new(std::size_t n, std::align_val_t a) {
  return heap::allocate_or_throw(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a) {
  return heap::allocate_or_throw(n, static_cast<std::size_t>(a));
}
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return heap::allocate(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return heap::allocate(n, static_cast<std::size_t>(a));
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }

#if defined(__GLIBC__)
// nanopb (a prebuilt C library) allocates its FT_POINTER fields with realloc(). Interposing
// realloc in the executable and forwarding to glibc's own entry point counts those calls too;
// nothing else calls realloc during the timed loops.
extern "C" void* __libc_realloc(void* p, std::size_t n) noexcept;  // NOLINT(bugprone-reserved-identifier)
extern "C" void* realloc(void* p, std::size_t n) noexcept {
  heap::reallocs.fetch_add(1, std::memory_order_relaxed);
  return __libc_realloc(p, n);
}
#endif

namespace {

using namespace std::string_view_literals;
using statefun::context;
using statefun::message;
namespace codec = statefun::codec;

/// Keeps the optimizer from discarding a result it can see is unused.
template <class T>
inline void keep(const T& value) noexcept {
  asm volatile("" : : "r,m"(value) : "memory");
}

// --- The functions under test (as in test/vectors_test.cpp) --------------------------------------

constexpr statefun::value_spec<std::int32_t> count{"count"};

void counter(context& ctx, const message&) {
  ctx.storage().set(count, ctx.storage().get(count).value_or(0) + 1);
}

void fanout(context& ctx, const message& msg) {
  counter(ctx, msg);
  ctx.send(statefun::message_to({"bench/counter", "user-2"}).value("hello"));
  ctx.send_egress(statefun::kafka_egress{"bench/egress"}.topic("out").key(ctx.self().id).value("hello"));
}

// A coroutine function doing what counter does (a named function: C++ Core Guidelines CP.51).
statefun::task<> counter_coroutine(context& ctx, const message& msg) {
  counter(ctx, msg);
  co_return;
}

// --- Checking responses --------------------------------------------------------------------------

/// What a workload's response must say.
struct expectation {
  /// The count the mutation must write; ignored for a handshake.
  std::int32_t count = 0;
  /// True for W3: a message to bench/counter/user-2 and a Kafka record.
  bool fanout = false;
  /// True for W4: an IncompleteInvocationContext asking for `count`.
  bool handshake = false;
};

/// The fields of a protobuf message, by number (length-delimited ones only; enough for the
/// Kafka record, whose field order differs between SDKs).
std::map<std::uint32_t, std::string_view> delimited_fields(std::string_view bytes) {
  std::map<std::uint32_t, std::string_view> fields;
  statefun::detail::wire_reader reader(bytes);
  statefun::detail::wire_field field;
  while (reader.next(field)) {
    std::string_view value;
    if (field.type == statefun::detail::wire_type::length_delimited && reader.read_bytes(value)) {
      fields[field.number] = value;
    } else {
      reader.skip(field);
    }
  }
  return fields;
}

/// Why `response` does not meet `expected`, or "" when it does.
std::string check_response(std::string_view response, const expectation& expected) {
  codec::from_function_view view;
  if (const auto decoded = view.decode(response); !decoded) {
    return "the response does not decode: " + decoded.to_error().message();
  }
  std::string problems;
  auto require = [&problems](bool condition, std::string_view what) {
    if (!condition) {
      problems.append(what).append("; ");
    }
  };
  if (expected.handshake) {
    require(view.incomplete, "not an IncompleteInvocationContext");
    require(view.missing_values.size() == 1, "not exactly one missing value");
    if (view.missing_values.size() == 1) {
      const auto& m = view.missing_values.front();
      require(m.state_name == "count" && m.type_name == "io.statefun.types/int", "wrong missing value");
      require(m.mode == codec::expire_mode::none, "wrong expiration");
    }
    return problems;
  }
  require(!view.incomplete, "an IncompleteInvocationContext");
  require(view.mutations.size() == 1, "not exactly one mutation");
  if (view.mutations.size() == 1) {
    const auto& m = view.mutations.front();
    require(m.type == codec::mutation_type::modify && m.state_name == "count" &&
                m.value.type_name == "io.statefun.types/int" && m.value.has_value,
            "wrong mutation");
    require(statefun::type<std::int32_t>::decode(m.value.value) == expected.count, "wrong count");
  }
  require(view.delayed.empty(), "delayed messages");
  if (!expected.fanout) {
    require(view.messages.empty() && view.egresses.empty(), "messages or egress records");
    return problems;
  }
  require(view.messages.size() == 1 && view.egresses.size() == 1, "not one message and one record");
  if (view.messages.size() == 1) {
    const auto& m = view.messages.front();
    require(m.target == codec::address_view{"bench", "counter", "user-2"}, "wrong message target");
    require(m.argument.type_name == "io.statefun.types/string" &&
                statefun::type<std::string>::decode(m.argument.value) == "hello",
            "wrong message value");
  }
  if (view.egresses.size() == 1) {
    const auto& e = view.egresses.front();
    require(e.egress_namespace == "bench" && e.egress_type == "egress", "wrong egress");
    require(e.argument.type_name == statefun::kafka_egress::record_type, "not a Kafka record");
    namespace k = statefun::detail::fields::kafka_record;
    const auto record = delimited_fields(e.argument.value);
    require(record.size() == 3 && record.contains(k::topic) && record.at(k::topic) == "out" &&
                record.contains(k::key) && record.at(k::key) == "user-1" &&
                record.contains(k::value_bytes) && record.at(k::value_bytes) == "hello",
            "wrong Kafka record");
  }
  return problems;
}

// --- Measuring -------------------------------------------------------------------------------------

/// One benchmark: `body(n)` performs `n` operations.
struct benchmark {
  std::string name;
  std::string what;
  /// What one operation is: "request", "decode", "await", "call".
  std::string unit;
  std::size_t iterations;
  std::size_t warmup;
  /// Invocations per operation (requests only).
  std::size_t invocations;
  std::function<void(std::size_t)> body;
  /// Checks one operation's result before anything is timed: "" or what is wrong.
  std::function<std::string()> check;
};

struct result {
  const benchmark* bench;
  std::size_t iterations;
  std::vector<double> seconds;  // wall time, one per run
  double cpu_seconds;           // processor time of all runs together
  double allocations_per_op;
  double bytes_per_op;
  double reallocs_per_op;

  [[nodiscard]] std::vector<double> ops_per_second() const {
    std::vector<double> rates;
    for (double s : seconds) {
      rates.push_back(static_cast<double>(iterations) / s);
    }
    std::sort(rates.begin(), rates.end());
    return rates;
  }
  [[nodiscard]] double min_rate() const { return ops_per_second().front(); }
  [[nodiscard]] double median_rate() const {
    const auto rates = ops_per_second();
    return rates[rates.size() / 2];
  }
  [[nodiscard]] double median_ns() const { return 1e9 / median_rate(); }
  /// Processor time over wall time: well below 100% means the runs were descheduled (a busy
  /// machine), and the wall-time figures understate the code.
  [[nodiscard]] double cpu_share() const {
    double wall = 0;
    for (double s : seconds) {
      wall += s;
    }
    return cpu_seconds / wall;
  }
};

// Not inlined: bench/callgrind collects instructions only inside this function
// (--toggle-collect), which leaves out start-up, checks and printing.
[[gnu::noinline]] result measure(const benchmark& b, std::size_t iterations, std::size_t runs) {
  // Warm-up is a fixed count, never proportional to `iterations`, so bench/callgrind can
  // subtract it out with two runs of different lengths.
  b.body(b.warmup);
  result r{&b, iterations, {}, 0, 0, 0, 0};
  std::uint64_t allocations = 0;
  std::uint64_t bytes = 0;
  std::uint64_t reallocs = 0;
  for (std::size_t run = 0; run < runs; ++run) {
    const heap::snapshot before = heap::now();
    const std::clock_t cpu_start = std::clock();
    const auto start = std::chrono::steady_clock::now();
    b.body(iterations);
    const auto stop = std::chrono::steady_clock::now();
    const std::clock_t cpu_stop = std::clock();
    r.cpu_seconds += static_cast<double>(cpu_stop - cpu_start) / CLOCKS_PER_SEC;
    const heap::snapshot after = heap::now();
    allocations += after.allocations - before.allocations;
    bytes += after.bytes - before.bytes;
    reallocs += after.reallocs - before.reallocs;
    r.seconds.push_back(std::chrono::duration<double>(stop - start).count());
  }
  const auto ops = static_cast<double>(iterations * runs);
  r.allocations_per_op = static_cast<double>(allocations) / ops;
  r.bytes_per_op = static_cast<double>(bytes) / ops;
  r.reallocs_per_op = static_cast<double>(reallocs) / ops;
  return r;
}

// --- Workloads -------------------------------------------------------------------------------------

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error("cannot open " + path);
  }
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool file_exists(const std::string& path) { return static_cast<bool>(std::ifstream(path)); }

/// A request body, the handler answering it, and what the answer must be.
struct workload {
  std::string name;
  std::string what;
  std::string request;
  /// The official SDK's response, when there is one: the same check must accept it.
  std::string reference;
  std::size_t invocations;
  std::size_t iterations;
  expectation expected;
  statefun::request_reply_handler handler;  // serves the registry passed in; it must outlive this

  workload(std::string name_, std::string what_, std::string request_, std::string reference_,
           std::size_t invocations_, std::size_t iterations_, expectation expected_,
           const statefun::functions& fns)
      : name(std::move(name_)),
        what(std::move(what_)),
        request(std::move(request_)),
        reference(std::move(reference_)),
        invocations(invocations_),
        iterations(iterations_),
        expected(expected_),
        handler(fns.handler()) {}

  void run(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      const auto response = handler.handle_sync(request);
      keep(response);
    }
  }

  std::string check() {
    if (!reference.empty()) {
      if (auto why = check_response(reference, expected); !why.empty()) {
        return "the check rejects the official SDK's response: " + why;
      }
    }
    const auto response = handler.handle_sync(request);
    if (!response) {
      return "no response: " + response.error().message();
    }
    return check_response(*response, expected);
  }
};

/// A ToFunction with the target, state and invocation of `w1`, repeated `n` times.
std::string generated_batch(std::string_view w1, std::size_t n) {
  codec::invocation_batch_view view;
  if (!view.decode(w1) || view.invocations.size() != 1) {
    throw std::runtime_error("W1 is not a one-invocation batch");
  }
  const codec::invocation_view invocation = view.invocations.front();
  view.invocations.assign(n, invocation);
  std::string bytes;
  view.encode(bytes);
  return bytes;
}

// --- Baseline (a): nanopb's generic decoder vs our view decoder ----------------------------------

/// Decodes `bytes` with nanopb into the generated (FT_POINTER) structs; returns the number of
/// invocations, or -1 on failure. Releases everything before returning, as a user must.
long nanopb_decode(std::string_view bytes) {
  io_statefun_sdk_reqreply_ToFunction message = io_statefun_sdk_reqreply_ToFunction_init_zero;
  pb_istream_t stream = pb_istream_from_buffer(reinterpret_cast<const pb_byte_t*>(bytes.data()), bytes.size());
  long invocations = -1;
  if (pb_decode(&stream, io_statefun_sdk_reqreply_ToFunction_fields, &message) &&
      message.which_request == io_statefun_sdk_reqreply_ToFunction_invocation_tag &&
      message.request.invocation->target != nullptr) {
    invocations = message.request.invocation->invocations_count;
  }
  pb_release(io_statefun_sdk_reqreply_ToFunction_fields, &message);
  return invocations;
}

// --- Baseline (b): awaiting a task vs a plain call (vs asio::awaitable) ----------------------------

/// Not inlined, and opaque to interprocedural analysis (the asm hides that it returns `i`).
[[gnu::noinline]] int identity_call(int i) {
  asm volatile("" : "+r"(i));
  return i;
}

statefun::task<int> identity_task(int i) { co_return i; }

statefun::task<std::int64_t> await_tasks(std::size_t n) {
  std::int64_t sum = 0;
  for (std::size_t i = 0; i < n; ++i) {
    sum += co_await identity_task(static_cast<int>(i));
  }
  co_return sum;
}

#if defined(STATEFUN_BENCH_ASIO)
asio::awaitable<int> identity_awaitable(int i) { co_return i; }

asio::awaitable<std::int64_t> await_awaitables(std::size_t n) {
  std::int64_t sum = 0;
  for (std::size_t i = 0; i < n; ++i) {
    sum += co_await identity_awaitable(static_cast<int>(i));
  }
  co_return sum;
}

std::int64_t run_awaitables(std::size_t n) {
  asio::io_context io;
  std::int64_t result = -1;
  asio::co_spawn(io, await_awaitables(n), [&result](const std::exception_ptr& e, std::int64_t sum) {
    if (e) {
      std::rethrow_exception(e);
    }
    result = sum;
  });
  io.run();
  return result;
}
#endif

constexpr std::int64_t sum_below(std::size_t n) {
  return static_cast<std::int64_t>(n) * (static_cast<std::int64_t>(n) - 1) / 2;
}

// --- Command line and output ---------------------------------------------------------------------

struct options {
  std::string data = STATEFUN_BENCH_DATA;
  std::size_t iterations = 0;  // 0: each benchmark's own count
  std::size_t runs = 3;
  std::vector<std::string> only;
  bool json = false;
};

[[noreturn]] void usage(const char* why, int status = 2) {
  std::fprintf(status == 0 ? stdout : stderr,
               "dispatch: %s\nusage: dispatch [DIR | --data DIR] [--iterations N] [--runs R] "
               "[--only NAME[,NAME...]] [--json]\n",
               why);
  std::exit(status);
}

std::size_t parse_count(const char* text) {
  char* end = nullptr;
  const unsigned long long n = std::strtoull(text, &end, 10);
  if (end == text || *end != '\0' || n == 0) {
    usage("a count must be a positive integer");
  }
  return static_cast<std::size_t>(n);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        usage("an option lacks its value");
      }
      return argv[++i];
    };
    if (arg == "--data") {
      o.data = value();
    } else if (arg == "--iterations") {
      o.iterations = parse_count(value());
    } else if (arg == "--runs") {
      o.runs = parse_count(value());
    } else if (arg == "--only") {
      std::string_view list = value();
      while (!list.empty()) {
        const std::size_t comma = std::min(list.find(','), list.size());
        o.only.emplace_back(list.substr(0, comma));
        list.remove_prefix(std::min(comma + 1, list.size()));
      }
    } else if (arg == "--json") {
      o.json = true;
    } else if (arg == "--help" || arg == "-h") {
      usage("benchmarks the request-reply handler (see bench/README.md)", 0);
    } else if (!arg.starts_with("-")) {
      o.data = arg;
    } else {
      usage("unknown option");
    }
  }
  return o;
}

bool selected(const options& o, std::string_view name) {
  if (o.only.empty()) {
    return true;
  }
  return std::any_of(o.only.begin(), o.only.end(), [name](const std::string& filter) {
    return name == filter || (name.starts_with(filter) && name.substr(filter.size()).starts_with("-"));
  });
}

std::string si(double value) {
  char text[32];
  if (value >= 1e9) {
    std::snprintf(text, sizeof text, "%.2fG", value / 1e9);
  } else if (value >= 1e6) {
    std::snprintf(text, sizeof text, "%.2fM", value / 1e6);
  } else if (value >= 1e3) {
    std::snprintf(text, sizeof text, "%.1fk", value / 1e3);
  } else {
    std::snprintf(text, sizeof text, "%.0f", value);
  }
  return text;
}

void print_table(const std::vector<result>& results, std::size_t runs) {
  std::printf("%-17s %9s %9s  %-19s %-19s %7s %7s %5s\n", "benchmark", "ops", "ns/op",
              runs > 1 ? "ops/s min / median" : "ops/s", runs > 1 ? "inv/s min / median" : "inv/s",
              "allocs", "bytes", "cpu");
  for (const result& r : results) {
    const benchmark& b = *r.bench;
    const std::string rate = runs > 1 ? si(r.min_rate()) + " / " + si(r.median_rate()) : si(r.median_rate());
    const auto inv = static_cast<double>(b.invocations);
    const std::string inv_rate =
        b.invocations == 0 ? "-"
        : runs > 1         ? si(r.min_rate() * inv) + " / " + si(r.median_rate() * inv)
                           : si(r.median_rate() * inv);
    // std::clock() is too coarse for the share of a run shorter than about 10 ms.
    char cpu[8] = "-";
    if (r.median_ns() * static_cast<double>(r.iterations) > 1e7) {
      std::snprintf(cpu, sizeof cpu, "%.0f%%", 100 * r.cpu_share());
    }
    std::printf("%-17s %9zu %9.1f  %-19s %-19s %7.2f %7.1f %5s", b.name.c_str(), r.iterations, r.median_ns(),
                rate.c_str(), inv_rate.c_str(), r.allocations_per_op, r.bytes_per_op, cpu);
    if (r.reallocs_per_op > 0) {
      std::printf("  (+%.1f realloc)", r.reallocs_per_op);
    }
    std::printf("   %s\n", b.what.c_str());
  }
}

void print_ratios(const std::vector<result>& results) {
  auto find = [&](std::string_view name) -> const result* {
    for (const result& r : results) {
      if (r.bench->name == name) {
        return &r;
      }
    }
    return nullptr;
  };
  const std::pair<std::string_view, std::string_view> pairs[] = {
      {"decode-W1-nanopb", "decode-W1-ours"}, {"decode-W2-nanopb", "decode-W2-ours"},
      {"await-task", "call-plain"},           {"await-asio", "await-task"},
      {"W1co", "W1"},          {"W1metrics", "W1"},
      {"W3metrics", "W3"},
  };
  for (const auto& [slow, fast] : pairs) {
    const result* a = find(slow);
    const result* b = find(fast);
    if (a != nullptr && b != nullptr) {
      std::printf("%-17s / %-17s %6.2fx (median ns/op %.1f / %.1f)\n", std::string(slow).c_str(),
                  std::string(fast).c_str(), a->median_ns() / b->median_ns(), a->median_ns(), b->median_ns());
    }
  }
}

void print_json(const std::vector<result>& results) {
  std::printf("[");
  const char* separator = "\n";
  for (const result& r : results) {
    const benchmark& b = *r.bench;
    std::printf("%s  {\"name\": \"%s\", \"unit\": \"%s\", \"iterations\": %zu, \"runs\": %zu, "
                "\"ns_per_op_median\": %.2f, \"ops_per_s_min\": %.0f, \"ops_per_s_median\": %.0f, "
                "\"invocations_per_op\": %zu, \"invocations_per_s_median\": %.0f, "
                "\"allocations_per_op\": %.4f, \"bytes_per_op\": %.1f, \"reallocs_per_op\": %.4f, "
                "\"cpu_share\": %.3f}",
                separator, b.name.c_str(), b.unit.c_str(), r.iterations, r.seconds.size(), r.median_ns(),
                r.min_rate(), r.median_rate(), b.invocations,
                r.median_rate() * static_cast<double>(b.invocations), r.allocations_per_op, r.bytes_per_op,
                r.reallocs_per_op, r.cpu_share());
    separator = ",\n";
  }
  std::printf("\n]\n");
}

int run(const options& o) {
  const std::string dir = o.data + "/";
  const std::string w1 = read_file(dir + "w1_counter.bin");
  auto reference = [&dir](const char* name) {
    return file_exists(dir + name) ? read_file(dir + name) : std::string();
  };

  statefun::functions fns;
  fns.bind("bench/counter", {count}, counter);
  fns.bind("bench/fanout", {count}, fanout);
  statefun::functions coroutine_fns;
  coroutine_fns.bind("bench/counter", {count}, counter_coroutine);
#if STATEFUN_BENCH_METRICS
  // The same functions with a Prometheus observer attached: the cost of metrics on.
  statefun::metrics::prometheus metrics;
  statefun::functions metered_fns;
  metered_fns.bind("bench/counter", {count}, counter);
  metered_fns.bind("bench/fanout", {count}, fanout);
  metered_fns.observe(&metrics);
#endif

  // Held by pointer: the benchmarks below refer to them.
  std::vector<std::unique_ptr<workload>> workloads;
  auto add = [&workloads](auto&&... args) {
    workloads.push_back(std::make_unique<workload>(std::forward<decltype(args)>(args)...));
  };
  add("W1", "bench/counter, 1 invocation", w1, reference("w1_counter.response.bin"), 1, 1'000'000,
      expectation{42}, fns);
  add("W2", "bench/counter, batch of 100", read_file(dir + "w2_counter_batch100.bin"),
      reference("w2_counter_batch100.response.bin"), 100, 50'000, expectation{141}, fns);
  add("W3", "bench/fanout: state, message, Kafka record", read_file(dir + "w3_fanout.bin"),
      reference("w3_fanout.response.bin"), 1, 500'000, expectation{42, true}, fns);
  add("W4", "bench/counter, no state: handshake", read_file(dir + "w4_missing_state.bin"),
      reference("w4_missing_state.response.js.bin"), 1, 1'000'000, expectation{0, false, true}, fns);
  add("B1000", "bench/counter, generated batch of 1,000", generated_batch(w1, 1000), std::string(), 1000,
      5'000, expectation{41 + 1000}, fns);
  add("W1co", "W1 served by a coroutine function", w1, std::string(), 1, 1'000'000, expectation{42},
      coroutine_fns);
#if STATEFUN_BENCH_METRICS
  add("W1metrics", "W1 with a Prometheus observer", w1, std::string(), 1, 1'000'000, expectation{42},
      metered_fns);
  add("W3metrics", "W3 with a Prometheus observer", read_file(dir + "w3_fanout.bin"), std::string(), 1, 500'000,
      expectation{42, true}, metered_fns);
#endif

  std::vector<benchmark> benchmarks;
  for (const auto& w : workloads) {
    workload* p = w.get();
    benchmarks.push_back({p->name, p->what, "request", p->iterations, std::min<std::size_t>(p->iterations, 1000),
                          p->invocations, [p](std::size_t n) { p->run(n); }, [p] { return p->check(); }});
  }

  // Baseline (a) on the bodies of W1 and W2. Our decoder is long-lived, as in the handler,
  // so its vectors are reused; nanopb allocates and frees every field on every decode.
  codec::invocation_batch_view batch;
  for (const workload* w : {workloads[0].get(), workloads[1].get()}) {
    const std::string* body = &w->request;
    const auto invocations = static_cast<long>(w->invocations);
    const std::size_t iterations = 2'000'000 / w->invocations;
    benchmarks.push_back({"decode-" + w->name + "-nanopb", "nanopb pb_decode + pb_release (FT_POINTER structs)",
                          "decode", iterations, 1000, 0,
                          [body](std::size_t n) {
                            for (std::size_t i = 0; i < n; ++i) {
                              keep(nanopb_decode(*body));
                            }
                          },
                          [body, invocations] {
                            return nanopb_decode(*body) == invocations ? "" : "nanopb cannot decode it";
                          }});
    benchmarks.push_back({"decode-" + w->name + "-ours", "codec::invocation_batch_view::decode", "decode",
                          iterations, 1000, 0,
                          [body, &batch](std::size_t n) {
                            for (std::size_t i = 0; i < n; ++i) {
                              keep(batch.decode(*body));
                              keep(batch.invocations.size());
                            }
                          },
                          [body, &batch, invocations] {
                            return batch.decode(*body) && std::ssize(batch.invocations) == invocations
                                       ? ""
                                       : "invocation_batch_view cannot decode it";
                          }});
  }

  // Each loop checks its own sum; a wrong one throws, and the check below runs one small loop.
  auto checked = [](std::int64_t sum, std::size_t n) {
    if (sum != sum_below(n)) {
      throw std::runtime_error("wrong sum");
    }
  };
  benchmarks.push_back({"await-task", "co_await statefun::task<int>, in a loop in one coroutine", "await", 1'000'000,
                        1000, 0, [checked](std::size_t n) { checked(statefun::sync_wait(await_tasks(n)), n); },
                        [] { return statefun::sync_wait(await_tasks(10)) == sum_below(10) ? "" : "wrong sum"; }});
#if defined(STATEFUN_BENCH_ASIO)
  benchmarks.push_back({"await-asio", "co_await asio::awaitable<int>, in a loop in one co_spawn", "await",
                        1'000'000, 1000, 0, [checked](std::size_t n) { checked(run_awaitables(n), n); },
                        [] { return run_awaitables(10) == sum_below(10) ? "" : "wrong sum"; }});
#endif
  benchmarks.push_back({"call-plain", "a plain (noinline) function call", "call", 1'000'000, 1000, 0,
                        [checked](std::size_t n) {
                          std::int64_t sum = 0;
                          for (std::size_t i = 0; i < n; ++i) {
                            sum += identity_call(static_cast<int>(i));
                          }
                          checked(sum, n);
                        },
                        [] { return identity_call(7) == 7 ? "" : "wrong result"; }});

  // Check everything selected before timing anything.
  std::vector<const benchmark*> chosen;
  for (const benchmark& b : benchmarks) {
    if (!selected(o, b.name)) {
      continue;
    }
    if (const std::string why = b.check(); !why.empty()) {
      std::fprintf(stderr, "dispatch: %s: %s\n", b.name.c_str(), why.c_str());
      return 1;
    }
    chosen.push_back(&b);
  }
  if (chosen.empty()) {
    usage("--only selects no benchmark");
  }

  if (!o.json) {
    std::printf("statefun-cpp %s dispatch benchmark; %s%s; %zu run(s) each, fixed iteration counts\n",
                statefun::version_string,
#if defined(__clang__)
                "clang++ " __clang_version__,
#else
                "g++ " __VERSION__,
#endif
#if defined(__OPTIMIZE__) && defined(NDEBUG)
                "",
#else
                " (WARNING: not an optimised NDEBUG build)",
#endif
                o.runs);
  }
  std::vector<result> results;
  for (const benchmark* b : chosen) {
    results.push_back(measure(*b, o.iterations != 0 ? o.iterations : b->iterations, o.runs));
  }
  // The state after timing must still be right (the handler keeps buffers across requests).
  for (const benchmark* b : chosen) {
    if (const std::string why = b->check(); !why.empty()) {
      std::fprintf(stderr, "dispatch: %s after timing: %s\n", b->name.c_str(), why.c_str());
      return 1;
    }
  }
  if (o.json) {
    print_json(results);
  } else {
    print_table(results, o.runs);
    print_ratios(results);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse(argc, argv));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dispatch: %s\n", e.what());
    return 1;
  }
}
