#include <statefun/local/runtime.hpp>

// The runtime's HTTP path against a function served by the official JavaScript SDK
// (apache-flink-statefun 3.3.0): one application, written twice (app.hpp with statefun-cpp,
// js/app.js with the JavaScript SDK), driven through one scripted scenario on a virtual clock.
// The C++ functions in process are the reference; the same functions served over HTTP by
// statefun::asio::http_server, and the JavaScript functions served by node, must give the same
// egress records and the same states, byte for byte, on both transport profiles.
//
// The JavaScript side needs node and the SDK installed (test/local/interop/install-js-sdk);
// the build names them with STATEFUN_TEST_NODE and STATEFUN_TEST_JS_APP_DIR (the directory that
// holds app.js and node_modules/). Without them those cases say why and skip, unless the
// environment sets STATEFUN_TEST_REQUIRE_JS=1: then they fail.

#include "asio/server_support.hpp"
#include "local/interop/app.hpp"
#include "support/doctest.hpp"
#include "support/process.hpp"

#include <statefun/codec/from_function.hpp>
#include <statefun/codec/to_function.hpp>
#include <statefun/local/detail/endpoint_url.hpp>
#include <statefun/local/detail/http_endpoint.hpp>
#include <statefun/durable.hpp>
#include <statefun/json.hpp>
#include <statefun/statefun.hpp>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace {

namespace local = statefun::local;
namespace codec = statefun::codec;
using namespace std::chrono_literals;
using statefun::test::exit_status;

// ------------------------------------------------------------------------- the JavaScript side

namespace js {

#ifdef STATEFUN_TEST_NODE
constexpr std::string_view node = STATEFUN_TEST_NODE;
#else
constexpr std::string_view node{};
#endif
#ifdef STATEFUN_TEST_JS_APP_DIR
constexpr std::string_view app_dir = STATEFUN_TEST_JS_APP_DIR;
#else
constexpr std::string_view app_dir{};
#endif

/// Why js/app.js cannot run here, or nothing when it can.
std::optional<std::string> unavailable() {
  namespace fs = std::filesystem;
  const std::string install = " (install it with: test/local/interop/install-js-sdk " +
                              std::string(app_dir.empty() ? "DIR" : app_dir) + ")";
  if (node.empty() || app_dir.empty()) {
    return std::string("the test was built without STATEFUN_TEST_NODE and STATEFUN_TEST_JS_APP_DIR");
  }
  if (!fs::exists(node)) {
    return "there is no node at " + std::string(node);
  }
  const fs::path dir(app_dir);
  if (!fs::exists(dir / "app.js")) {
    return "there is no app.js in " + std::string(app_dir) + install;
  }
  if (!fs::exists(dir / "node_modules" / "apache-flink-statefun" / "package.json")) {
    return "apache-flink-statefun is not installed in " + std::string(app_dir) + "/node_modules" + install;
  }
  return std::nullopt;
}

/// True when the JavaScript side can run. Otherwise says why, and fails if it is required.
bool available() {
  const auto why = unavailable();
  if (!why) {
    return true;
  }
  const char* required = std::getenv("STATEFUN_TEST_REQUIRE_JS");
  if (required != nullptr && std::string_view(required) == "1") {
    FAIL_CHECK("STATEFUN_TEST_REQUIRE_JS=1, but " << *why);
  } else {
    MESSAGE("skipped, the JavaScript SDK cannot run: " << *why);
  }
  return false;
}

/// `node app.js 0`: the application served by the JavaScript SDK on a free loopback port. Its
/// first line on stdout is that port, so nothing waits but for that line.
class server {
 public:
  server() : process_({std::string(node), std::string(app_dir) + "/app.js", "0"}) {
    const auto line = process_.read_line();
    if (!line || line->empty() || line->find_first_not_of("0123456789") != std::string::npos) {
      throw std::runtime_error("node app.js did not print its port first; it printed: " + line.value_or("(nothing)"));
    }
    port_ = static_cast<std::uint16_t>(std::stoi(*line));
  }

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }

  /**
   * Has node close its idle keep-alive connections now (as it does after 5 s idle), and waits
   * until it has. @return How many connections it has accepted so far.
   */
  int close_idle_connections() {
    process_.signal(SIGUSR2);
    const std::string line = process_.wait_for_line("closed idle connections; ");
    return std::stoi(line.substr(line.find("; ") + 2));
  }

  /// Stops it as a process manager would (SIGTERM) and returns how it ended.
  exit_status stop() {
    process_.signal(SIGTERM);
    return process_.wait();
  }

 private:
  statefun::test::child process_;
  std::uint16_t port_ = 0;
};

}  // namespace js

// ------------------------------------------------------------------------------ the scenario

/// Hex digits of `bytes`, for byte-exact comparisons that still print readably.
std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (const char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

std::string show(std::int32_t v) { return std::to_string(v); }
std::string show(const interop::device_list& v) { return nlohmann::json(v.names).dump(); }

/// What a run of the scenario left: `readable` to read, `exact` to compare byte for byte.
struct outcome {
  std::string readable;
  std::string exact;
  local::runtime_stats stats;
};

void add_line(outcome& out, const std::string& readable, const std::string& bytes) {
  out.readable += readable + "\n";
  out.exact += readable + "  [" + bytes + "]\n";
}

/// One state of one address, as the runtime holds it now (expired values read as none).
template <class T>
void list_state(outcome& out, const local::runtime& rt, const statefun::address& at,
                const statefun::value_spec<T>& spec) {
  const auto value = rt.state(at, spec);
  const auto bytes = rt.state(at, spec.name());
  add_line(out, "  " + at.to_string() + " " + std::string(spec.name()) + ": " + (value ? show(*value) : "(none)"),
           bytes ? hex(*bytes) : "-");
}

/// Every state of the application's addresses, at `since_start` into the scenario.
void checkpoint(outcome& out, const local::runtime& rt, local::clock::duration since_start) {
  add_line(out, "states at " + std::to_string(std::chrono::duration_cast<std::chrono::seconds>(since_start).count()) +
                    " s:",
           "");
  for (const char* user : {"ann", "bob", "carl", "zoë"}) {
    const statefun::address greeter{interop::greeter_type, user};
    list_state(out, rt, greeter, interop::logins);
    list_state(out, rt, greeter, interop::devices);
  }
  const statefun::address stats{interop::stats_type, "global"};
  list_state(out, rt, stats, interop::welcomes);
  list_state(out, rt, stats, interop::returning);
}

/// Every record of both egresses, each egress in publication order.
void list_egress(outcome& out, const local::runtime& rt) {
  for (const std::string_view id : {interop::greets_egress, interop::audit_egress}) {
    for (const local::egress_record& record : rt.egress(id)) {
      std::string line = record.egress + " ";
      if (record.kafka) {
        const auto& kafka = *record.kafka;
        line += kafka.topic + " key=" + kafka.key.value_or("(none)") + " \"" + kafka.value + "\"";
      } else {
        line += record.value.type + " " + record.value.value;  // a JSON audit entry
      }
      const local::typed_value& value = record.value;
      add_line(out, line, value.type + (value.has_value ? " " : " (no value) ") + hex(value.value));
    }
  }
}

/// A login record on the Kafka topic "logins", keyed by user: the ingress sends it to the user's
/// greeter (docs/runtime_rules.md rule 22).
void login(local::runtime& rt, const std::string& user, const std::string& device) {
  rt.ingest("interop/logins", user, interop::login{device});
}

void forget(local::runtime& rt, const std::string& user) {
  rt.send(statefun::address{interop::greeter_type, user}, std::string("forget"));
}

struct scenario_options {
  /// carl logs in three times at once (one address, one backlog: batched over HTTP). Over HTTP
  /// the runtime then has greeter/carl's second batch and stats/global in flight at once, so
  /// which of them answers first, and so how stats/global's messages are batched, is a race:
  /// off for the exchange-by-exchange wire comparison, which wants one request sequence.
  bool burst = true;
  /// Called after every step, while the runtime is idle.
  std::function<void()> between_steps{};
};

/**
 * The scripted scenario, on a runtime whose functions are bound. Every step runs to idle before
 * the next one starts, so that the results do not depend on how requests interleave (StateFun
 * promises no order between senders); time moves only when the script says so.
 */
outcome run_scenario(local::runtime& rt, scenario_options options = {}) {
  rt.add_ingress({.kind = local::ingress_kind::kafka,
                  .id = "interop/logins",
                  .routes = {{.topic = "logins",
                              .value_type = std::string(statefun::type<interop::login>::name()),
                              .targets = {std::string(interop::greeter_type)}}}});
  rt.add_egress({.kind = local::egress_kind::kafka, .id = std::string(interop::greets_egress)});
  rt.add_egress({.kind = local::egress_kind::any, .id = std::string(interop::audit_egress)});
  const auto start = rt.now();
  const auto at = [&](local::clock::duration when) { rt.advance(start + when - rt.now()); };
  const auto step = [&](auto&& action) {
    action();
    rt.run_until_idle();
    if (options.between_steps) {
      options.between_steps();
    }
  };

  // 0 s: three first logins (three reminders due at 60 s); ann's second login cancels hers.
  step([&] { login(rt, "ann", "phone"); });
  step([&] { login(rt, "bob", "laptop"); });
  step([&] { login(rt, "zoë", "phone"); });
  step([&] { login(rt, "ann", "laptop"); });
  // 30 s: zoë asks to be forgotten: her state is deleted and her reminder cancelled.
  at(30s);
  step([&] { forget(rt, "zoë"); });
  // 61 s: bob's reminder fired at 60 s (and, reading his logins, refreshed their TTL).
  at(61s);
  if (options.burst) {
    step([&] {
      login(rt, "carl", "phone");
      login(rt, "carl", "phone");
      login(rt, "carl", "tablet");
    });
  }
  // 30 min 30 s: ann's logins expired at 30 min, so she is welcomed again (and a new reminder
  // with the same token is scheduled); bob's, refreshed at 60 s, have not.
  at(30min + 30s);
  step([&] { login(rt, "ann", "phone"); });
  step([&] { login(rt, "bob", "phone"); });
  // ann's second reminder fires at 31 min 30 s; then nothing is left to do.
  rt.run_until_quiescent();

  outcome out;
  checkpoint(out, rt, rt.now() - start);
  // 2 h 15 min: devices expire 2 h after their last write: ann's (0 s) and carl's (61 s) have.
  at(2h + 15min);
  checkpoint(out, rt, rt.now() - start);
  list_egress(out, rt);
  out.stats = rt.stats();
  return out;
}

/// The scenario with the C++ functions in process: the reference.
outcome in_process(const statefun::functions& fns, scenario_options options = {}) {
  local::runtime rt({.clock = local::clock::virtual_time()});
  rt.serve(fns);
  return run_scenario(rt, options);
}

/// The functions `interop/*` of the server at 127.0.0.1:`port`, reached over `transport`.
local::endpoint_spec endpoint_at(std::uint16_t port, local::transport_kind transport) {
  return {.functions = "interop/*",
          .url_path_template = "http://127.0.0.1:" + std::to_string(port) + "/statefun",
          .transport = transport,
          // Every answer is expected at once: a function that keeps failing fails the test
          // within seconds rather than the default two minutes.
          .call = 20s};
}

/// The scenario with the functions behind the HTTP server at `port`.
outcome over_http(std::uint16_t port, local::transport_kind transport, scenario_options options = {}) {
  local::runtime rt({.clock = local::clock::virtual_time()});
  rt.bind_http(endpoint_at(port, transport));
  return run_scenario(rt, options);
}

std::string name_of(local::transport_kind transport) {
  return transport == local::transport_kind::async ? "async" : "okhttp";
}

/// The counts that do not depend on how requests were batched must be the reference's.
void check_same_work(const local::runtime_stats& got, const local::runtime_stats& expected) {
  CHECK(got.messages == expected.messages);
  CHECK(got.invocations == expected.invocations);
  CHECK(got.handshakes == expected.handshakes);
  CHECK(got.delayed_scheduled == expected.delayed_scheduled);
  CHECK(got.delayed_cancelled == expected.delayed_cancelled);
  CHECK(got.delayed_fired == expected.delayed_fired);
  CHECK(got.egress_records == expected.egress_records);
}

// ------------------------------------------------------------------------------- wire tap

/// A readable, canonical account of a `FromFunction`: what the runtime reads from it.
std::string effects_of(std::string_view from_function) {
  codec::from_function_view view;
  if (const auto decoded = view.decode(from_function); !decoded) {
    return "(not a FromFunction: " + decoded.to_error().message() + ")";
  }
  const auto value = [](const codec::typed_value_view& v) {
    return std::string(v.type_name) + (v.has_value ? " " : " (no value) ") + hex(v.value);
  };
  const auto address = [](const codec::address_view& a) {
    return std::string(a.namespace_name) + "/" + std::string(a.type) + "/" + std::string(a.id);
  };
  std::string out;
  if (view.incomplete) {
    for (const auto& m : view.missing_values) {
      out += "missing " + std::string(m.state_name) + " " + std::string(m.type_name) + " mode " +
             std::to_string(static_cast<int>(m.mode)) + " after " + std::to_string(m.expire_after_ms) + " ms\n";
    }
    return out;
  }
  for (const auto& m : view.mutations) {
    out += "mutate " + std::string(m.state_name) +
           (m.type == codec::mutation_type::modify ? " = " + value(m.value) : std::string(" deleted")) + "\n";
  }
  for (const auto& m : view.messages) {
    out += "send " + address(m.target) + " " + value(m.argument) + "\n";
  }
  for (const auto& d : view.delayed) {
    if (d.is_cancellation) {
      out += "cancel '" + std::string(d.cancellation_token) + "'\n";
    } else {
      out += "send after " + std::to_string(d.delay_ms) + " ms '" + std::string(d.cancellation_token) + "' " +
             address(d.target) + " " + value(d.argument) + "\n";
    }
  }
  for (const auto& e : view.egresses) {
    out += "egress " + std::string(e.egress_namespace) + "/" + std::string(e.egress_type) + " " + value(e.argument) +
           "\n";
  }
  return out;
}

/// `from_function` written again by statefun-cpp's writer: the canonical bytes of what it says.
std::string canonical(std::string_view from_function) {
  codec::from_function_view view;
  if (!view.decode(from_function)) {
    return "(not a FromFunction)";
  }
  std::string out;
  if (view.incomplete) {
    codec::from_function_writer::write_incomplete_context(view.missing_values, out);
    return out;
  }
  codec::from_function_writer writer;
  for (const auto& m : view.mutations) {
    writer.add_mutation(m);
  }
  for (const auto& m : view.messages) {
    writer.add_message(m);
  }
  for (const auto& d : view.delayed) {
    writer.add_delayed(d);
  }
  for (const auto& e : view.egresses) {
    writer.add_egress(e);
  }
  writer.finish(out);
  return out;
}

/// True if `from_function` schedules a delayed message with a cancellation token.
bool schedules_with_token(std::string_view from_function) {
  codec::from_function_view view;
  if (!view.decode(from_function)) {
    return false;
  }
  return std::any_of(view.delayed.begin(), view.delayed.end(), [](const codec::delayed_view& d) {
    return !d.is_cancellation && !d.cancellation_token.empty();
  });
}

/// One request and its answer, as bytes on the wire (bodies).
struct exchange {
  std::string to_function;
  std::string from_function;
  bool ok = false;
};

/**
 * An endpoint between the runtime and the runtime's own HTTP endpoint that keeps every exchange:
 * the same HTTP path as `bind_http`, with the bodies recorded. Bind it with `runtime::bind`, and
 * create it after the runtime (it uses the runtime's event loop).
 */
class wire_tap final : public local::function_endpoint, private local::detail::reply_sink {
 public:
  wire_tap(local::runtime& rt, const local::endpoint_spec& spec)
      : url_(local::detail::expand_url_template(spec.url_path_template, "unused")),
        client_(rt.io_context().get_executor(), local::detail::split_endpoint_url(url_, spec.transport).origin),
        http_(rt.io_context().get_executor(), spec, url_, client_, false) {}

  void send(std::string_view function_type, std::string to_function, local::reply_to reply) override {
    exchanges_.push_back({to_function, {}, false});
    replies_.push_back(reply);
    http_.send(function_type, std::move(to_function), local::reply_to(*this, exchanges_.size() - 1));
  }

  [[nodiscard]] std::string describe() const override { return "wire tap on " + http_.describe(); }

  [[nodiscard]] const std::vector<exchange>& exchanges() const noexcept { return exchanges_; }

 private:
  void accept(std::uint64_t ticket, bool ok, std::string bytes) override {
    exchanges_[ticket].ok = ok;
    exchanges_[ticket].from_function = bytes;
    if (ok) {
      replies_[ticket].ok(std::move(bytes));
    } else {
      replies_[ticket].fail(std::move(bytes));
    }
  }

  std::string url_;
  statefun::asio::http_client client_;
  local::detail::http_endpoint http_;
  std::vector<exchange> exchanges_;
  std::vector<local::reply_to> replies_;
};

/// The scenario without the burst, with every exchange with the server at `port` recorded.
std::vector<exchange> tapped(std::uint16_t port) {
  local::runtime rt({.clock = local::clock::virtual_time()});
  const auto tap = std::make_shared<wire_tap>(rt, endpoint_at(port, local::transport_kind::async));
  rt.bind("interop/*", tap);
  static_cast<void>(run_scenario(rt, {.burst = false}));
  return tap->exchanges();
}

/// A `ToFunction` for stats/global carrying login number 1 (from greeter/ann if `with_caller`),
/// with `states`.
std::string stats_request(const std::vector<codec::state_view>& states, bool with_caller) {
  codec::invocation_batch_view batch;
  batch.target = {"interop", "stats", "global"};
  batch.states = states;
  static const std::string one = [] {
    std::string bytes;
    statefun::type<std::int32_t>::encode(1, bytes);
    return bytes;
  }();
  std::optional<codec::address_view> caller;
  if (with_caller) {
    caller = codec::address_view{"interop", "greeter", "ann"};
  }
  batch.invocations.push_back({caller, {"io.statefun.types/int", true, one}});
  std::string out;
  batch.encode(out);
  return out;
}

// ------------------------------------------------------------------- a durable flow as caller

/// `shop/basket` (id: a shopper): a durable statefun-cpp flow that prices a basket by awaiting
/// interop/quote, the two items at once, then after a minute one more pair of socks. The total
/// goes to the egress shop/totals as "<shopper> <cents>".
constexpr std::string_view basket_type = "shop/basket";
constexpr std::string_view totals_egress = "shop/totals";

statefun::task<> price_basket(statefun::durable_context& ctx, const statefun::message& msg) {
  const auto pairs_of_socks = msg.as<std::int32_t>();
  const statefun::address socks{interop::quote_type, "socks"};
  const statefun::address hats{interop::quote_type, "hats"};
  const auto both = co_await ctx.all(ctx.call<std::int32_t>(socks, pairs_of_socks), ctx.call<std::int32_t>(hats, 1));
  co_await ctx.sleep(1min);
  const auto one_more = co_await ctx.call<std::int32_t>(socks, std::int32_t{1});
  const std::int32_t total = std::get<0>(both) + std::get<1>(both) + one_more;
  ctx.send_egress(statefun::egress_to(totals_egress).value(ctx.self().id + " " + std::to_string(total)));
}

/// What pricing two baskets left: the totals, and how many quotes each item's function gave.
struct basket_outcome {
  std::string totals;  ///< "ann 1950; bob 2200"
  std::int32_t socks_quoted = 0;
  std::int32_t hats_quoted = 0;
};

/// Prices ann's basket (2 pairs of socks) and bob's (3) at once on `rt`, whose interop/quote
/// functions are bound, to the end of their flows.
basket_outcome price_two_baskets(local::runtime& rt) {
  statefun::functions shop;
  shop.bind(basket_type, price_basket);
  rt.serve(shop);
  rt.add_egress({.kind = local::egress_kind::any, .id = std::string(totals_egress)});
  rt.send(statefun::address{basket_type, "ann"}, std::int32_t{2});
  rt.send(statefun::address{basket_type, "bob"}, std::int32_t{3});
  rt.run_until_quiescent();
  std::vector<std::string> totals;
  for (const local::egress_record& record : rt.egress(totals_egress)) {
    totals.push_back(record.value.as<std::string>());
  }
  std::sort(totals.begin(), totals.end());  // the two flows interleave freely
  basket_outcome out;
  for (const std::string& total : totals) {
    out.totals += (out.totals.empty() ? "" : "; ") + total;
  }
  out.socks_quoted = rt.state(statefun::address{interop::quote_type, "socks"}, interop::quoted).value_or(0);
  out.hats_quoted = rt.state(statefun::address{interop::quote_type, "hats"}, interop::quoted).value_or(0);
  return out;
}

}  // namespace

// ==================================================================================== tests

TEST_CASE("the interop scenario, with the C++ functions in process, gives what the application promises") {
  statefun::functions fns;
  interop::bind(fns);
  const outcome got = in_process(fns);
  // The reference every other run is compared with, read as a specification: TTLs after call
  // and after write, a cancelled reminder (ann, 0 s), a cancellation of a message already
  // delivered (bob, 30 min 30 s: a no-op), a token used again after its cancellation (ann), a
  // deletion (zoë), a keyless Kafka record, a zero stored as an int (returning, first login).
  CHECK(got.readable ==
        "states at 1890 s:\n"
        "  interop/greeter/ann logins: 1\n"
        "  interop/greeter/ann devices: [\"phone\",\"laptop\"]\n"
        "  interop/greeter/bob logins: 2\n"
        "  interop/greeter/bob devices: [\"laptop\",\"phone\"]\n"
        "  interop/greeter/carl logins: (none)\n"
        "  interop/greeter/carl devices: [\"phone\",\"tablet\"]\n"
        "  interop/greeter/zoë logins: (none)\n"
        "  interop/greeter/zoë devices: (none)\n"
        "  interop/stats/global welcomes: 5\n"
        "  interop/stats/global returning: 4\n"
        "states at 8100 s:\n"
        "  interop/greeter/ann logins: (none)\n"
        "  interop/greeter/ann devices: (none)\n"
        "  interop/greeter/bob logins: (none)\n"
        "  interop/greeter/bob devices: [\"laptop\",\"phone\"]\n"
        "  interop/greeter/carl logins: (none)\n"
        "  interop/greeter/carl devices: (none)\n"
        "  interop/greeter/zoë logins: (none)\n"
        "  interop/greeter/zoë devices: (none)\n"
        "  interop/stats/global welcomes: 5\n"
        "  interop/stats/global returning: 4\n"
        "interop/greets greetings key=ann \"Hello ann! Welcome.\"\n"
        "interop/greets greetings key=bob \"Hello bob! Welcome.\"\n"
        "interop/greets greetings key=zoë \"Hello zoë! Welcome.\"\n"
        "interop/greets greetings key=ann \"Hello ann! Nice to see you again (2 logins).\"\n"
        "interop/greets forgotten key=(none) \"zoë\"\n"
        "interop/greets reminders key=bob \"We miss you, bob! (1 login, on laptop)\"\n"
        "interop/greets greetings key=carl \"Hello carl! Welcome.\"\n"
        "interop/greets greetings key=carl \"Hello carl! Nice to see you again (2 logins).\"\n"
        "interop/greets greetings key=carl \"Hello carl! Nice to see you again (3 logins).\"\n"
        "interop/greets greetings key=ann \"Hello ann! Welcome.\"\n"
        "interop/greets greetings key=bob \"Hello bob! Nice to see you again (2 logins).\"\n"
        "interop/greets reminders key=ann \"We miss you, ann! (1 login, on phone, laptop)\"\n"
        "interop/audit interop/audit_entry {\"login\":1,\"returning\":0,\"user\":\"ann\",\"welcomes\":1}\n"
        "interop/audit interop/audit_entry {\"login\":1,\"returning\":0,\"user\":\"bob\",\"welcomes\":2}\n"
        "interop/audit interop/audit_entry {\"login\":1,\"returning\":0,\"user\":\"zoë\",\"welcomes\":3}\n"
        "interop/audit interop/audit_entry {\"login\":2,\"returning\":1,\"user\":\"ann\",\"welcomes\":3}\n"
        "interop/audit interop/audit_entry {\"login\":1,\"returning\":1,\"user\":\"carl\",\"welcomes\":4}\n"
        "interop/audit interop/audit_entry {\"login\":2,\"returning\":2,\"user\":\"carl\",\"welcomes\":4}\n"
        "interop/audit interop/audit_entry {\"login\":3,\"returning\":3,\"user\":\"carl\",\"welcomes\":4}\n"
        "interop/audit interop/audit_entry {\"login\":1,\"returning\":3,\"user\":\"ann\",\"welcomes\":5}\n"
        "interop/audit interop/audit_entry {\"login\":2,\"returning\":4,\"user\":\"bob\",\"welcomes\":5}\n");
  CHECK(got.stats.delayed_scheduled == 5);  // ann, bob, zoë, carl, ann again
  CHECK(got.stats.delayed_cancelled == 3);  // ann, zoë, carl; bob's had been delivered
  CHECK(got.stats.delayed_fired == 2);      // bob, ann
  CHECK(got.stats.handshakes == 2);         // once per function type
}

TEST_CASE("the C++ functions served over HTTP by statefun::asio::http_server give the same records and states") {
  statefun::functions fns;
  interop::bind(fns);
  const outcome expected = in_process(fns);
  statefun::test::running_server server(fns);

  local::transport_kind transport = local::transport_kind::async;
  SUBCASE("on the async transport") { transport = local::transport_kind::async; }
  SUBCASE("on the okhttp transport") { transport = local::transport_kind::okhttp; }
  const outcome got = over_http(server.port(), transport);
  MESSAGE("C++ over HTTP, " << name_of(transport) << ": " << got.stats.requests << " requests, largest batch "
                            << got.stats.largest_batch);
  CHECK(got.exact == expected.exact);
  check_same_work(got.stats, expected.stats);
}

TEST_CASE("the same application served by the official JavaScript SDK gives the same records and states") {
  if (!js::available()) {
    return;
  }
  statefun::functions fns;
  interop::bind(fns);
  const outcome expected = in_process(fns);

  local::transport_kind transport = local::transport_kind::async;
  SUBCASE("on the async transport") { transport = local::transport_kind::async; }
  SUBCASE("on the okhttp transport, which checks the content type strictly") {
    transport = local::transport_kind::okhttp;
  }
  js::server app;
  const outcome got = over_http(app.port(), transport);
  MESSAGE("JavaScript SDK, " << name_of(transport) << ": " << got.stats.requests << " requests, largest batch "
                             << got.stats.largest_batch);
  // Byte for byte: the Kafka records, the JSON audit entries and every state the JavaScript
  // SDK wrote are the bytes statefun-cpp writes.
  CHECK(got.exact == expected.exact);
  check_same_work(got.stats, expected.stats);
  CHECK(app.stop() == exit_status::exited_with(0));
}

TEST_CASE("a durable flow's ctx.call awaits functions the JavaScript SDK serves, which answer their caller") {
  // The request is an ordinary message to the JavaScript function, from the flow's address; it
  // answers by sending an int to its caller, which the flow takes as the reply. Each call is
  // answered once and each quote given once, across the flow's sleep and replays.
  // ann: 2 x 250 + 1200 + 250; bob: 3 x 250 + 1200 + 250.
  const basket_outcome expected{.totals = "ann 1950; bob 2200", .socks_quoted = 4, .hats_quoted = 2};
  SUBCASE("the callee in process, with statefun-cpp") {
    statefun::functions fns;
    interop::bind(fns);
    local::runtime rt({.clock = local::clock::virtual_time()});
    rt.serve(fns);
    const basket_outcome got = price_two_baskets(rt);
    CHECK(got.totals == expected.totals);
    CHECK(got.socks_quoted == expected.socks_quoted);
    CHECK(got.hats_quoted == expected.hats_quoted);
  }
  SUBCASE("the callee served by the JavaScript SDK") {
    if (!js::available()) {
      return;
    }
    js::server app;
    {
      local::runtime rt({.clock = local::clock::virtual_time()});
      rt.bind_http(endpoint_at(app.port(), local::transport_kind::async));
      const basket_outcome got = price_two_baskets(rt);
      CHECK(got.totals == expected.totals);
      CHECK(got.socks_quoted == expected.socks_quoted);
      CHECK(got.hats_quoted == expected.hats_quoted);
    }
    CHECK(app.stop() == exit_status::exited_with(0));
  }
}

TEST_CASE("the results stay the same when node closes its idle connections between requests") {
  if (!js::available()) {
    return;
  }
  statefun::functions fns;
  interop::bind(fns);
  const outcome expected = in_process(fns);

  local::transport_kind transport = local::transport_kind::async;
  SUBCASE("on the async transport") { transport = local::transport_kind::async; }
  SUBCASE("on the okhttp transport") { transport = local::transport_kind::okhttp; }
  // node closes a keep-alive connection after 5 s idle; the runtime's async pool keeps one for
  // 15 s. Deployed, the runtime meets pooled connections the function has closed, and a request
  // that finds its connection gone must be sent again on a new one. Here node closes them after
  // every step, so the next request always finds its pooled connection closed.
  js::server app;
  int steps = 0;
  int accepted = 0;
  const auto close_idle = [&] {
    ++steps;
    accepted = app.close_idle_connections();
  };
  const outcome got = over_http(app.port(), transport, {.between_steps = close_idle});
  MESSAGE("node accepted " << accepted << " connections in " << steps << " steps");
  CHECK(accepted >= steps);  // a new one each step: the runtime did not go on using closed ones
  CHECK(got.exact == expected.exact);
  check_same_work(got.stats, expected.stats);
  CHECK(app.stop() == exit_status::exited_with(0));
}

TEST_CASE("the JavaScript SDK answers the runtime's requests with the effects statefun-cpp answers them with") {
  if (!js::available()) {
    return;
  }
  statefun::functions fns;
  interop::bind(fns);
  std::vector<exchange> cpp;
  {
    statefun::test::running_server server(fns);
    cpp = tapped(server.port());
  }
  js::server app;
  const std::vector<exchange> javascript = tapped(app.port());
  CHECK(app.stop() == exit_status::exited_with(0));

  // Every step runs to idle, so the runtime sends the same requests in the same order to both:
  // the requests are equal byte for byte only if both SDKs stored the same state bytes.
  REQUIRE(javascript.size() == cpp.size());
  std::size_t identical = 0;
  for (std::size_t i = 0; i < cpp.size(); ++i) {
    CAPTURE(i);
    CHECK(javascript[i].ok);
    CHECK(hex(javascript[i].to_function) == hex(cpp[i].to_function));
    CHECK(effects_of(javascript[i].from_function) == effects_of(cpp[i].from_function));
    // statefun-cpp writes canonical protobuf: fields in field-number order. The JavaScript SDK
    // (google-protobuf's generated code) writes them in the order the .proto declares them,
    // which is the same everywhere but in DelayedInvocation: `is_cancellation_request = 10`
    // and `cancellation_token = 11` are declared first, so a delayed message with a token
    // comes out as token, delay, target, argument (5a .. 08 .. 12 .. 1a ..) rather than delay,
    // target, argument, token. Protobuf parsers accept fields in any order, the runtime's
    // included: only the bytes differ, never what they say.
    CHECK(hex(canonical(javascript[i].from_function)) == hex(cpp[i].from_function));
    if (javascript[i].from_function == cpp[i].from_function) {
      ++identical;
    } else {
      CHECK(schedules_with_token(cpp[i].from_function));
    }
  }
  MESSAGE(cpp.size() << " exchanges; " << identical
                     << " answers identical byte for byte, the others only in the order of DelayedInvocation fields");
  CHECK(identical < cpp.size());  // the scenario does schedule reminders with tokens
}

TEST_CASE("both SDKs answer a POST with the head both of the runtime's transports accept") {
  if (!js::available()) {
    return;
  }
  statefun::functions fns;
  interop::bind(fns);
  statefun::test::running_server cpp_server(fns);
  js::server js_server;

  // The handshake (no states), then a real invocation (both states attached, welcomes = 0 held
  // as an int with no bytes), on one keep-alive connection; then one the function refuses: a
  // message with no caller, which stats cannot name in its audit entry.
  const std::string handshake = stats_request({}, true);
  const std::string invocation =
      stats_request({{"welcomes", true, {"io.statefun.types/int", true, ""}}, {"returning", false, {}}}, true);
  const std::string refused =
      stats_request({{"welcomes", false, {}}, {"returning", false, {}}}, false);
  struct sdk_server {
    std::string name;
    std::uint16_t port;
  };
  for (const sdk_server& sdk :
       {sdk_server{"statefun-cpp", cpp_server.port()}, sdk_server{"JavaScript", js_server.port()}}) {
    CAPTURE(sdk.name);
    statefun::test::client<> client(sdk.port);
    for (const std::string* request : {&handshake, &invocation}) {
      const auto response = client.exchange(statefun::test::runtime_post(*request));
      CHECK(response.status == 200);
      CHECK(response.content_type == "application/octet-stream");  // exactly: OkHttp compares the string
      CHECK(response.content_length == std::to_string(response.body.size()));
      CHECK(effects_of(response.body) != "");
    }
    const auto failure = client.exchange(statefun::test::runtime_post(refused));
    CHECK(failure.status == 500);
    MESSAGE(sdk.name << " answers a failing function with 500, Content-Type '" << failure.content_type
                 << "', Content-Length " << failure.content_length.value_or("(none)") << ", body of "
                 << failure.body.size() << " bytes");
  }
  CHECK(js_server.stop() == exit_status::exited_with(0));
}

TEST_CASE("a function that throws fails the run the same way whichever SDK serves it") {
  statefun::functions fns;
  interop::bind(fns);
  // An int is no message the greeter knows: both versions throw, both SDKs answer 500, and both
  // transports retry a 500 until the call budget is used up; then the run fails.
  const auto refused = [](local::runtime& rt) {
    rt.send(statefun::address{interop::greeter_type, "ann"}, std::int32_t{7});
    rt.run_until_idle();
  };
  const auto fails_over_http = [&](std::uint16_t port) {
    for (const auto transport : {local::transport_kind::async, local::transport_kind::okhttp}) {
      CAPTURE(name_of(transport));
      auto spec = endpoint_at(port, transport);
      spec.call = 300ms;
      local::runtime rt({.clock = local::clock::virtual_time()});
      rt.bind_http(spec);
      // What the message reports last depends on timing: "HTTP status 500" when the budget
      // ran out between attempts; a timeout when it ran out during one (see the report on
      // the okhttp profile's per-attempt timeout). Either way the run fails, naming the address.
      CHECK_THROWS_WITH_AS(refused(rt), doctest::Contains("function interop/greeter/ann: http://127.0.0.1:"),
                           local::job_failure);
    }
  };
  SUBCASE("in process") {
    local::runtime rt({.clock = local::clock::virtual_time()});
    rt.serve(fns);
    CHECK_THROWS_WITH_AS(refused(rt), doctest::Contains("unexpected message of type io.statefun.types/int"),
                         local::job_failure);
  }
  SUBCASE("served by statefun::asio::http_server") {
    statefun::test::running_server server(fns);
    fails_over_http(server.port());
  }
  SUBCASE("served by the JavaScript SDK") {
    if (js::available()) {
      js::server app;
      fails_over_http(app.port());
      CHECK(app.stop() == exit_status::exited_with(0));
    }
  }
}
