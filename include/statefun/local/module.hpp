#pragma once

/// @file
/// The configuration of a StateFun application as the local runtime reads it: the function
/// endpoints, ingresses and egresses of a `module.yaml` (see `module_yaml.hpp`), or built in code.
/// Defaults are the real runtime's (docs/runtime_rules.md §3), not its documentation's.

#include <statefun/config.hpp>

#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace statefun::inline v0::local {

/// The HTTP client an endpoint uses, which decides how failures are retried (docs/runtime_rules.md §1.5).
enum class transport_kind {
  /// `io.statefun.transports.v1/async` (Netty), the default of `io.statefun.endpoints.v2/http`:
  /// every failure is retried within the `call` budget; backoff 4 ms, doubling.
  async,
  /// `io.statefun.transports.v1/okhttp`, and every `io.statefun.endpoints.v1/http`: I/O errors and
  /// statuses 408, 409, 420, 429, 499 and >= 500 are retried within `call`; backoff 10 ms, doubling;
  /// any other status fails at once.
  okhttp,
};

/// Client TLS settings of an async endpoint (docs/runtime_rules.md §1.9): file paths, all optional.
struct tls_client_settings {
  std::string trust_cacerts{};        ///< PEM CA bundle; the system's trust store if empty
  std::string client_cert{};          ///< PEM client certificate (with `client_key`)
  std::string client_key{};           ///< PKCS#8 PEM private key (with `client_cert`)
  std::string client_key_password{};  ///< a file holding the key's password

  /// True when no setting is given.
  [[nodiscard]] bool empty() const noexcept {
    return trust_cacerts.empty() && client_cert.empty() && client_key.empty() && client_key_password.empty();
  }
};

/// `io.statefun.endpoints.v1/http` or `v2/http`: where the functions of a type or namespace live.
struct endpoint_spec {
  /// `namespace/name` for one function type, or `namespace/*` for every type of the namespace.
  std::string functions{};
  /// The URL; `{function.name}` is replaced by the function type's name (not its namespace).
  std::string url_path_template{};
  /// Backlog length at which an address asks for backpressure; <= 0 disables it. Not a batch size.
  int max_num_batch_requests = 1000;
  /// `transport.type`: async (Netty) unless okhttp is named; v1 endpoints are always okhttp.
  transport_kind transport = transport_kind::async;

  /// Total budget of one request, all attempts and backoffs included (async 2 min, okhttp 1 min).
  std::chrono::milliseconds call{std::chrono::minutes{2}};
  /// TCP connect (async 20 s, okhttp 10 s).
  std::chrono::milliseconds connect{std::chrono::seconds{20}};
  /// okhttp only: socket read and write inactivity.
  std::chrono::milliseconds read{std::chrono::seconds{10}};
  /// okhttp only: socket write inactivity.
  std::chrono::milliseconds write{std::chrono::seconds{10}};

  /// async only: connection lifetime (0: unlimited), pool size, largest response accepted.
  std::chrono::milliseconds pool_ttl{std::chrono::seconds{15}};
  /// async only: the most connections the pool opens.
  std::size_t pool_size = 1024;
  /// async only: the largest response accepted, in bytes.
  std::size_t payload_max_bytes = 32 * 1024 * 1024;
  /// async only: `https://` settings.
  tls_client_settings tls{};

  /// Where it was defined, for error messages ("module.yaml, document 2"); may be empty.
  std::string source{};
};

/// How an egress publishes its records (docs/runtime_rules.md §2.11, rule 26).
enum class delivery_semantic {
  at_least_once,  ///< records are visible at once; after a restore they may appear twice
  exactly_once,   ///< records become visible when the next snapshot is taken
  none,           ///< like at_least_once, with no promise at all
};

/// The ingress kinds the local runtime emulates.
enum class ingress_kind {
  kafka,    ///< `io.statefun.kafka.v1/ingress`
  kinesis,  ///< `io.statefun.kinesis.v1/ingress`
};

/// The egress kinds the local runtime emulates.
enum class egress_kind {
  kafka,    ///< `io.statefun.kafka.v1/egress`: values must be `KafkaProducerRecord`s
  kinesis,  ///< `io.statefun.kinesis.v1/egress`: values must be `KinesisEgressRecord`s
  any,      ///< any typed value, as a custom egress takes (declared in code, not in module.yaml)
};

/// One topic (Kafka) or stream (Kinesis) of an ingress, and the functions its records go to.
struct ingress_route {
  std::string topic{};                 ///< the topic or stream name
  std::string value_type{};            ///< the type name given to each record's value
  std::vector<std::string> targets{};  ///< function types; each record goes to every one of them
};

/// An ingress, emulated by an in-memory topic per route: each record's key becomes the function id.
struct ingress_spec {
  /// Kafka or Kinesis.
  ingress_kind kind = ingress_kind::kafka;
  std::string id{};  ///< `namespace/name`
  /// The topics or streams it reads.
  std::vector<ingress_route> routes{};
  /// Where it was defined, for error messages; may be empty.
  std::string source{};
};

/**
 * The route of `ingress` that reads `topic`. With no topic: its only route, or else the one route
 * whose value type is `value_type` (when given), so that a typed record finds its topic.
 * @throws std::invalid_argument saying which: no such topic, or several to choose from.
 */
inline const ingress_route& route_of(const ingress_spec& ingress, std::string_view topic,
                                     std::string_view value_type = {}) {
  if (topic.empty() && ingress.routes.size() == 1) {
    return ingress.routes.front();
  }
  const ingress_route* found = nullptr;
  std::size_t matches = 0;
  for (const auto& route : ingress.routes) {
    if (topic.empty() ? (!value_type.empty() && route.value_type == value_type) : route.topic == topic) {
      found = &route;
      ++matches;
    }
  }
  if (found && (matches == 1 || !topic.empty())) {
    return *found;
  }
  const std::string subject = "ingress '" + ingress.id + "' ";
  if (!topic.empty()) {
    throw std::invalid_argument(subject + "does not read '" + std::string(topic) + "'");
  }
  if (value_type.empty()) {
    throw std::invalid_argument(subject + "reads several topics: name one");
  }
  if (matches == 0) {
    throw std::invalid_argument(subject + "reads no topic of type '" + std::string(value_type) + "'");
  }
  throw std::invalid_argument(subject + "reads several topics of type '" + std::string(value_type) + "': name one");
}

/// An egress, emulated in memory.
struct egress_spec {
  /// Which records it accepts.
  egress_kind kind = egress_kind::kafka;
  std::string id{};  ///< `namespace/name`
  /// When its records become visible (Kafka's `deliverySemantic`).
  delivery_semantic semantic = delivery_semantic::at_least_once;
  /// Where it was defined, for error messages; may be empty.
  std::string source{};
};

/// What a `module.yaml` holds (one or several files appended together).
struct module {
  /// The endpoints, in file order.
  std::vector<endpoint_spec> endpoints{};
  /// The ingresses.
  std::vector<ingress_spec> ingresses{};
  /// The egresses.
  std::vector<egress_spec> egresses{};
  /// Fields the real runtime ignores (so do we) but that look like mistakes, e.g. a misspelt key.
  std::vector<std::string> warnings{};
};

}  // namespace statefun::inline v0::local
