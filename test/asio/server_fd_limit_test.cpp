// File descriptors against max_connections: the server raises its soft limit, lowers
// max_connections to what the limit leaves (saying so), and when descriptors run out anyway,
// the clients waiting to be accepted are told 503 (or closed) at once instead of waiting.

#include <statefun/asio/server.hpp>

#include <signal.h>
#include <sys/resource.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "asio/hostile_support.hpp"
#include "asio/server_support.hpp"
#include "support/doctest.hpp"

#ifndef STATEFUN_TEST_SERVER
#error "the build passes STATEFUN_TEST_SERVER, the path of the test_server program"
#endif

using statefun::test::client;
using statefun::test::receive_or_close;
using statefun::test::runtime_post;
using statefun::test::w1;

TEST_CASE("http_server: the soft RLIMIT_NOFILE is raised to the hard limit at start") {
  ::rlimit before{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &before) == 0);
  if (before.rlim_max == RLIM_INFINITY || before.rlim_max <= 256) {
    MESSAGE("skipped: the hard limit leaves no room below it");
    return;
  }
  ::rlimit lowered = before;
  lowered.rlim_cur = 256;
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &lowered) == 0);
  {
    statefun::test::test_functions f;
    statefun::test::running_server server(f.fns);
    ::rlimit now{};
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &now) == 0);
    CHECK(now.rlim_cur == before.rlim_max);
  }
  (void)::setrlimit(RLIMIT_NOFILE, &before);
}

TEST_CASE("test_server: under RLIMIT_NOFILE 64, max_connections is lowered with a warning, extra clients get 503 or a close at once, and it serves again once they leave") {
  statefun::test::piped_child server({STATEFUN_TEST_SERVER, "--port", "0", "--nofile", "64"});
  const std::string warning = server.wait_for_stderr("\"event\":\"server.max_connections_lowered\"");
  CHECK_MESSAGE(warning.find("\"from\":10000,\"to\":32,\"file_limit\":64,") != std::string::npos, warning);
  const auto port = static_cast<std::uint16_t>(std::stoul(server.wait_for_line("listening on ").substr(13)));

  // More clients than the server has descriptors: all connect (the kernel queues them in the
  // backlog) and send a request before any reads.
  constexpr std::size_t clients = 100;
  std::vector<std::unique_ptr<client<>>> all;
  for (std::size_t i = 0; i < clients; ++i) {
    all.push_back(std::make_unique<client<>>(port));
  }
  const std::string request = runtime_post(w1());
  for (auto& c : all) {
    c->send(request);
  }
  std::size_t served = 0;
  std::size_t refused = 0;
  std::size_t closed = 0;
  std::size_t keep = clients;  // a served client, kept open
  for (std::size_t i = 0; i < clients; ++i) {
    CAPTURE(i);
    const statefun::test::answer a = receive_or_close(all[i]->socket());  // throws if left waiting
    if (a.status == 200) {
      ++served;
      keep = keep == clients ? i : keep;
    } else if (a.status == 503) {
      ++refused;
    } else {
      CHECK_FALSE(a.status);  // closed at once, without a response
      ++closed;
    }
  }
  CHECK(served > 0);
  CHECK(served <= 32);
  CHECK(served + refused + closed == clients);
  MESSAGE(served, " served, ", refused, " answered 503, ", closed, " closed");
  // Some were taken off the backlog with the spare descriptor: the server had run out.
  CHECK_FALSE(server.wait_for_stderr("\"event\":\"accept.out_of_descriptors\"").empty());

  // Everyone but one served client leaves; two exchanges on that one let the server see them go
  // (each is handled after the closes that came before it); then a new client is served.
  REQUIRE(keep < clients);
  for (std::size_t i = 0; i < clients; ++i) {
    if (i != keep) {
      all[i].reset();
    }
  }
  CHECK(all[keep]->exchange(request).status == 200);
  CHECK(all[keep]->exchange(request).status == 200);
  client again(port);
  again.send(request);
  CHECK(receive_or_close(again.socket()).status == 200);

  server.signal(SIGTERM);
  CHECK(server.wait() == statefun::test::exit_status::exited_with(0));
}
