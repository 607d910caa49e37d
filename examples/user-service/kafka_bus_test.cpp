// The gateway on its Kafka bus, against librdkafka's mock cluster (in process, no broker to
// install): HTTP requests become records on the ingress topics, and answers produced to the
// egress topic come back to their HTTP clients. A stand-in for the functions answers each
// request with where it found it.

#include "http_gateway.hpp"
#include "kafka_bus.hpp"
#include "test_client.hpp"

#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <librdkafka/rdkafkacpp.h>

#include <doctest/doctest.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

namespace {

using namespace user_service;
using user_service::test::test_connection;
using json = nlohmann::json;

/// A Kafka cluster of one mock broker with the application's topics.
class mock_kafka {
 public:
  mock_kafka() {
    char error[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", error, sizeof error);  // (it has no brokers to find: quiet)
    handle_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
    REQUIRE(handle_ != nullptr);
    cluster_ = rd_kafka_mock_cluster_new(handle_, 1);
    REQUIRE(cluster_ != nullptr);
    for (const std::string_view topic : {create_topic, user_topic, responses_topic}) {
      REQUIRE(rd_kafka_mock_topic_create(cluster_, std::string(topic).c_str(), 1, 1) == RD_KAFKA_RESP_ERR_NO_ERROR);
    }
  }
  mock_kafka(const mock_kafka&) = delete;
  mock_kafka& operator=(const mock_kafka&) = delete;
  ~mock_kafka() {
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(handle_);
  }

  std::string brokers() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }

 private:
  rd_kafka_t* handle_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

/// Stands in for the functions: answers each request with its topic, key and value.
class echo_functions {
 public:
  explicit echo_functions(const std::string& brokers) {
    std::string error;
    const std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    conf->set("bootstrap.servers", brokers, error);
    producer_.reset(RdKafka::Producer::create(conf.get(), error));
    conf->set("group.id", "echo", error);
    conf->set("auto.offset.reset", "earliest", error);
    consumer_.reset(RdKafka::KafkaConsumer::create(conf.get(), error));
    REQUIRE(producer_);
    REQUIRE(consumer_);
    REQUIRE(consumer_->subscribe({std::string(create_topic), std::string(user_topic)}) == RdKafka::ERR_NO_ERROR);
    thread_ = std::thread([this] { answer_requests(); });
  }
  echo_functions(const echo_functions&) = delete;
  echo_functions& operator=(const echo_functions&) = delete;
  ~echo_functions() {
    stopping_ = true;
    thread_.join();
    consumer_->close();
  }

 private:
  void answer_requests() {
    while (!stopping_) {
      const std::unique_ptr<RdKafka::Message> record(consumer_->consume(100));
      if (record->err() != RdKafka::ERR_NO_ERROR) {
        continue;
      }
      const auto request = json::parse(std::string_view(static_cast<const char*>(record->payload()), record->len()));
      const json answer = {{"request_id", request.at("request_id")},
                           {"status", 200},
                           {"body", {{"topic", record->topic_name()}, {"key", *record->key()}, {"value", request}}}};
      const std::string key = request.at("request_id");
      std::string value = answer.dump();
      producer_->produce(std::string(responses_topic), RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                         value.data(), value.size(), key.data(), key.size(), 0, nullptr);
      producer_->flush(1'000);
    }
  }

  std::unique_ptr<RdKafka::Producer> producer_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace

TEST_CASE("requests travel to their Kafka topics and keys, and the answers back to their HTTP clients") {
  mock_kafka kafka;
  echo_functions functions(kafka.brokers());
  asio::io_context io;
  kafka_bus bus(io.get_executor(), {.brokers = kafka.brokers(), .group_id = "test-gateway"});
  http_gateway gateway(io, bus, {.port = 0, .answer_timeout = std::chrono::seconds(30)});
  const std::uint16_t port = gateway.port();
  std::thread loop([&io] { io.run(); });

  test_connection client(port);
  const auto created = client.request("POST", "/users/create");
  CHECK(created.status == 200);
  CHECK(created.json["topic"] == "user-create-requests");
  CHECK(created.json["key"] == "singleton");
  CHECK(created.json["value"]["op"] == "create");

  const auto added = client.request("POST", "/users/credit/add/7/25");
  CHECK(added.json["topic"] == "user-requests");
  CHECK(added.json["key"] == "7");
  CHECK(added.json["value"]["amount"] == 25);

  asio::post(io, [&gateway] { gateway.stop(); });
  loop.join();
}
