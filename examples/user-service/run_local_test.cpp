// The user-service program as a user runs it: started on a free port, asked over HTTP, stopped
// with Ctrl-C (SIGINT).

#include "../../test/support/process.hpp"
#include "test_client.hpp"

#include <doctest/doctest.h>

#include <csignal>
#include <string>

namespace {

using statefun::test::child;
using statefun::test::exit_status;
using user_service::test::test_connection;

constexpr std::string_view listening = "user-service: listening on http://127.0.0.1:";

}  // namespace

TEST_CASE("user-service serves the REST API on the port it prints, until Ctrl-C") {
  child service({USER_SERVICE_PROGRAM, "0"});
  const std::string line = service.wait_for_line(listening);
  const auto port = static_cast<std::uint16_t>(std::stoi(line.substr(listening.size())));

  test_connection client(port);
  const auto created = client.request("POST", "/users/create");
  CHECK(created.status == 201);
  CHECK(created.json["user_id"] == "0");
  CHECK(client.request("POST", "/users/credit/add/0/7").json["credit"] == 7);

  service.signal(SIGINT);  // with the client's connection still open
  CHECK(service.wait() == exit_status::exited_with(0));
  CHECK(service.rest() == "user-service: stopped\n");
  CHECK(client.closed_by_gateway());
}

TEST_CASE("user-service refuses an argument that is not a port") {
  const auto result = statefun::test::run({USER_SERVICE_PROGRAM, "http"});
  CHECK(result.status == exit_status::exited_with(2));
  CHECK(result.err == "user-service: 'http' is not a port number\n");
}

TEST_CASE("user-service says so when the port is taken") {
  child first({USER_SERVICE_PROGRAM, "0"});
  const std::string line = first.wait_for_line(listening);
  const std::string port = line.substr(listening.size());
  const auto second = statefun::test::run({USER_SERVICE_PROGRAM, port});
  CHECK(second.status == exit_status::exited_with(1));
  CHECK(second.err.starts_with("user-service: cannot listen on 127.0.0.1 port " + port));
  first.signal(SIGTERM);
  CHECK(first.wait() == exit_status::exited_with(0));
}
