// http_server: the server side of bench/http (issue 3): `bench/counter` served over HTTP/1.1 by
// statefun::asio::http_server, as a StateFun runtime would reach it, for wrk to load.
//
// The function is bound exactly as in bench/dispatch.cpp (a plain function reading `count`,
// adding 1, writing it back), so that test/data/workloads/w1_counter.bin is a valid request
// and every answer is a MODIFY of count to 42. One serving thread (`threads = 1`), on
// 127.0.0.1 only, at any path (the runtime routes by the body).
//
//   http_server [PORT]     PORT 0 or absent: any free port
//
// Prints "listening on PORT" (flushed) once it accepts, and serves until SIGINT or SIGTERM.
// Deliberately includes neither <statefun/statefun.hpp> (nlohmann/json) nor
// <statefun/asio/tls.hpp> (OpenSSL): the binary is what a lean function service links.

#include <statefun/asio/server.hpp>
#include <statefun/context.hpp>
#include <statefun/functions.hpp>
#include <statefun/message.hpp>
#include <statefun/value_spec.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

namespace {

constexpr statefun::value_spec<std::int32_t> count{"count"};

void counter(statefun::context& ctx, const statefun::message&) {
  ctx.storage().set(count, ctx.storage().get(count).value_or(0) + 1);
}

int run(int argc, char** argv) {
  if (argc > 2) {
    std::fprintf(stderr, "usage: http_server [PORT]\n");
    return 2;
  }
  unsigned long port = 0;
  if (argc == 2) {
    char* end = nullptr;
    port = std::strtoul(argv[1], &end, 10);
    if (end == argv[1] || *end != '\0' || port > 65535) {
      std::fprintf(stderr, "http_server: not a port: %s\n", argv[1]);
      return 2;
    }
  }

  statefun::functions fns;
  fns.bind("bench/counter", {count}, counter);

  statefun::asio::http_server server{fns, {.threads = 1}};
  const std::uint16_t bound = server.listen("127.0.0.1", static_cast<std::uint16_t>(port));
  std::printf("listening on %u\n", static_cast<unsigned>(bound));
  std::fflush(stdout);
  server.run();  // until SIGINT or SIGTERM (server_options::handle_signals)
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "http_server: %s\n", e.what());
    return 1;
  }
}
