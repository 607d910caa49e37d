#pragma once

// How the gateway reaches the functions: it publishes each request, and the bus hands back
// every answer. On one machine the bus is the local runtime (local_bus.hpp); on a cluster it is
// Kafka: requests produced to the ingress topics, answers consumed from the egress topic.

#include "messages.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <string_view>

namespace user_service {

class request_bus {
 public:
  request_bus() = default;
  request_bus(const request_bus&) = delete;
  request_bus& operator=(const request_bus&) = delete;
  virtual ~request_bus() = default;

  /// Sends `request` on its way (to the topic and key `record_of` names). Must not block.
  virtual void publish(const user_request& request) = 0;

  /// Calls `deliver` with each answer as it arrives, on the gateway's event loop (an empty
  /// `deliver`: no longer).
  virtual void on_answer(std::function<void(user_response)> deliver) = 0;
};

/// Where a request goes on the ingress: its Kafka topic and key.
struct ingress_record {
  std::string_view topic;
  std::string key;
};

inline ingress_record record_of(const user_request& request) {
  if (request.op == operation::create) {
    return {create_topic, std::string(id_issuer)};
  }
  return {user_topic, request.user_id};
}

/**
 * The answer in a record of the egress topic (key: the request id). A value that is not an
 * answer still answers its request, with a 502: what is behind the gateway misbehaved.
 */
inline user_response answer_of(std::string_view key, std::string_view value) {
  try {
    auto response = nlohmann::json::parse(value).get<user_response>();
    if (response.request_id == key && response.status >= 200 && response.status <= 599) {
      return response;
    }
  } catch (const nlohmann::json::exception&) {
  }
  return {std::string(key), 502, error_body("malformed answer on the topic " + std::string(responses_topic))};
}

}  // namespace user_service
