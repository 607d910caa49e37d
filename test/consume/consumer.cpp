// A program that uses statefun-cpp the way a consumer would: include the umbrella header and
// print the version. test/consume/run builds it through dependency('statefun') and against a
// bare copy of include/.
#if __has_include(<statefun/statefun.hpp>)
#include <statefun/statefun.hpp>
#else
#include <statefun/config.hpp>  // until the umbrella header exists
#endif

#ifdef STATEFUN_CONSUME_TLS_LOCAL
#include <statefun/asio/tls.hpp>
#include <statefun/local/module_yaml.hpp>
#endif

#include <cstdio>

int main() {
#ifdef STATEFUN_CONSUME_TLS_LOCAL
  // Calls into OpenSSL and yaml-cpp, so that their targets' link needs are proven too.
  asio::ssl::context tls(asio::ssl::context::tls_server);
  if (tls.native_handle() == nullptr || YAML::Load("kind: io.statefun.endpoints.v2/http")["kind"].as<std::string>().empty()) {
    return 1;
  }
#endif
  std::printf("statefun %s\n", statefun::version_string);
  return 0;
}
