// The user service on one machine: the REST gateway and the local runtime in this process, on
// one event loop, configured by the module.yaml deployed to the cluster, with the functions in
// process. Serves until Ctrl-C.
//
//   build/examples/user-service/user-service [PORT]     (default 8080; 0: any free port)
//   curl -X POST localhost:8080/users/create

#include "http_gateway.hpp"
#include "local_bus.hpp"
#include "user_service.hpp"

#include <statefun/local/module_yaml.hpp>
#include <statefun/local/runtime.hpp>

#include <asio/signal_set.hpp>

#include <charconv>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <exception>
#include <iostream>
#include <system_error>

int main(int argc, char** argv) try {
  std::uint16_t port = 8080;
  if (argc > 2) {
    std::cerr << "usage: user-service [PORT]\n";
    return 2;
  }
  if (argc == 2) {
    const char* end = argv[1] + std::strlen(argv[1]);
    if (const auto [at, error] = std::from_chars(argv[1], end, port); error != std::errc{} || at != end) {
      std::cerr << "user-service: '" << argv[1] << "' is not a port number\n";
      return 2;
    }
  }

  statefun::functions fns;
  user_service::bind_functions(fns);
  statefun::local::runtime rt(statefun::local::load_module(EXAMPLE_MODULE_YAML));
  rt.serve(fns);  // in process: the module's endpoint (user-service-functions:8000) is not needed

  user_service::local_bus bus(rt);
  user_service::http_gateway gateway(rt.io_context(), bus, {.port = port});
  std::cout << "user-service: listening on http://127.0.0.1:" << gateway.port() << std::endl;

  ::asio::signal_set signals(rt.io_context(), SIGINT, SIGTERM);
  signals.async_wait([&](const std::error_code& error, int) {
    if (!error) {
      gateway.stop();
      rt.stop();
    }
  });
  rt.run();
  rt.drain();  // the connections the gateway closed come to their end
  std::cout << "user-service: stopped" << std::endl;
  return 0;
} catch (const std::exception& e) {
  std::cerr << "user-service: " << e.what() << '\n';
  return 1;
}
