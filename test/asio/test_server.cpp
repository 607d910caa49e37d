// test_server: an http_server as an operator runs it, for the tests that need a real process
// (server_process_test.cpp). It serves
//
//   bench/counter  counts calls in the state "count" (as test/asio/server_support.hpp does);
//   test/slow      prints "started" on stdout when invoked, then waits the milliseconds its
//                  message holds (an int32), or 300 ms, and counts like bench/counter;
//
// on the listeners its arguments name, prints "listening on <port or path>" for each once it
// serves, and runs until SIGINT or SIGTERM. Exit status 0 when run() returns.
//
//   test_server [--port N] [--address A] [--unix PATH] [--tls CERT KEY [CLIENT_CA]] [--nofile N]
//               [--drain-delay MS]
//
// --port binds A (default 127.0.0.1) at N (0: any free port); --tls binds A at any free port;
// --nofile sets both limits on open files (RLIMIT_NOFILE) to N first, as `prlimit` would
// before exec (a test of a low limit needs no prlimit program); --drain-delay sets
// server_options::drain_delay. It logs to stderr (the server's default log, JSON lines).

#include <statefun/asio/server.hpp>
#include <statefun/asio/sleep.hpp>
#include <statefun/asio/tls.hpp>
#include <statefun/statefun.hpp>

#include <asio/post.hpp>

#include <sys/resource.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr statefun::value_spec<std::int32_t> count{"count"};

void counter(statefun::context& ctx, const statefun::message&) {
  ctx.storage().set(count, ctx.storage().get(count).value_or(0) + 1);
}

statefun::task<> slow(statefun::context& ctx, const statefun::message& msg) {
  const std::chrono::milliseconds duration(msg.is<std::int32_t>() ? msg.as<std::int32_t>() : 300);
  std::cout << "started" << std::endl;  // flushed: the test waits for this line
  co_await statefun::asio::sleep_for(duration);
  ctx.storage().set(count, ctx.storage().get(count).value_or(0) + 1);
}

struct arguments {
  std::string address = "127.0.0.1";
  std::optional<std::uint16_t> port;
  std::optional<std::string> unix_path;
  std::optional<statefun::asio::tls_options> tls;
  std::optional<rlim_t> nofile;
  std::chrono::milliseconds drain_delay{0};
};

[[noreturn]] void usage(std::string_view problem) {
  std::cerr << "test_server: " << problem
            << "\nusage: test_server [--port N] [--address A] [--unix PATH] "
               "[--tls CERT KEY [CLIENT_CA]] [--nofile N] [--drain-delay MS]\n";
  std::exit(2);
}

arguments parse(const std::vector<std::string_view>& args) {
  arguments parsed;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto value = [&] {
      if (i + 1 >= args.size() || args[i + 1].starts_with("--")) {
        usage(std::string(args[i]) + " needs a value");
      }
      return std::string(args[++i]);
    };
    if (args[i] == "--port") {
      parsed.port = static_cast<std::uint16_t>(std::stoul(value()));
    } else if (args[i] == "--nofile") {
      parsed.nofile = static_cast<rlim_t>(std::stoul(value()));
    } else if (args[i] == "--drain-delay") {
      parsed.drain_delay = std::chrono::milliseconds(std::stoul(value()));
    } else if (args[i] == "--address") {
      parsed.address = value();
    } else if (args[i] == "--unix") {
      parsed.unix_path = value();
    } else if (args[i] == "--tls") {
      statefun::asio::tls_options tls;
      tls.certificate_chain = value();
      tls.private_key = value();
      if (i + 1 < args.size() && !args[i + 1].starts_with("--")) {
        tls.client_ca = value();
      }
      parsed.tls = tls;
    } else {
      usage("unknown argument " + std::string(args[i]));
    }
  }
  if (!parsed.port && !parsed.unix_path && !parsed.tls) {
    usage("no listener");
  }
  return parsed;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const arguments args = parse(std::vector<std::string_view>(argv + 1, argv + argc));
    if (args.nofile) {
      const ::rlimit limit{*args.nofile, *args.nofile};
      if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) {
        usage("cannot set RLIMIT_NOFILE");
      }
    }
    statefun::functions fns;
    fns.bind("bench/counter", {count}, counter);
    fns.bind("test/slow", {count}, slow);
    statefun::asio::http_server server(fns, {.drain_delay = args.drain_delay, .handle_signals = true});
    std::vector<std::string> listening;
    if (args.port) {
      listening.push_back(std::to_string(server.listen(args.address, *args.port)));
    }
    if (args.unix_path) {
      server.listen_unix(*args.unix_path);
      listening.push_back(*args.unix_path);
    }
    if (args.tls) {
      listening.push_back(std::to_string(statefun::asio::listen_tls(server, args.address, 0, *args.tls)));
    }
    // Announced from the event loop, once run() has installed the SIGINT/SIGTERM handling: a
    // test that signals as soon as it reads the line must not find the default action (death).
    ::asio::post(server.executor(), [&listening] {
      for (const std::string& where : listening) {
        std::cout << "listening on " << where << '\n';
      }
      std::cout.flush();
    });
    server.run();
  } catch (const std::exception& e) {
    std::cerr << "test_server: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
