#pragma once

/// @file
/// TLS for the local runtime's `https://` endpoints (docs/runtime_rules.md §1.9, rule 9), through OpenSSL:
/// a separate header so that only users of https endpoints link libssl.
///
/// **Example**:
/// @code
/// #include <statefun/local/tls.hpp>   // dependency('statefun-tls')
/// statefun::local::runtime rt(m, {.tls = statefun::local::tls_connector});
/// @endcode

#include <statefun/asio/tls.hpp>
#include <statefun/local/module.hpp>

#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

namespace statefun::inline v0::local {

/**
 * How the runtime's HTTP client speaks TLS to an endpoint with `settings`: the CA bundle (the
 * system's trust store when empty), and a client certificate with its PKCS#8 key for mutual
 * TLS. `client_key_password` names a file whose first line is the key's password, as the real
 * runtime reads it.
 * @throws std::invalid_argument if only one of the certificate and the key is given.
 * @throws std::runtime_error naming a file that cannot be read or used.
 */
inline statefun::asio::client_connector tls_connector(const tls_client_settings& settings) {
  std::string password;
  if (!settings.client_key_password.empty()) {
    std::ifstream in(settings.client_key_password, std::ios::binary);
    if (!in) {
      throw std::runtime_error("cannot read the key password file " + settings.client_key_password);
    }
    password.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    password.erase(password.find_first_of("\r\n") == std::string::npos ? password.size()
                                                                       : password.find_first_of("\r\n"));
  }
  return statefun::asio::tls_client({.trust_cacerts = settings.trust_cacerts,
                                     .client_cert = settings.client_cert,
                                     .client_key = settings.client_key,
                                     .client_key_password = std::move(password)});
}

}  // namespace statefun::inline v0::local
