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

#include "support/vector_functions.hpp"

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

/// The functions of the protocol vectors and of the workloads.
statefun::functions peer_functions() {
  statefun::functions fns = statefun::test::vector_functions();
  statefun::test::bind_workload_functions(fns);
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
