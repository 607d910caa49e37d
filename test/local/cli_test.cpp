// The statefun-local command-line tool, run as a real process: decode and encode through files
// and pipes, the help of every command, invoke against a real server on loopback, and the
// errors and exit codes a user sees.

#include <statefun/local/protocol_json.hpp>

#include "support/doctest.hpp"

#include <statefun/codec/to_function.hpp>
#include <statefun/json.hpp>
#include <statefun/statefun.hpp>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <statefun/metrics/prometheus.hpp>

#include "asio/fake_service.hpp"
#include "statefun-local/exposition.hpp"
#include "statefun-local/latency_histogram.hpp"
#include "asio/server_support.hpp"
#include "support/exposition.hpp"
#include "support/files.hpp"
#include "support/process.hpp"

#ifndef STATEFUN_LOCAL_BIN
#error "the build passes STATEFUN_LOCAL_BIN, the path of the statefun-local program"
#endif

// Defined (to 1) when the build found OpenSSL, for statefun-local and for this test alike.
#ifndef STATEFUN_TEST_PROMTOOL
#error "the build passes STATEFUN_TEST_PROMTOOL, the path of Prometheus' promtool (empty if none)"
#endif

#if STATEFUN_LOCAL_TLS
#include <statefun/asio/tls.hpp>

#include "asio/certificates.hpp"
#endif

// The service's behaviours are written with designated initializers, which g++ 12 warns about
// for every member left out: https://gcc.gnu.org/bugzilla/show_bug.cgi?id=96868
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace {

using nlohmann::json;
using statefun::test::exit_status;
using statefun::test::run_result;

const std::string tool = STATEFUN_LOCAL_BIN;

/// Runs statefun-local with `args`.
run_result local(std::vector<std::string> args) {
  args.insert(args.begin(), tool);
  return statefun::test::run(args);
}

/// Runs `script` with /bin/sh, $0 being statefun-local and $1... `args` (never spliced into the
/// script, so paths need no quoting): for pipes and redirections.
run_result shell(const std::string& script, std::vector<std::string> args = {}) {
  std::vector<std::string> argv{"/bin/sh", "-c", script, tool};
  argv.insert(argv.end(), args.begin(), args.end());
  return statefun::test::run(argv);
}

const exit_status ok = exit_status::exited_with(0);
const exit_status failure = exit_status::exited_with(1);
const exit_status usage = exit_status::exited_with(2);

std::string data_path(std::string_view name) { return std::string(STATEFUN_TEST_DATA) + "/" + std::string(name); }

/// The URL of the test server's endpoint.
std::string endpoint(std::uint16_t port) { return "http://127.0.0.1:" + std::to_string(port) + "/statefun"; }

/// A port on loopback that nothing listens on (it was free a moment ago, and is closed again).
std::uint16_t closed_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  return acceptor.local_endpoint().port();
}

}  // namespace

// --- Help and usage ---------------------------------------------------------------------------

TEST_CASE("every command explains itself with --help and exits 0") {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"--help"}, {"invoke", "--help"}, {"decode", "--help"}, {"encode", "--help"}, {"bench", "--help"}}) {
    CAPTURE(args.front());
    const auto r = local(args);
    CHECK(r.status == ok);
    CHECK(r.out.find("Usage: statefun-local") != std::string::npos);
    CHECK(r.err.empty());
  }
  const auto top = local({"--help"});
  for (const char* command : {"invoke", "decode", "encode", "bench"}) {
    CHECK(top.out.find(command) != std::string::npos);
  }
  CHECK(local({"invoke", "--help"}).out.find("--register") != std::string::npos);
}

TEST_CASE("a wrong command line exits 2 and says what is wrong") {
  SUBCASE("no command") {
    const auto r = local({});
    CHECK(r.status == usage);
    CHECK(r.err.find("A subcommand is required") != std::string::npos);
  }
  SUBCASE("an unknown command") {
    const auto r = local({"decod"});
    CHECK(r.status == usage);
    CHECK(r.err.find("unknown command 'decod' (expected one of run, invoke, decode, encode, bench)") != std::string::npos);
  }
  SUBCASE("a missing option") {
    const auto r = local({"encode"});
    CHECK(r.status == usage);
    CHECK(r.err.find("--as is required") != std::string::npos);
  }
  SUBCASE("a value that is not allowed") {
    const auto r = local({"decode", "--as", "request"});
    CHECK(r.status == usage);
    CHECK(r.err.find("--as") != std::string::npos);
  }
}

// --- decode and encode ------------------------------------------------------------------------

TEST_CASE("decode then encode gives back the bytes, through files") {
  const statefun::test::temp_dir dir;
  // Not a structured binding: clang 14 cannot capture one in CAPTURE's lambda.
  for (const auto& entry : std::vector<std::pair<std::string, std::string>>{
           {"counter-existing.request.bin", "to-function"},
           {"messenger.response.bin", "from-function"},
           {"types-write.response.bin", "from-function"},
           {"counter-missing-state.response.bin", "from-function"}}) {
    const std::string& name = entry.first;
    const std::string& kind = entry.second;
    CAPTURE(name);
    const auto decoded = local({"decode", "--as", kind, data_path(name), "-o", dir / "message.json"});
    REQUIRE(decoded.status == ok);
    const auto encoded = local({"encode", "--as", kind, dir / "message.json", "-o", dir / "message.bin"});
    REQUIRE(encoded.status == ok);
    CHECK(statefun::test::read_file(dir / "message.bin") == statefun::test::read_data(name));
  }
}

TEST_CASE("decode then encode gives back the bytes, through stdin and stdout") {
  const statefun::test::temp_dir dir;
  const auto r = shell(R"("$0" decode < "$1" | "$0" encode --as to-function - > "$2")",
                       {data_path("echo-caller.request.bin"), dir / "again.bin"});
  CHECK(r.status == ok);
  CHECK(statefun::test::read_file(dir / "again.bin") == statefun::test::read_data("echo-caller.request.bin"));
}

TEST_CASE("decode without --as says which message it found") {
  SUBCASE("a request") {
    const auto r = local({"decode", data_path("counter-batch.request.bin")});
    CHECK(r.status == ok);
    CHECK(json::parse(r.out)["invocation"]["invocations"].size() == 5);
    CHECK(r.err.find("decoded as a ToFunction") != std::string::npos);
  }
  SUBCASE("a response") {
    const auto r = shell(R"("$0" decode < "$1")", {data_path("delete-state.response.bin")});
    CHECK(r.status == ok);
    CHECK(json::parse(r.out)["invocation_result"]["state_mutations"][0]["mutation_type"] == "DELETE");
    CHECK(r.err.find("stdin: decoded as a FromFunction") != std::string::npos);
  }
  SUBCASE("neither") {
    const statefun::test::temp_dir dir;
    const auto r = local({"decode", dir.write("junk.bin", "hello")});
    CHECK(r.status == failure);
    CHECK(r.err.find("junk.bin: neither a ToFunction (") != std::string::npos);
    CHECK(r.out.empty());
  }
}

TEST_CASE("decode --as names the input that is not that message") {
  const auto r = local({"decode", "--as", "to-function", data_path("messenger.response.bin")});
  CHECK(r.status == failure);
  CHECK(r.err.find("messenger.response.bin: not a ToFunction: ") != std::string::npos);
  const auto missing = local({"decode", "/nonexistent/message.bin"});
  CHECK(missing.status == failure);
  CHECK(missing.err == "statefun-local: cannot open /nonexistent/message.bin\n");
}

TEST_CASE("encode names the line and column of JSON that does not parse") {
  const statefun::test::temp_dir dir;
  const std::string file = dir.write("bad.json", "{\n  \"invocation\": {\n    \"target\": ]\n  }\n}\n");
  const auto r = local({"encode", "--as", "to-function", file, "-o", dir / "out.bin"});
  CHECK(r.status == failure);
  CHECK(r.err.find("bad.json:3:15: not JSON: syntax error") != std::string::npos);
}

TEST_CASE("encode names the field that is wrong") {
  const statefun::test::temp_dir dir;
  const std::string file = dir.write("request.json", R"({"invocation": {
      "target": {"namespace": "example", "type": "counter", "id": "ann"},
      "invocations": [{"argument": {"type": "io.statefun.types/long", "value": "42"}}]}})");
  const auto r = local({"encode", "--as", "to-function", file, "-o", dir / "out.bin"});
  CHECK(r.status == failure);
  CHECK(r.err == "statefun-local: " + file +
                     ": invocation.invocations[0].argument.value: expected an integer, got a string\n");
  const auto from_stdin = shell(R"("$0" encode --as from-function < "$1" > /dev/null)", {file});
  CHECK(from_stdin.status == failure);
  CHECK(from_stdin.err.find("statefun-local: stdin: top level: unknown field \"invocation\"") != std::string::npos);
}

TEST_CASE("encode refuses to write binary to a terminal, and exits 2") {
  // script(1) runs the command with a pseudo-terminal as its stdout.
  const statefun::test::temp_dir dir;
  const std::string file = dir.write("empty.json", R"({"invocation_result": {}})");
  run_result r;
  try {
    r = statefun::test::run({"script", "-qec", "'" + tool + "' encode --as from-function '" + file + "'", "/dev/null"});
  } catch (const std::system_error&) {
    MESSAGE("skipped: no script(1) to give the tool a terminal");
    return;
  }
  CHECK(r.status == usage);
  CHECK(r.out.find("refusing to write binary protobuf to a terminal") != std::string::npos);  // the terminal's
}

// --- invoke -----------------------------------------------------------------------------------

TEST_CASE("invoke sends the message with the given state and prints the answer") {
  statefun::test::test_functions functions;
  statefun::test::running_server server(functions.fns);
  const auto r = local({"invoke", endpoint(server.port()), "--target", "bench/counter/ann", "--arg", "string:hi",
                        "--state", "count=int:41"});
  REQUIRE(r.status == ok);
  CHECK(r.err.empty());
  CHECK(json::parse(r.out) == json::parse(R"({"invocation_result": {"state_mutations": [
      {"mutation_type": "MODIFY", "state_name": "count", "state_value": {"type": "io.statefun.types/int", "value": 42}}]}})"));
}

TEST_CASE("invoke --register answers the missing-state handshake as the runtime does") {
  statefun::test::test_functions functions;
  statefun::test::running_server server(functions.fns);
  const auto r = local({"invoke", endpoint(server.port()), "--target", "bench/counter/ann", "--arg", "string:hi",
                        "--caller", "example/caller/a/b", "--register"});
  REQUIRE(r.status == ok);
  const json exchanges = json::parse(r.out);
  REQUIRE(exchanges.size() == 2);
  CHECK(exchanges[0]["request"]["invocation"]["invocations"][0]["caller"] ==
        json::parse(R"({"namespace": "example", "type": "caller", "id": "a/b"})"));
  CHECK_FALSE(exchanges[0]["request"]["invocation"].contains("state"));
  CHECK(exchanges[0]["response"]["incomplete_invocation_context"]["missing_values"][0]["state_name"] == "count");
  // The same invocation again, now with the state registered (a name and no value).
  CHECK(exchanges[1]["request"]["invocation"]["state"] == json::parse(R"([{"state_name": "count"}])"));
  CHECK(exchanges[1]["request"]["invocation"]["invocations"] == exchanges[0]["request"]["invocation"]["invocations"]);
  CHECK(exchanges[1]["response"]["invocation_result"]["state_mutations"][0]["state_value"]["value"] == 1);
}

TEST_CASE("invoke reaches an endpoint on a Unix domain socket, as http+unix:// names it") {
  const statefun::test::temp_dir dir;
  const std::string socket = dir / "fn.sock";
  statefun::test::test_functions functions;
  statefun::test::running_server server(functions.fns, {},
                                        [&](statefun::asio::http_server& s) { s.listen_unix(socket); });
  const auto r = local({"invoke", "http+unix://" + socket + "/statefun", "--target", "bench/counter/ann", "--arg",
                        "string:hi", "--state", "count=int:6"});
  REQUIRE_MESSAGE(r.status == ok, r.err);
  CHECK(json::parse(r.out)["invocation_result"]["state_mutations"][0]["state_value"]["value"] == 7);
}

TEST_CASE("invoke without --register prints the missing-state answer and says how to go on") {
  statefun::test::test_functions functions;
  statefun::test::running_server server(functions.fns);
  const auto r = local({"invoke", endpoint(server.port()), "--target", "bench/counter/ann", "--arg", "string:hi"});
  CHECK(r.status == ok);
  CHECK(json::parse(r.out).contains("incomplete_invocation_context"));
  CHECK(r.err.find("lacks the state(s) count") != std::string::npos);
  CHECK(r.err.find("--register") != std::string::npos);
}

TEST_CASE("invoke names the argument it cannot read, and exits 2") {
  const std::string url = endpoint(closed_port());  // never reached: the command line is checked first
  struct row {
    std::vector<std::string> args;
    std::string message;
  };
  const row rows[] = {
      {{"--target", "bench/counter/ann", "--arg", "long:4x"},
       "statefun-local: --arg 'long:4x': expected a 64-bit integer, got '4x'\n"},
      {{"--target", "bench/counter", "--arg", "string:hi"},
       "statefun-local: --target 'bench/counter': expected namespace/type/id (three non-empty parts; the id may "
       "contain '/')\n"},
      {{"--target", "bench/counter/ann", "--arg", "string:hi", "--state", "count=int:x"},
       "statefun-local: --state count: 'int:x': expected a 32-bit integer, got 'x'\n"},
      {{"--target", "bench/counter/ann", "--arg", "string:hi", "--state", "count", "--state", "count=int:1"},
       "statefun-local: --state 'count=int:1': the state 'count' is given twice\n"},
  };
  for (const row& r : rows) {
    std::vector<std::string> args{"invoke", url};
    args.insert(args.end(), r.args.begin(), r.args.end());
    CAPTURE(r.message);
    const auto result = local(args);
    CHECK(result.status == usage);
    CHECK(result.err == r.message);
  }
  const auto bad_url = local({"invoke", "ftp://127.0.0.1/x", "--target", "a/b/c", "--arg", "string:hi"});
  CHECK(bad_url.status == usage);
  CHECK(bad_url.err.find("ftp://127.0.0.1/x") != std::string::npos);
}

TEST_CASE("invoke reports an endpoint it cannot reach, and what the runtime would do") {
  const std::string url = endpoint(closed_port());
  const auto r = local({"invoke", url, "--target", "bench/counter/ann", "--arg", "string:hi"});
  CHECK(r.status == failure);
  CHECK(r.err.find("statefun-local: cannot reach " + url + ": Connection refused.") != std::string::npos);
  CHECK(r.err.find("restarts from its last checkpoint") != std::string::npos);
  CHECK(r.out.empty());
}

TEST_CASE("invoke refuses an answer the runtime would refuse") {
  SUBCASE("a failing function: HTTP 500") {
    statefun::test::test_functions functions;
    statefun::test::running_server server(functions.fns);
    const auto r = local({"invoke", endpoint(server.port()), "--target", "test/throws/x", "--arg", "string:hi"});
    CHECK(r.status == failure);
    CHECK(r.err.find("answered HTTP 500") != std::string::npos);
    CHECK(r.err.find("the OkHttp transport: this status too") != std::string::npos);
  }
  SUBCASE("a status OkHttp does not retry") {
    statefun::test::fake_service service;
    service.on("/statefun", {.status = 404, .body = "no such function"});
    const auto r = local({"invoke", endpoint(service.port()), "--target", "a/b/c", "--arg", "string:hi"});
    CHECK(r.status == failure);
    CHECK(r.err.find("answered HTTP 404: no such function.") != std::string::npos);
    CHECK(r.err.find("none: it fails at once on this status") != std::string::npos);
  }
  SUBCASE("another content type") {
    statefun::test::fake_service service;
    service.on("/statefun", {.status = 200, .body = "hello"});
    const auto r = local({"invoke", endpoint(service.port()), "--target", "a/b/c", "--arg", "long:1"});
    CHECK(r.status == failure);
    CHECK(r.err.find("answered with Content-Type 'text/plain', not application/octet-stream") != std::string::npos);
    // What was sent is what the runtime sends.
    const auto requests = service.requests();
    REQUIRE(requests.size() == 1);
    CHECK(requests[0].method == "POST");
    CHECK(requests[0].header("Content-Type") == "application/octet-stream");
    statefun::codec::invocation_batch_view sent;
    REQUIRE(static_cast<bool>(sent.decode(requests[0].body)));
    CHECK(sent.target == statefun::codec::address_view{"a", "b", "c"});
    CHECK(sent.invocations.at(0).argument.type_name == "io.statefun.types/long");
  }
  SUBCASE("a body that is not a FromFunction") {
    statefun::test::fake_service service;
    service.on("/statefun", {.raw = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                                    "Content-Length: 3\r\n\r\n\xff\xff\xff"});
    const auto r = local({"invoke", endpoint(service.port()), "--target", "a/b/c", "--arg", "long:1"});
    CHECK(r.status == failure);
    CHECK(r.err.find("is not a FromFunction: ") != std::string::npos);
  }
}

#if STATEFUN_LOCAL_TLS
TEST_CASE("invoke speaks mutual TLS to an https:// endpoint with the runtime's certificate settings") {
  if (statefun::test::openssl_program().empty()) {
    MESSAGE("skipped: the build found no openssl command to make certificates with");
    return;
  }
  const auto& c = statefun::test::test_certificates();
  statefun::test::test_functions functions;
  std::uint16_t port = 0;
  statefun::test::running_server server(functions.fns, {}, [&](statefun::asio::http_server& s) {
    port = statefun::asio::listen_tls(s, "127.0.0.1", 0,
                                      {.certificate_chain = c.server_cert,
                                       .private_key = c.server_key,
                                       .private_key_password = {},
                                       .client_ca = c.ca});  // a client certificate is required
  });
  const statefun::test::temp_dir dir;
  // As the runtime's client_key_password: a file that holds the password.
  const std::string password = dir.write("password", std::string(c.passphrase) + "\n");
  const std::string url = "https://localhost:" + std::to_string(port) + "/statefun";
  const std::vector<std::string> call{"invoke", url, "--target", "bench/counter/ann", "--arg", "string:hi",
                                      "--state", "count=int:1"};

  std::vector<std::string> args = call;
  args.insert(args.end(), {"--trust-cacerts", c.ca, "--client-cert", c.client_cert, "--client-key",
                           c.client_key_encrypted, "--client-key-password", password});
  const auto r = local(args);
  REQUIRE_MESSAGE(r.status == ok, r.err);
  CHECK(json::parse(r.out)["invocation_result"]["state_mutations"][0]["state_value"]["value"] == 2);

  SUBCASE("without the client certificate the server refuses the handshake") {
    std::vector<std::string> no_client = call;
    no_client.insert(no_client.end(), {"--trust-cacerts", c.ca, "--timeout", "10s"});
    const auto refused = local(no_client);
    CHECK(refused.status == failure);
    CHECK(refused.err.find("cannot reach " + url) != std::string::npos);
  }
}
#endif

// --- run --------------------------------------------------------------------------------------

namespace {

constexpr auto logins = statefun::value_spec<std::int32_t>{"logins"};

/// The greeter behind the run tests: counts logins, greets on a Kafka egress, and on "remind me"
/// schedules a reminder an hour later.
struct run_functions {
  run_functions() {
    fns.bind("example/greeter", {logins}, [](statefun::context& ctx, const statefun::message& msg) {
      const auto text = msg.as<std::string>();
      if (text == "reminder") {
        ctx.send_egress(statefun::kafka_egress{"example/greets"}.topic("reminders").key(ctx.self().id).value(text));
        return;
      }
      const auto seen = ctx.storage().get(logins).value_or(0) + 1;
      ctx.storage().set(logins, seen);
      ctx.send_egress(statefun::kafka_egress{"example/greets"}.topic("seen").key(ctx.self().id).value(std::to_string(seen)));
      if (text == "remind me") {
        ctx.send_after(std::chrono::hours{1}, statefun::message_to(ctx.self()).value(std::string("reminder")));
      }
    });
  }
  statefun::functions fns;
};

/// A module.yaml for the greeter at `port`, with a Kafka ingress and egress.
std::string write_module(const statefun::test::temp_dir& dir, std::uint16_t port) {
  return dir.write("module.yaml", R"(kind: io.statefun.endpoints.v2/http
spec:
  functions: example/*
  urlPathTemplate: )" + endpoint(port) + R"(
---
kind: io.statefun.kafka.v1/ingress
spec:
  id: example/names
  address: kafka:9092
  topics:
    - topic: names
      valueType: io.statefun.types/string
      targets:
        - example/greeter
---
kind: io.statefun.kafka.v1/egress
spec:
  id: example/greets
  address: kafka:9092
)");
}

std::vector<json> json_lines(const std::string& text) {
  std::vector<json> out;
  std::size_t at = 0;
  for (std::size_t end; (end = text.find('\n', at)) != std::string::npos; at = end + 1) {
    out.push_back(json::parse(text.substr(at, end - at)));
  }
  return out;
}

}  // namespace

TEST_CASE("run: an application from module.yaml, input as JSON lines, egress records as JSON lines, a summary") {
  run_functions functions;
  statefun::test::running_server server(functions.fns);
  const statefun::test::temp_dir dir;
  const std::string module = write_module(dir, server.port());
  const std::string input = dir.write("in.jsonl", R"({"ingress": "example/names", "key": "ann", "value": "ann"}

{"ingress": "example/names", "topic": "names", "key": "bob", "value": "remind me"}
{"to": "example/greeter/ann", "value": {"type": "io.statefun.types/string", "value": "again"}}
)");
  const auto r = local({"run", module, "--input", input, "--virtual-time"});
  REQUIRE(r.status == ok);
  const auto lines = json_lines(r.out);
  REQUIRE(lines.size() == 4);
  std::vector<std::string> seen;
  for (const auto& line : lines) {
    CHECK(line["egress"] == "example/greets");
    CHECK(line["type"] == "type.googleapis.com/io.statefun.sdk.egress.KafkaProducerRecord");
    seen.push_back(line["value"]["topic"].get<std::string>() + ":" + line["value"]["key"].get<std::string>() + "=" +
                   line["value"]["value_bytes"].get<std::string>());
  }
  std::sort(seen.begin(), seen.end());
  CHECK(seen == std::vector<std::string>{"reminders:bob=reminder", "seen:ann=1", "seen:ann=2", "seen:bob=1"});
  CHECK(r.err.find("statefun-local: done: 3 input records") != std::string::npos);
  CHECK(r.err.find("1 delayed messages fired, 4 egress records") != std::string::npos);
}

TEST_CASE("run: input through a pipe, and --help") {
  run_functions functions;
  statefun::test::running_server server(functions.fns);
  const statefun::test::temp_dir dir;
  const std::string module = write_module(dir, server.port());
  const auto r = shell(R"(printf '{"ingress":"example/names","key":"zoë","value":"zoë"}\n' | "$0" run "$1" -i - -q)", {module});
  REQUIRE(r.status == ok);
  CHECK(r.err.empty());
  REQUIRE(json_lines(r.out).size() == 1);
  CHECK(json_lines(r.out)[0]["value"]["key"] == "zoë");
  const auto help = local({"run", "--help"});
  CHECK(help.status == ok);
  CHECK(help.out.find("--virtual-time") != std::string::npos);
}

TEST_CASE("run: a bad input line is named with its field, and exits 1") {
  run_functions functions;
  statefun::test::running_server server(functions.fns);
  const statefun::test::temp_dir dir;
  const std::string module = write_module(dir, server.port());
  SUBCASE("a key that is not a string") {
    const std::string input = dir.write("in.jsonl", "{\"ingress\": \"example/names\", \"key\": \"a\", \"value\": \"a\"}\n"
                                                    "{\"ingress\": \"example/names\", \"key\": 5, \"value\": \"a\"}\n");
    const auto r = local({"run", module, "--input", input});
    CHECK(r.status == failure);
    CHECK(r.err.find(input + ":2: field key: expected a string") != std::string::npos);
  }
  SUBCASE("an ingress the module does not have") {
    const std::string input = dir.write("in.jsonl", "{\"ingress\": \"example/nope\", \"key\": \"a\", \"value\": \"a\"}\n");
    const auto r = local({"run", module, "--input", input});
    CHECK(r.status == failure);
    CHECK(r.err.find(input + ":1: field ingress: the module has no ingress 'example/nope'") != std::string::npos);
  }
  SUBCASE("a value of the wrong kind for the route's type") {
    const std::string input = dir.write("in.jsonl", "{\"ingress\": \"example/names\", \"key\": \"a\", \"value\": 5}\n");
    const auto r = local({"run", module, "--input", input});
    CHECK(r.status == failure);
    CHECK(r.err.find(input + ":1: ") != std::string::npos);
  }
  SUBCASE("not JSON") {
    const std::string input = dir.write("in.jsonl", "{\"ingress\": \n");
    const auto r = local({"run", module, "--input", input});
    CHECK(r.status == failure);
    CHECK(r.err.find(input + ":1") != std::string::npos);
  }
}

TEST_CASE("run: what the real runtime would fail the job for stops the run, named, with exit 1") {
  run_functions functions;
  statefun::test::running_server server(functions.fns);
  const statefun::test::temp_dir dir;
  const std::string module = write_module(dir, server.port());
  const std::string input = dir.write("in.jsonl", R"({"to": "other/fn/1", "value": {"type": "io.statefun.types/string", "value": "x"}}
)");
  const auto r = local({"run", module, "--input", input});
  CHECK(r.status == failure);
  CHECK(r.err.find("'other/fn', which no endpoint serves") != std::string::npos);
  const auto bad_module = local({"run", dir.write("bad.yaml", "kind: io.statefun.endpoints.v9/http\nspec: {}\n")});
  CHECK(bad_module.status == failure);
  CHECK(bad_module.err.find("bad.yaml:1: document 1") != std::string::npos);
}

TEST_CASE("run: a StateFun 2.x module.yaml is refused, exit 1, with the module written in the current format") {
  const std::string legacy = data_path("modules/legacy-1.0.yaml");
  const auto r = local({"run", legacy});
  CHECK(r.status == failure);
  CHECK(r.err.find(legacy + ":4: document 1 (legacy format), field version: format version 1.0 is the legacy "
                            "module.yaml of StateFun 2.x") != std::string::npos);
  CHECK(r.err.find("kind: io.statefun.endpoints.v2/http\nspec:\n  functions: example/greeter\n") != std::string::npos);
  CHECK(r.err.find("kind: io.statefun.kafka.v1/ingress") != std::string::npos);
}

TEST_CASE("run: Ctrl-C stops a run that waits for a delayed message, with the summary and exit 130") {
  run_functions functions;
  statefun::test::running_server server(functions.fns);
  const statefun::test::temp_dir dir;
  const std::string module = write_module(dir, server.port());
  const std::string input = dir.write("in.jsonl", R"({"ingress": "example/names", "key": "ann", "value": "remind me"}
)");
  statefun::test::child run({tool, "run", module, "--input", input});  // real time: the reminder is an hour away
  const auto first = run.read_line();
  REQUIRE(first.has_value());
  CHECK(json::parse(*first)["value"]["key"] == "ann");
  run.signal(SIGINT);
  CHECK(run.wait() == exit_status::exited_with(130));
}

namespace {

/// The exposition `run --metrics` printed on stderr after its summary, read back strictly.
statefun::test::exposition metrics_on_stderr(const std::string& err) {
  const std::size_t start = err.find("# HELP ");
  if (start == std::string::npos) {
    throw std::runtime_error("no exposition on stderr: " + err);
  }
  return statefun::test::parse_exposition(std::string_view(err).substr(start));
}

}  // namespace

TEST_CASE("run --metrics prints the runtime's metrics after the summary: messages routed, batches, egress records") {
  run_functions functions;
  statefun::test::running_server server(functions.fns);
  const statefun::test::temp_dir dir;
  const std::string module = write_module(dir, server.port());
  const std::string input = dir.write("in.jsonl", R"({"ingress": "example/names", "key": "ann", "value": "ann"}
{"ingress": "example/names", "key": "bob", "value": "remind me"}
{"to": "example/greeter/ann", "value": {"type": "io.statefun.types/string", "value": "again"}}
)");
  const auto r = local({"run", module, "--input", input, "--virtual-time", "--metrics"});
  REQUIRE_MESSAGE(r.status == ok, r.err);
  CHECK(r.err.find("statefun-local: done: 3 input records") < r.err.find("# HELP "));
  const auto e = metrics_on_stderr(r.err);
  const std::string greeter = "function_type=\"example/greeter\"";
  CHECK(e.at("statefun_local_messages_routed_total{" + greeter + ",kind=\"ingress\"}") == 3);
  CHECK(e.at("statefun_local_messages_routed_total{" + greeter + ",kind=\"delayed\"}") == 1);
  CHECK(e.at("statefun_local_messages_routed_total{" + greeter + ",kind=\"message\"}") == 0);
  // Each address's first batch asks for the state: sent again with it (ann, bob).
  CHECK(e.at("statefun_local_batches_total{" + greeter + ",reason=\"missing_state\"}") == 2);
  CHECK(e.at("statefun_local_batch_size_sum{" + greeter + "}") >= 4);
  CHECK(e.at("statefun_local_egress_records_total{egress=\"example/greets\"}") == 4);
  CHECK(e.at("statefun_local_delayed_messages") == 0);
  CHECK(e.at("statefun_local_requests_in_flight") == 0);
  CHECK(e.at("statefun_local_backlog_messages{" + greeter + "}") == 0);

  const auto without = local({"run", module, "--input", input, "--virtual-time"});
  REQUIRE(without.status == ok);
  CHECK(without.err.find("# HELP") == std::string::npos);

  if (std::string_view(STATEFUN_TEST_PROMTOOL).empty()) {
    MESSAGE("promtool check skipped: the build found no promtool (Debian: apt-get install prometheus)");
    return;
  }
  const std::string file = dir.write("metrics.txt", r.err.substr(r.err.find("# HELP ")));
  const auto lint = statefun::test::run({STATEFUN_TEST_PROMTOOL, "check", "metrics"}, statefun::test::hang_guard, file);
  INFO("promtool said: " << lint.out << lint.err);
  CHECK(lint.status == ok);
  CHECK(lint.err.empty());  // lint problems are printed, even when the exit code is 0
}

TEST_CASE("run --metrics-listen serves the runtime's metrics while it runs, on a port of its own") {
  run_functions functions;
  statefun::test::running_server server(functions.fns);
  const statefun::test::temp_dir dir;
  const std::string module = write_module(dir, server.port());
  const std::string input = dir.write("in.jsonl", R"({"ingress": "example/names", "key": "ann", "value": "remind me"}
)");
  // stderr joins stdout, so that the test reads the URL; real time: the reminder is an hour away.
  statefun::test::child run({"/bin/sh", "-c", R"(exec "$0" run "$1" --input "$2" --metrics-listen 127.0.0.1:0 2>&1)",
                             tool, module, input});
  const std::string serving = run.wait_for_line("statefun-local: serving metrics on http://127.0.0.1:");
  const std::string url = serving.substr(serving.find("http://"));
  const auto port = static_cast<std::uint16_t>(std::stoi(url.substr(url.rfind(':') + 1)));
  CHECK(url.ends_with("/metrics"));
  (void)run.wait_for_line("{");  // the first egress record: the reminder is scheduled by then

  statefun::test::client<> scraper(port);
  const auto response = scraper.exchange("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(response.status == 200);
  CHECK(response.content_type == "text/plain; version=0.0.4; charset=utf-8");
  const auto e = statefun::test::parse_exposition(response.body);
  CHECK(e.at("statefun_local_delayed_messages") == 1);
  CHECK(e.at("statefun_local_messages_routed_total{function_type=\"example/greeter\",kind=\"ingress\"}") == 1);
  CHECK(e.at("statefun_local_egress_records_total{egress=\"example/greets\"}") == 1);
  CHECK(scraper.exchange("POST /statefun HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n").status == 404);

  run.signal(SIGINT);
  CHECK(run.wait() == exit_status::exited_with(130));
}

TEST_CASE("run --metrics-listen refuses an address it cannot use, and exits 2") {
  const statefun::test::temp_dir dir;
  const std::string module = write_module(dir, closed_port());
  for (const char* bad : {"9102", "127.0.0.1:", "127.0.0.1:99999", "::1:9102", "127.0.0.1:9x"}) {
    CAPTURE(bad);
    const auto r = local({"run", module, "--metrics-listen", bad});
    CHECK(r.status == usage);
    CHECK(r.err.find("--metrics-listen '" + std::string(bad) + "'") != std::string::npos);
  }
}

// --- bench ------------------------------------------------------------------------------------

TEST_CASE("bench loads an endpoint, answers the handshake once, and reports every response as checked") {
  statefun::test::test_functions functions;
  statefun::test::running_server server(functions.fns);
  const auto r = local({"bench", endpoint(server.port()), "--target", "bench/counter/user", "--ids", "10", "--batch",
                        "3", "-c", "4", "-t", "2", "-n", "600", "--json"});
  REQUIRE_MESSAGE(r.status == ok, r.err);
  const json report = json::parse(r.out);
  CHECK(report["requests"] == 600);
  CHECK(report["failed"] == 0);
  CHECK(report["errors"].empty());
  CHECK(report["addresses"] == 10);
  CHECK(report["invocations_per_request"] == 3);
  CHECK(report["connections"] == 4);
  CHECK(report["requests_per_second"].get<double>() > 0);
  const json& latency = report["latency_ms"];
  CHECK(latency["p50"].get<double>() <= latency["p99"].get<double>());
  CHECK(latency["p99"].get<double>() <= latency["max"].get<double>());
  CHECK(latency["max"].get<double>() > 0);
}

TEST_CASE("bench reports the target's own figures beside its own when the target serves /metrics") {
  statefun::metrics::prometheus metrics;
  statefun::test::test_functions functions;
  functions.fns.observe(&metrics);
  statefun::test::running_server server(functions.fns, {.path = "/statefun", .observer = &metrics});
  const std::vector<std::string> args{"bench", endpoint(server.port()), "--target", "bench/counter/user", "--batch", "3",
                                      "-c", "2", "-n", "200"};
  std::vector<std::string> as_json = args;
  as_json.push_back("--json");
  const auto r = local(as_json);
  REQUIRE_MESSAGE(r.status == ok, r.err);
  INFO("bench printed: " << r.out);
  const json s = json::parse(r.out)["server"];
  REQUIRE(s.contains("batches"));
  REQUIRE(s["handler_ms"].contains("mean"));
  REQUIRE(s["handler_ms"].contains("p99"));
  CHECK(s["metrics_url"] == "http://127.0.0.1:" + std::to_string(server.port()) + "/metrics");
  CHECK(s["function_type"] == "bench/counter");
  // The server handled every measured request, and at most one more per connection (in flight
  // when the client had counted enough).
  const double batches = s["batches"].get<double>();
  CHECK(batches >= 200);
  CHECK(batches <= 202);
  CHECK(s["invocations"].get<double>() == 3 * batches);
  CHECK(s["failures"].get<double>() == 0);
  CHECK(s["handler_ms"]["mean"].get<double>() > 0);
  CHECK(s["handler_ms"]["p99"].get<double>() > 0);
  CHECK(s["handler_ms"]["p99"].get<double>() <= 10'000);  // the highest finite bucket, 10 s

  const auto readable = local(args);
  REQUIRE_MESSAGE(readable.status == ok, readable.err);
  CHECK(readable.out.find("server       ") != std::string::npos);
  CHECK(readable.out.find(" failures of bench/counter; handler time per batch mean ") != std::string::npos);

  const auto not_asked = local({"bench", endpoint(server.port()), "--target", "bench/counter/user", "-n", "10",
                                "--metrics-path", "", "--json"});
  REQUIRE(not_asked.status == ok);
  CHECK_FALSE(json::parse(not_asked.out).contains("server"));
}

TEST_CASE("bench notes a target without /metrics and goes on") {
  statefun::test::test_functions functions;
  statefun::test::running_server server(functions.fns, {.path = "/statefun"});  // no observer: 404
  const auto r = local({"bench", endpoint(server.port()), "--target", "bench/counter/user", "-n", "20", "--json"});
  REQUIRE_MESSAGE(r.status == ok, r.err);
  const json report = json::parse(r.out);
  CHECK(report["requests"] == 20);
  CHECK(report["server"]["note"] == "it answered HTTP 404: the target exposes no metrics there");
  const auto readable = local({"bench", endpoint(server.port()), "--target", "bench/counter/user", "-n", "20"});
  CHECK(readable.out.find("server       no server-side figures from http://127.0.0.1:") != std::string::npos);
}

TEST_CASE("bench sends a workload file, binary or JSON, at a target rate, and prints a readable report") {
  statefun::test::test_functions functions;
  statefun::test::running_server server(functions.fns);
  const statefun::test::temp_dir dir;
  const std::string as_json = dir / "w1.json";
  REQUIRE(local({"decode", data_path("workloads/w1_counter.bin"), "-o", as_json}).status == ok);
  for (const std::string& workload : {data_path("workloads/w1_counter.bin"), as_json}) {
    CAPTURE(workload);
    const auto r = local({"bench", endpoint(server.port()), "--workload", workload, "-c", "2", "-n", "100", "--rate", "5000"});
    REQUIRE_MESSAGE(r.status == ok, r.err);
    CHECK(r.out.find("requests     100 in ") != std::string::npos);
    CHECK(r.out.find("latency      p50 ") != std::string::npos);
    CHECK(r.out.find("responses    all passed") != std::string::npos);
  }
}

TEST_CASE("bench counts the responses the runtime would refuse, by kind, and exits 1") {
  statefun::functions fns;
  const auto count = statefun::value_spec<std::int32_t>{"count"};
  // Instance fail-1 of the load throws: its requests get HTTP 500; the others pass.
  fns.bind("test/picky", {count}, [count](statefun::context& ctx, const statefun::message&) {
    if (ctx.self().id == "fail-1") {
      throw std::runtime_error("refusing on purpose");
    }
    ctx.storage().set(count, 1);
  });
  statefun::test::running_server server(fns);
  const auto r = local({"bench", endpoint(server.port()), "--target", "test/picky/fail", "--ids", "2", "-c", "1", "-n",
                        "50", "--json"});
  CHECK(r.status == failure);
  const json report = json::parse(r.out);
  CHECK(report["requests"] == 50);  // every other request passed
  CHECK(report["errors"]["status other than 200"].get<int>() >= 49);  // one after each pass but the last
}

TEST_CASE("bench reaches a Unix domain socket and refuses what it cannot do") {
  const statefun::test::temp_dir dir;
  const std::string socket = dir / "fn.sock";
  statefun::test::test_functions functions;
  statefun::test::running_server server(functions.fns, {},
                                        [&](statefun::asio::http_server& s) { s.listen_unix(socket); });
  const auto r = local({"bench", "http+unix://" + socket + "/statefun", "--target", "bench/counter/u", "-n", "20", "--json"});
  REQUIRE_MESSAGE(r.status == ok, r.err);
  CHECK(json::parse(r.out)["requests"] == 20);

  const auto both = local({"bench", "http+unix://" + socket + "/statefun", "--target", "a/b/c", "--workload", "x.bin"});
  CHECK(both.status == usage);
  CHECK(both.err.find("either --workload FILE or --target") != std::string::npos);
  const auto tls = local({"bench", "https://127.0.0.1:1/statefun", "--target", "a/b/c"});
  CHECK(tls.status == usage);
  CHECK(tls.err.find("bench speaks plain HTTP") != std::string::npos);
  const auto unreachable = local({"bench", endpoint(closed_port()), "--target", "a/b/c"});
  CHECK(unreachable.status == failure);
  CHECK(unreachable.err.find("cannot reach") != std::string::npos);
}

TEST_CASE("bench's latency histogram: percentiles within 1%, whatever the magnitude") {
  statefun_local::latency_histogram h;
  CHECK(h.percentile(0.5) == 0);
  for (std::uint64_t v = 1; v <= 100'000; ++v) {  // 1 ns to 100 us, evenly
    h.record(v);
  }
  CHECK(h.count() == 100'000);
  CHECK(h.min() == 1);
  CHECK(h.max() == 100'000);
  CHECK(h.mean() == doctest::Approx(50'000.5));
  for (const double p : {0.001, 0.5, 0.9, 0.99, 0.999}) {
    CAPTURE(p);
    const double exact = p * 100'000;
    CHECK(static_cast<double>(h.percentile(p)) >= exact);
    CHECK(static_cast<double>(h.percentile(p)) <= exact * 1.01);
  }
  CHECK(h.percentile(1.0) == 100'000);

  statefun_local::latency_histogram big;
  big.record(std::uint64_t{1} << 62);  // about 146 years: the last row holds it
  big.record(5);
  h.merge(big);
  CHECK(h.count() == 100'002);
  CHECK(h.max() == std::uint64_t{1} << 62);
  CHECK(h.percentile(1.0) == std::uint64_t{1} << 62);
  CHECK(h.percentile(0.0) == 1);
}

// --- the exposition reader of bench --------------------------------------------------------------

TEST_CASE("bench's exposition reader: comments, blank lines, CRLF, escapes, NaN and infinities, timestamps") {
  const auto samples = statefun_local::parse_exposition(
      "# HELP a_total A counter.\n"
      "# TYPE a_total counter\n"
      "#some other comment with \"quotes\" and {braces}\n"
      "\n"
      "   \t\n"
      "a_total 3\r\n"
      "b{path=\"C:\\\\dir\",say=\"\\\"hi\\\"\",nl=\"x\\ny\",} 1.5e3 1712345678901\n"
      "c{le=\"+Inf\"} +Inf\n"
      "d NaN\n"
      "e -Inf\n"
      "f {} 7\n"
      "  g{ a=\"1\" } -0.25");  // no final line feed
  REQUIRE(samples.size() == 7);
  CHECK(samples[0].name == "a_total");
  CHECK(samples[0].value == 3);
  CHECK(samples[1].label("path") == "C:\\dir");
  CHECK(samples[1].label("say") == "\"hi\"");
  CHECK(samples[1].label("nl") == "x\ny");
  CHECK(samples[1].value == 1500);
  CHECK(std::isinf(samples[2].value));
  CHECK(samples[2].label("le") == "+Inf");
  CHECK(std::isnan(samples[3].value));
  CHECK(samples[4].value < 0);
  CHECK(std::isinf(samples[4].value));
  CHECK(samples[5].labels.empty());
  CHECK(samples[6].label("a") == "1");
  CHECK(samples[6].value == -0.25);
}

TEST_CASE("bench's exposition reader names the line it cannot read") {
  const std::pair<const char*, const char*> cases[] = {
      {"ok 1\nx{a=\"unterminated} 1\n", "line 2: label a: the value has no closing quote"},
      {"x{a=\"bad \\t escape\"} 1\n", "line 1: label a: unknown escape \\t"},
      {"x{a=1} 1\n", "line 1: label a: expected =\"value\""},
      {"x{a=\"1\" b=\"2\"} 1\n", "line 1: expected ',' or '}' after label a"},
      {"x abc\n", "line 1: x: 'abc' is not a number"},
      {"x 0x1F\n", "line 1: x: '0x1F' is not a number"},
      {"x\n", "line 1: expected a space and a value after x"},
      {"{a=\"b\"} 1\n", "line 1: expected a metric name"},
      {"x 1 soon\n", "line 1: x: 'soon' after the value is not a timestamp"},
      {"x{\n", "line 1: expected a label name or '}'"},
      {"x{a=\"\\", "line 1: label a: the value has no closing quote"},
  };
  for (const auto& c : cases) {
    // Not a structured binding: clang 14 does not let doctest's lambdas capture one.
    const char* text = c.first;
    const char* why = c.second;
    CAPTURE(text);
    CHECK_THROWS_WITH_AS(statefun_local::parse_exposition(text), why, std::invalid_argument);
  }
}

TEST_CASE("bench's exposition reader: sums by label, histogram deltas and quantiles as Prometheus computes them") {
  const auto before = statefun_local::parse_exposition(
      "h_bucket{function_type=\"t/a\",le=\"0.1\"} 10\n"
      "h_bucket{function_type=\"t/a\",le=\"1\"} 10\n"
      "h_bucket{function_type=\"t/a\",le=\"+Inf\"} 10\n"
      "n_total{function_type=\"t/a\",kind=\"x\"} 1\n");
  const auto after = statefun_local::parse_exposition(
      "h_bucket{function_type=\"t/a\",le=\"0.1\"} 60\n"
      "h_bucket{function_type=\"t/a\",le=\"1\"} 110\n"
      "h_bucket{function_type=\"t/a\",le=\"+Inf\"} 110\n"
      "h_bucket{function_type=\"t/b\",le=\"+Inf\"} 999\n"
      "n_total{function_type=\"t/a\",kind=\"x\"} 3\n"
      "n_total{function_type=\"t/a\",kind=\"y\"} 4\n"
      "n_total{function_type=\"t/b\",kind=\"x\"} 100\n");
  using statefun_local::label_match;
  CHECK(statefun_local::sum_of(after, "n_total", {{"function_type", "t/a"}}) == 7);
  CHECK(statefun_local::sum_of(after, "n_total") == 107);
  CHECK_FALSE(statefun_local::sum_of(after, "missing_total").has_value());
  CHECK_FALSE(statefun_local::sum_of(after, "n_total", {{"function_type", "t/c"}}).has_value());

  const auto delta = statefun_local::bucket_delta(statefun_local::buckets_of(before, "h", {{"function_type", "t/a"}}),
                                                  statefun_local::buckets_of(after, "h", {{"function_type", "t/a"}}));
  REQUIRE(delta.size() == 3);
  CHECK(delta[0].second == 50);
  CHECK(delta[2].second == 100);
  // 50 of 100 within 0.1 s, the other 50 between 0.1 and 1: the median is 0.1, p99 0.982.
  CHECK(*statefun_local::histogram_quantile(0.5, delta) == doctest::Approx(0.1));
  CHECK(*statefun_local::histogram_quantile(0.99, delta) == doctest::Approx(0.1 + 0.9 * 49.0 / 50.0));
  CHECK_FALSE(statefun_local::histogram_quantile(0.99, {}).has_value());
  CHECK_FALSE(statefun_local::histogram_quantile(0.99, {{0.1, 0}, {INFINITY, 0}}).has_value());
  // Beyond the highest finite bound: that bound, as Prometheus answers.
  CHECK(*statefun_local::histogram_quantile(0.99, {{0.1, 1}, {INFINITY, 10}}) == 0.1);
}
