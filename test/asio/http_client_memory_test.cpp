// http_client's memory against the worst framings a server may choose: a response in one-byte
// chunks with 16-digit sizes (21 raw bytes per body byte), bigger than the call's
// max_response_bytes or within it, and a Content-Length over it. The service streams its chunks
// as it makes them, so that the test process's peak memory (VmHWM, reset through
// /proc/self/clear_refs) is the client's.

#include <statefun/asio/http_client.hpp>

#include <asio/buffer.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read_until.hpp>
#include <asio/streambuf.hpp>
#include <asio/write.hpp>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

#include "asio/client_support.hpp"
#include "asio/fake_service.hpp"
#include "support/doctest.hpp"
#include "support/memory.hpp"
#include "support/run_on.hpp"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace {

using statefun::asio::http_client;

using statefun::test::mib;

using statefun::test::under_asan;

/// Resets VmHWM to the resident memory now (Linux 4.0 and later).
void reset_peak() { std::ofstream("/proc/self/clear_refs") << "5"; }

/**
 * A service on 127.0.0.1 that answers one request with a 200 whose body is `size` bytes of
 * 'a'..'z' in one-byte chunks with 16-digit sizes, written 4,096 chunks at a time as they are
 * made (never the whole response at once). It stops early when the client goes away.
 */
class chunk_streamer {
 public:
  explicit chunk_streamer(std::uint64_t size)
      : acceptor_(io_, {::asio::ip::make_address("127.0.0.1"), 0}), size_(size), thread_([this] { serve(); }) {}
  chunk_streamer(const chunk_streamer&) = delete;
  chunk_streamer& operator=(const chunk_streamer&) = delete;
  ~chunk_streamer() { thread_.join(); }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()); }

  /// The body it sends, for comparing.
  static char byte_at(std::uint64_t i) { return static_cast<char>('a' + i % 26); }

 private:
  void serve() {
    std::error_code error;
    ::asio::ip::tcp::socket socket(io_);
    acceptor_.accept(socket, error);
    if (error) {
      return;
    }
    ::asio::streambuf request;
    ::asio::read_until(socket, request, "\r\n\r\n", error);
    std::string piece = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (std::uint64_t at = 0; !error && at < size_;) {
      for (int i = 0; i < 4096 && at < size_; ++i, ++at) {
        piece.append("0000000000000001\r\n").push_back(byte_at(at));
        piece.append("\r\n");
      }
      ::asio::write(socket, ::asio::buffer(piece), error);
      piece.clear();
    }
    if (!error) {
      ::asio::write(socket, ::asio::buffer(std::string_view("0\r\n\r\n")), error);
    }
    // Wait for the client to close (its pool, or its refusal), so that nothing is cut short.
    char byte;
    while (!error) {
      socket.read_some(::asio::buffer(&byte, 1), error);
    }
  }

  ::asio::io_context io_;
  ::asio::ip::tcp::acceptor acceptor_;
  std::uint64_t size_;
  std::thread thread_;  // last: starts once everything it uses exists
};

}  // namespace

TEST_CASE("http_client: a response in one-byte chunks bigger than max_response_bytes fails with message_size, naming the limit, without holding its raw bytes") {
  chunk_streamer service(4 * mib);  // 84 MiB on the wire
  asio::io_context io;
  std::string message;
  std::error_code code;
  reset_peak();
  const std::uint64_t before = statefun::test::status_bytes("self", "VmRSS");
  {
    http_client client(io.get_executor(), service.url(), 0);
    try {
      statefun::test::run_on(io, client.get("/big", {.timeout = std::chrono::minutes(2), .retries = 2, .max_response_bytes = 1 * mib}));
    } catch (const std::system_error& e) {
      code = e.code();
      message = e.what();
    }
  }
  CHECK(code == std::errc::message_size);
  CHECK(message.find("max_response_bytes (1048576 bytes)") != std::string::npos);
  CHECK(message.find("GET http://127.0.0.1:") != std::string::npos);
  const std::uint64_t peak = statefun::test::status_bytes("self", "VmHWM");
  MESSAGE("http_client: resident ", before / mib, " MiB before, peak ", peak / mib, " MiB");
  CHECK(peak < before + (under_asan ? 32 : 8) * mib);
}

TEST_CASE("http_client: a legal response in one-byte chunks (21 raw bytes per body byte) is read whole within max_response_bytes plus a small constant") {
  const std::uint64_t size = (under_asan ? 4 : 8) * mib;
  const std::uint64_t limit = 2 * size;
  chunk_streamer service(size);
  asio::io_context io;
  std::string body;
  reset_peak();
  const std::uint64_t before = statefun::test::status_bytes("self", "VmRSS");
  {
    http_client client(io.get_executor(), service.url(), 0);
    auto response = statefun::test::run_on(io, client.get("/big", {.timeout = std::chrono::minutes(2), .max_response_bytes = limit}));
    CHECK(response.status == 200);
    body = std::move(response.body);
  }
  const std::uint64_t peak = statefun::test::status_bytes("self", "VmHWM");
  MESSAGE("http_client: ", 21 * size / mib, " MiB on the wire; resident ", before / mib, " MiB before, peak ",
          peak / mib, " MiB");
  REQUIRE(body.size() == size);
  bool same = true;
  for (std::uint64_t i = 0; i < size && same; ++i) {
    same = body[i] == chunk_streamer::byte_at(i);
  }
  CHECK(same);
  // The receive buffer (the body so far, up to the limit) and the body returned.
  CHECK(peak < before + limit + size + (under_asan ? 2 * limit + 16 * mib : 8 * mib));
}

TEST_CASE("http_client: a Content-Length over max_response_bytes fails with message_size before the body is read, and is not retried") {
  statefun::test::fake_service service;
  service.on("/big", {.body = std::string(4096, 'x')});
  asio::io_context io;
  http_client client(io.get_executor(), service.url());
  const std::string message = statefun::test::failure_message_of(
      io, client.get("/big", {.retries = 3, .backoff = std::chrono::milliseconds(1), .max_response_bytes = 4095}));
  CHECK(message.find("response body over call_options::max_response_bytes (4095 bytes)") != std::string::npos);
  CHECK(service.requests_received() == 1);
  CHECK(client.idle_connections() == 0);  // the connection is closed, not pooled
  // At the limit exactly, the same response is read.
  const auto response = statefun::test::run_on(io, client.get("/big", {.max_response_bytes = 4096}));
  CHECK(response.body == std::string(4096, 'x'));
}
