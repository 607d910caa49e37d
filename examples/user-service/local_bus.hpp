#pragma once

// The request bus of a local run: requests go into the local runtime's ingress, answers come
// from its egress. The gateway must run on the runtime's event loop (`rt.io_context()`), which
// is where `ingest` may be called and where egress records are published.

#include "messages.hpp"
#include "request_bus.hpp"

#include <statefun/local/runtime.hpp>

#include <functional>
#include <utility>

namespace user_service {

class local_bus final : public request_bus {
 public:
  explicit local_bus(statefun::local::runtime& rt) : rt_(rt) {}

  void publish(const user_request& request) override {
    const ingress_record record = record_of(request);
    rt_.ingest(requests_ingress, record.key, request, record.topic);
  }

  void on_answer(std::function<void(user_response)> deliver) override {
    if (!deliver) {
      rt_.on_egress(nullptr);
      return;
    }
    rt_.on_egress([deliver = std::move(deliver)](const statefun::local::egress_record& record) {
      if (record.egress == responses_egress && record.kafka) {
        deliver(answer_of(record.kafka->key.value_or(""), record.kafka->value));
      }
    });
  }

 private:
  statefun::local::runtime& rt_;
};

}  // namespace user_service
