#pragma once

// A blocking HTTP/1.1 client for the tests: one connection to the gateway on loopback, raw
// bytes out (well-formed requests or not), responses read with the SDK's response parser. A
// test that needs many requests in flight at once opens many connections, sends on each, and
// only then reads the answers.

#include <statefun/http/response_parser.hpp>

#include <asio/buffer.hpp>
#include <asio/connect.hpp>
#include <asio/error.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/write.hpp>

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace user_service::test {

struct test_response {
  int status = 0;
  std::string connection{};  // the Connection field
  std::string allow{};       // the Allow field
  std::string body{};
  nlohmann::json json{};     // the body, parsed (discarded if it is not JSON)
};

class test_connection {
 public:
  explicit test_connection(std::uint16_t port) : socket_(io_) {
    socket_.connect({::asio::ip::make_address("127.0.0.1"), port});
  }

  void send(std::string_view bytes) { ::asio::write(socket_, ::asio::buffer(bytes)); }

  void send_request(std::string_view method, std::string_view target) {
    send(std::string(method) + " " + std::string(target) + " HTTP/1.1\r\nHost: localhost\r\n\r\n");
  }

  /// The next response. @throws std::runtime_error if the connection ends first.
  test_response receive() {
    using statefun::http::parse_status;
    for (;;) {
      parse_status status = parser_.parse(buffer_);
      if (status == parse_status::need_more && !read_more()) {
        status = parser_.finish(buffer_);
        if (status == parse_status::need_more) {
          throw std::runtime_error("the gateway closed the connection before answering");
        }
      }
      if (status == parse_status::failed) {
        throw std::runtime_error("malformed response: " + std::string(parser_.error().reason));
      }
      if (status == parse_status::complete) {
        test_response response{.status = parser_.status_code(),
                               .connection = std::string(parser_.header("Connection").value_or("")),
                               .allow = std::string(parser_.header("Allow").value_or("")),
                               .body = std::string(parser_.body()),
                               .json = nlohmann::json::parse(parser_.body(), nullptr, false)};
        buffer_.erase(0, parser_.message_size());
        parser_.reset();
        return response;
      }
    }
  }

  test_response request(std::string_view method, std::string_view target) {
    send_request(method, target);
    return receive();
  }

  /// True when the gateway closes the connection without sending anything more.
  bool closed_by_gateway() { return buffer_.empty() && !read_more(); }

 private:
  /// @return False at the end of the connection.
  bool read_more() {
    std::array<char, 4096> chunk;
    std::error_code error;
    const std::size_t n = socket_.read_some(::asio::buffer(chunk), error);
    if (error == ::asio::error::eof || error == ::asio::error::connection_reset) {
      return false;
    }
    if (error) {
      throw std::system_error(error, "reading from the gateway");
    }
    buffer_.append(chunk.data(), n);
    return true;
  }

  ::asio::io_context io_;
  ::asio::ip::tcp::socket socket_;
  std::string buffer_;
  statefun::http::response_parser parser_;
};

}  // namespace user_service::test
