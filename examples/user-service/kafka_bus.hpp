#pragma once

// The request bus in front of a StateFun cluster, on Kafka (librdkafka's C++ API): requests are
// produced to the ingress topics, answers are consumed from the egress topic on a thread of the
// bus's own and handed to the gateway's event loop. Built only where librdkafka is installed
// (Debian: librdkafka-dev).

#include "messages.hpp"
#include "request_bus.hpp"

#include <statefun/json.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/post.hpp>

#include <librdkafka/rdkafkacpp.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace user_service {

struct kafka_bus_options {
  std::string brokers = "kafka:9092";
  /// The answers' consumer group: one per gateway, since every gateway must see every answer.
  std::string group_id = "user-service-gateway";
  /// How long to wait at startup for the answers' partitions to be assigned.
  std::chrono::milliseconds assignment_timeout{30'000};
};

class kafka_bus final : public request_bus {
 public:
  /**
   * Connects to the brokers and waits until the answers' topic is assigned, so that no answer
   * to a request published from now on can be missed.
   * @throws std::runtime_error if a client cannot be made or nothing is assigned in time.
   */
  kafka_bus(::asio::any_io_executor gateway, const kafka_bus_options& options)
      : gateway_(std::move(gateway)),
        producer_(make_producer(options)),
        consumer_(make_consumer(options)) {
    wait_for_assignment(options.assignment_timeout);
    consumer_thread_ = std::thread([this] { consume_answers(); });
  }

  ~kafka_bus() override {
    stopping_ = true;
    consumer_thread_.join();
    consumer_->close();
    producer_->flush(5'000);  // requests still on their way
  }

  /// @throws std::runtime_error if the producer refuses the record (its queue is full, say).
  void publish(const user_request& request) override {
    const ingress_record record = record_of(request);
    std::string value;
    statefun::type<user_request>::encode(request, value);
    const RdKafka::ErrorCode error = producer_->produce(
        std::string(record.topic), RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY, value.data(),
        value.size(), record.key.data(), record.key.size(), 0, nullptr);
    producer_->poll(0);  // serve delivery reports, without waiting
    if (error != RdKafka::ERR_NO_ERROR) {
      throw std::runtime_error("cannot produce to " + std::string(record.topic) + ": " + RdKafka::err2str(error));
    }
  }

  /// (Call it on the gateway's event loop, or before it runs.)
  void on_answer(std::function<void(user_response)> deliver) override { deliver_ = std::move(deliver); }

 private:
  using settings = std::vector<std::pair<std::string, std::string>>;

  static std::unique_ptr<RdKafka::Conf> configuration(const settings& values) {
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    std::string error;
    for (const auto& [name, value] : values) {
      if (conf->set(name, value, error) != RdKafka::Conf::CONF_OK) {
        throw std::runtime_error("Kafka setting " + name + "=" + value + ": " + error);
      }
    }
    return conf;
  }

  static std::unique_ptr<RdKafka::Producer> make_producer(const kafka_bus_options& options) {
    const auto conf = configuration({{"bootstrap.servers", options.brokers}, {"linger.ms", "0"}});
    std::string error;
    std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(conf.get(), error));
    if (!producer) {
      throw std::runtime_error("cannot make a Kafka producer: " + error);
    }
    return producer;
  }

  // Answers from before this start are for requests nobody waits for any more: start at the
  // latest offset, and commit nothing, so that a restart starts at the latest again.
  static std::unique_ptr<RdKafka::KafkaConsumer> make_consumer(const kafka_bus_options& options) {
    const auto conf = configuration({{"bootstrap.servers", options.brokers},
                                     {"group.id", options.group_id},
                                     {"auto.offset.reset", "latest"},
                                     {"enable.auto.commit", "false"}});
    std::string error;
    std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), error));
    if (!consumer) {
      throw std::runtime_error("cannot make a Kafka consumer: " + error);
    }
    if (const auto code = consumer->subscribe({std::string(responses_topic)}); code != RdKafka::ERR_NO_ERROR) {
      throw std::runtime_error("cannot subscribe to " + std::string(responses_topic) + ": " + RdKafka::err2str(code));
    }
    return consumer;
  }

  void wait_for_assignment(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::vector<RdKafka::TopicPartition*> assigned;
    while (assigned.empty()) {
      if (std::chrono::steady_clock::now() > deadline) {
        throw std::runtime_error("no partition of " + std::string(responses_topic) + " assigned within " +
                                 std::to_string(timeout.count()) + " ms");
      }
      // (Polling is what makes the group assign partitions; nothing has been asked yet, so any
      // record that comes is an answer to nobody.)
      delete consumer_->consume(100);
      consumer_->assignment(assigned);
    }
    RdKafka::TopicPartition::destroy(assigned);
  }

  /// The consumer thread: hands each answer to the gateway's event loop.
  void consume_answers() {
    while (!stopping_) {
      const std::unique_ptr<RdKafka::Message> record(consumer_->consume(100));  // ms: how soon a stop is seen
      if (record->err() == RdKafka::ERR__TIMED_OUT || record->err() == RdKafka::ERR__PARTITION_EOF) {
        continue;
      }
      if (record->err() != RdKafka::ERR_NO_ERROR) {
        std::cerr << "user-service gateway: consuming " << responses_topic << ": " << record->errstr() << '\n';
        continue;  // librdkafka reconnects by itself
      }
      const std::string key = record->key() != nullptr ? *record->key() : "";
      user_response answer = answer_of(key, {static_cast<const char*>(record->payload()), record->len()});
      ::asio::post(gateway_, [this, answer = std::move(answer)]() mutable {
        if (deliver_) {
          deliver_(std::move(answer));
        }
      });
    }
  }

  ::asio::any_io_executor gateway_;
  std::unique_ptr<RdKafka::Producer> producer_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::function<void(user_response)> deliver_;  // used on the gateway's event loop only
  std::atomic<bool> stopping_{false};
  std::thread consumer_thread_;
};

}  // namespace user_service
