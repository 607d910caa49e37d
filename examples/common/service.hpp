#pragma once

// The main() of every example's function service (the container docker-compose.yml starts):
// serves the example's functions to a StateFun cluster at POST /statefun on port 8000, or on the
// port given as the first argument, until SIGINT or SIGTERM; GET /metrics answers their metrics
// (Prometheus), GET /livez and /readyz their health.

#include <statefun/asio/server.hpp>
#include <statefun/functions.hpp>
#include <statefun/metrics/prometheus.hpp>

#include <charconv>
#include <cstdint>
#include <cstring>
#include <exception>
#include <iostream>
#include <optional>
#include <type_traits>

namespace examples {

/// The port given as the first argument, or 8000; nothing (after saying why) if it is not one.
inline std::optional<std::uint16_t> port_argument(int argc, char** argv) {
  std::uint16_t port = 8000;
  if (argc > 1) {
    const char* end = argv[1] + std::strlen(argv[1]);
    if (const auto [at, error] = std::from_chars(argv[1], end, port); error != std::errc{} || at != end) {
      std::cerr << argv[0] << ": '" << argv[1] << "' is not a port number\n";
      return std::nullopt;
    }
  }
  return port;
}

/**
 * Serves the functions that `bind(fns)` binds, or `bind(fns, server)` where they need the
 * server (an HTTP client on its executor). Whatever `bind` returns is kept until the server stops
 * and is destroyed before it.
 */
template <class Bind>
int serve(int argc, char** argv, Bind bind) try {
  const auto port = port_argument(argc, argv);
  if (!port) {
    return 2;
  }
  statefun::metrics::prometheus metrics;  // outlives the functions and the server it observes
  statefun::functions fns;
  fns.observe(&metrics);
  statefun::asio::http_server server{fns, {.port = *port, .path = "/statefun", .observer = &metrics}};
  const auto run = [&] {
    std::cerr << argv[0] << ": serving on port " << *port << " at /statefun\n";
    server.run();
  };
  if constexpr (std::is_invocable_v<Bind&, statefun::functions&, statefun::asio::http_server&>) {
    [[maybe_unused]] const auto held = bind(fns, server);
    run();
  } else {
    bind(fns);
    run();
  }
  return 0;
} catch (const std::exception& e) {
  std::cerr << argv[0] << ": " << e.what() << '\n';
  return 1;
}

}  // namespace examples
