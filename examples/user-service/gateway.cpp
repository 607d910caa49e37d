// The REST gateway in front of a StateFun cluster (see docker-compose.yml): HTTP in, requests to
// Kafka, answers back from Kafka. Serves until SIGINT or SIGTERM.
//
//   user-service-gateway [--brokers kafka:9092] [--address 0.0.0.0] [--port 8080] [--name gateway-1]
//
// --name tells gateways that share the topics apart: it names the consumer group of the answers
// and starts every request id (with a random part, so that ids are never reused across restarts).

#include "http_gateway.hpp"
#include "kafka_bus.hpp"

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>

#include <charconv>
#include <csignal>
#include <cstdint>
#include <exception>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <system_error>

namespace {

/// `--name value` pairs, each name one of `defaults`, whose values stand for what is not given.
std::map<std::string, std::string> parse_flags(int argc, char** argv, std::map<std::string, std::string> defaults) {
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (!flag.starts_with("--") || !defaults.contains(flag.substr(2)) || i + 1 == argc) {
      throw std::invalid_argument("unknown flag or missing value: " + flag);
    }
    defaults[flag.substr(2)] = argv[i + 1];
  }
  return defaults;
}

std::string random_hex() {
  std::ostringstream out;
  out << std::hex << std::random_device{}();
  return out.str();
}

}  // namespace

int main(int argc, char** argv) try {
  const auto flags = parse_flags(argc, argv, {{"brokers", "kafka:9092"},
                                              {"address", "0.0.0.0"},
                                              {"port", "8080"},
                                              {"name", "gateway"}});
  const std::string& port_text = flags.at("port");
  std::uint16_t port = 0;
  if (const auto [end, error] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
      error != std::errc{} || end != port_text.data() + port_text.size()) {
    throw std::invalid_argument("not a port number: " + port_text);
  }

  ::asio::io_context io;
  user_service::kafka_bus bus(io.get_executor(), {.brokers = flags.at("brokers"),
                                                  .group_id = "user-service-" + flags.at("name")});
  user_service::http_gateway gateway(io, bus, {.address = flags.at("address"),
                                               .port = port,
                                               .request_id_prefix = flags.at("name") + "." + random_hex()});
  std::cout << "user-service-gateway: listening on " << flags.at("address") << " port " << gateway.port()
            << ", Kafka at " << flags.at("brokers") << std::endl;

  ::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&gateway](const std::error_code& error, int) {
    if (!error) {
      gateway.stop();
    }
  });
  io.run();  // until the gateway has stopped and its connections have ended
  return 0;
} catch (const std::exception& e) {
  std::cerr << "user-service-gateway: " << e.what() << '\n';
  return 1;
}
