// java_peer_server: the functions of the protocol vectors (test/data/*.bin, as test/vectors_test.cpp
// binds them) and of the benchmark workloads (test/data/workloads/), for the Java clients of
// test/java/StatefunClients.java, which stand in for the StateFun runtime's own HTTP stacks.
//
//   java_peer_server serve [--port N] [--unix PATH] [--tls CERT KEY] [--mtls CERT KEY CLIENT_CA]
//
// serves them on 127.0.0.1 (TCP, TLS, mutual TLS: any free port) and on a Unix socket, prints one
// line per listener once it serves ("tcp <port>", "tls <port>", "mtls <port>", "unix <path>"),
// then "ready", and runs until SIGINT or SIGTERM.
//
//   java_peer_server capture DIR
//
// runs the same functions on the local runtime (in process, through the real codec) on a small
// application (messages to every function, state that goes missing and comes back, delayed
// messages, cancellations, Kafka, Kinesis and custom egresses) and writes each request the runtime
// made and each response our functions gave as DIR/local-NNN.request.bin and .response.bin, for
// the Java parser. Prints the number of exchanges.

#include <statefun/asio/server.hpp>
#include <statefun/asio/tls.hpp>
#include <statefun/egress.hpp>
#include <statefun/json.hpp>
#include <statefun/local/runtime.hpp>
#include <statefun/statefun.hpp>

#include "support/counter.hpp"
#include "support/values.hpp"

#include <asio/post.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace std::chrono_literals;
using statefun::context;
using statefun::message;
using statefun_test::count;
using statefun_test::counter;

void fanout(context& ctx, const message&) {
  counter(ctx, message{});
  ctx.send(statefun::message_to({"bench/counter", "user-2"}).value("hello"));
  ctx.send_egress(statefun::kafka_egress{"bench/egress"}.topic("out").key(ctx.self().id).value("hello"));
}

constexpr statefun::value_spec<std::int32_t> seen{"seen", statefun::expire_after_call{60s}};
constexpr statefun::value_spec<std::string> session{"session", statefun::expire_after_write{1h}};
constexpr statefun::value_spec<bool> flag{"flag"};
constexpr statefun::value_spec<std::int32_t> i_spec{"i"};
constexpr statefun::value_spec<std::int64_t> l_spec{"l"};
constexpr statefun::value_spec<float> f_spec{"f"};
constexpr statefun::value_spec<double> d_spec{"d"};
constexpr statefun::value_spec<bool> b_spec{"b"};
constexpr statefun::value_spec<std::string> s_spec{"s"};
constexpr statefun::value_spec<statefun::test::user> u_spec{"u"};
constexpr statefun::value_spec<std::string> name_spec{"name"};

void write_types(context& ctx, const message&) {
  ctx.storage().set(i_spec, -7);
  ctx.storage().set(l_spec, (std::int64_t{1} << 40) + 3);
  ctx.storage().set(f_spec, 1.5F);
  ctx.storage().set(d_spec, -0.25);
  ctx.storage().set(b_spec, false);
  ctx.storage().set(s_spec, std::string("h\xC3\xA9llo \xE2\x9C\x93"));
  ctx.storage().set(u_spec, statefun::test::user{"ann", 12});
}

void messenger(context& ctx, const message&) {
  ctx.send(statefun::message_to({"vec/counter", "x"}).value("hi"));
  ctx.send(statefun::message_to({"vec/counter", "y"}).value(42));
  ctx.send(statefun::message_to({"vec/counter", "z"}).value(statefun::test::user{"bo", 3}));
  ctx.send_after(1500ms, statefun::message_to({"vec/counter", "x"}).value("later"));
  ctx.send_after(2s, statefun::message_to({"vec/counter", "x"}).value(7), statefun::cancellation_token{"tok-1"});
  ctx.cancel_delayed_message(statefun::cancellation_token{"tok-0"});
  ctx.send_egress(statefun::kafka_egress{"vec/kafka"}.topic("out").key("k").value("a string"));
  ctx.send_egress(statefun::kafka_egress{"vec/kafka"}.topic("ints").value(258));
  ctx.send_egress(statefun::kafka_egress{"vec/kafka"}.topic("doubles").key("d").value(2.5));
  ctx.send_egress(statefun::kafka_egress{"vec/kafka"}.topic("typed").value(statefun::test::user{"cy", 1}));
  ctx.send_egress(
      statefun::kinesis_egress{"vec/kinesis"}.stream("s1").partition_key("p").explicit_hash_key("123").value("v"));
  const std::array<std::byte, 2> raw{std::byte{0}, std::byte{1}};
  ctx.send_egress(statefun::kinesis_egress{"vec/kinesis"}.stream("s2").partition_key("p2").value(std::span(raw)));
  ctx.send_egress(statefun::egress_to("vec/generic").value(statefun::test::user{"di", 0}));
}

/// The functions of test/vectors_test.cpp (the official SDK's vectors) and of the workloads.
statefun::functions peer_functions() {
  statefun::functions fns;
  fns.bind("vec/counter", {count}, counter);
  fns.bind("vec/ttl", {seen, session, flag}, [](context&, const message&) {});
  fns.bind("vec/types", {i_spec, l_spec, f_spec, d_spec, b_spec, s_spec, u_spec}, write_types);
  fns.bind("vec/deleter", {count, name_spec}, [](context& ctx, const message&) { ctx.storage().remove(count); });
  fns.bind("vec/reader", {count}, [](context& ctx, const message&) { (void)ctx.storage().get(count); });
  fns.bind("vec/echo", [](context& ctx, const message& msg) {
    if (ctx.caller()) {
      ctx.send(statefun::message_to(*ctx.caller()).value("echo:" + msg.as<std::string>()));
    }
  });
  fns.bind("vec/messenger", messenger);
  fns.bind("bench/counter", {count}, counter);
  fns.bind("bench/fanout", {count}, fanout);
  return fns;
}

[[noreturn]] void usage(std::string_view problem) {
  std::cerr << "java_peer_server: " << problem
            << "\nusage: java_peer_server serve [--port N] [--unix PATH] [--tls CERT KEY] "
               "[--mtls CERT KEY CLIENT_CA]\n"
               "       java_peer_server capture DIR\n";
  std::exit(2);
}

int serve(const std::vector<std::string_view>& args) {
  const statefun::functions fns = peer_functions();
  statefun::asio::http_server server(fns, {.handle_signals = true});
  std::vector<std::string> listening;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto value = [&] {
      if (i + 1 >= args.size()) {
        usage(std::string(args[i]) + " needs a value");
      }
      return std::string(args[++i]);
    };
    if (args[i] == "--port") {
      const auto port = static_cast<std::uint16_t>(std::stoul(value()));
      listening.push_back("tcp " + std::to_string(server.listen("127.0.0.1", port)));
    } else if (args[i] == "--unix") {
      const std::string path = value();
      server.listen_unix(path);
      listening.push_back("unix " + path);
    } else if (args[i] == "--tls" || args[i] == "--mtls") {
      const bool mutual = args[i] == "--mtls";
      statefun::asio::tls_options tls;
      tls.certificate_chain = value();
      tls.private_key = value();
      if (mutual) {
        tls.client_ca = value();
      }
      const auto port = statefun::asio::listen_tls(server, "127.0.0.1", 0, tls);
      listening.push_back((mutual ? "mtls " : "tls ") + std::to_string(port));
    } else {
      usage("unknown argument " + std::string(args[i]));
    }
  }
  if (listening.empty()) {
    usage("no listener");
  }
  // Announced from the event loop, once run() handles SIGTERM: the harness may signal at once.
  ::asio::post(server.executor(), [&listening] {
    for (const std::string& where : listening) {
      std::cout << where << '\n';
    }
    std::cout << "ready" << std::endl;
  });
  server.run();
  return 0;
}

/// An in-process endpoint that keeps every exchange in files: the request the local runtime
/// made, and the response our functions gave.
class capturing_endpoint final : public statefun::local::function_endpoint {
 public:
  capturing_endpoint(const statefun::functions& fns, std::filesystem::path dir)
      : handler_(fns.handler()), dir_(std::move(dir)) {}

  void send(std::string_view, std::string to_function, statefun::local::reply_to reply) override {
    auto response = handler_.handle_sync(to_function);
    if (!response) {
      reply.fail(response.error().message());
      return;
    }
    char name[32];
    std::snprintf(name, sizeof name, "local-%03zu", ++exchanges_);
    write(dir_ / (std::string(name) + ".request.bin"), to_function);
    write(dir_ / (std::string(name) + ".response.bin"), *response);
    reply.ok(std::string(*response));
  }

  [[nodiscard]] std::string describe() const override { return "capturing, in process"; }

  [[nodiscard]] std::size_t exchanges() const { return exchanges_; }

 private:
  static void write(const std::filesystem::path& path, std::string_view bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) {
      throw std::runtime_error("cannot write " + path.string());
    }
  }

  statefun::request_reply_handler handler_;
  std::filesystem::path dir_;
  std::size_t exchanges_ = 0;
};

int capture(const std::filesystem::path& dir) {
  namespace local = statefun::local;
  using statefun::address;
  const statefun::functions fns = peer_functions();
  auto endpoint = std::make_shared<capturing_endpoint>(fns, dir);
  local::runtime rt({.clock = local::clock::virtual_time()});
  rt.bind("vec/*", endpoint);
  rt.bind("bench/*", endpoint);
  rt.add_egress({.kind = local::egress_kind::kafka, .id = "vec/kafka"});
  rt.add_egress({.kind = local::egress_kind::kinesis, .id = "vec/kinesis"});
  rt.add_egress({.kind = local::egress_kind::any, .id = "vec/generic"});
  rt.add_egress({.kind = local::egress_kind::kafka, .id = "bench/egress"});
  // The first request of each type finds its state missing (an IncompleteInvocationContext), the
  // retry carries it; messenger's messages and delayed messages reach vec/counter.
  rt.send(address{"vec/counter", "u1"}, std::string("hello"));
  rt.send(address{"vec/counter", "u1"}, std::string("again"));
  rt.send(address{"vec/ttl", "t1"}, true);
  rt.send(address{"vec/types", "t1"}, std::int32_t{1});
  rt.send(address{"vec/deleter", "d1"}, std::string("x"));
  rt.send(address{"vec/reader", "r1"}, std::string("x"));
  rt.send(address{"vec/echo", "e1"}, std::string("no caller"));
  rt.send(address{"vec/messenger", "m1"}, std::string("go"));
  rt.send(address{"bench/fanout", "user-1"}, std::string("hello"));
  rt.run_until_quiescent();
  std::cout << endpoint->exchanges() << " exchanges\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::vector<std::string_view> args(argv + 1, argv + argc);
    if (args.empty()) {
      usage("no command");
    }
    if (args[0] == "serve") {
      return serve({args.begin() + 1, args.end()});
    }
    if (args[0] == "capture" && args.size() == 2) {
      return capture(std::filesystem::path(args[1]));
    }
    usage("unknown command " + std::string(args[0]));
  } catch (const std::exception& e) {
    std::cerr << "java_peer_server: " << e.what() << '\n';
    return 1;
  }
}
