// memory_server: an http_server with the body limit its argument gives, for the tests that read
// a server's memory from /proc/<pid>/status (server_memory_test.cpp): nothing else runs in the
// process, so its peak resident memory is the server's. It serves bench/counter (counts calls in
// the state "count", as test/asio/server_support.hpp does) on one thread, prints
// "listening on <port>" once it serves, and runs until SIGINT or SIGTERM.
//
//   memory_server MAX_BODY_BYTES

#include <statefun/asio/server.hpp>
#include <statefun/statefun.hpp>

#include <asio/post.hpp>

#include <cstdint>
#include <exception>
#include <iostream>
#include <string>

namespace {

constexpr statefun::value_spec<std::int32_t> count{"count"};

void counter(statefun::context& ctx, const statefun::message&) {
  ctx.storage().set(count, ctx.storage().get(count).value_or(0) + 1);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: memory_server MAX_BODY_BYTES\n";
    return 2;
  }
  try {
    statefun::functions fns;
    fns.bind("bench/counter", {count}, counter);
    statefun::asio::http_server server(fns, {.max_body_bytes = std::stoull(argv[1]), .handle_signals = true});
    const std::uint16_t port = server.listen("127.0.0.1", 0);
    ::asio::post(server.executor(), [port] { std::cout << "listening on " << port << std::endl; });
    server.run();
  } catch (const std::exception& e) {
    std::cerr << "memory_server: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
