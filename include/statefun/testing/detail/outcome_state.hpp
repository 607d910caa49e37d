#pragma once

/// @file
/// What an `outcome` refers to: the effects of the batches one call of the harness ran.

#include <statefun/address.hpp>
#include <statefun/config.hpp>
#include <statefun/testing/records.hpp>

#include <algorithm>
#include <exception>
#include <optional>
#include <string>
#include <vector>

namespace statefun::inline v0::testing::detail {

/// One declared state's value: present or not, its type name and bytes.
struct state_slot {
  std::string name;
  std::string type;
  bool present = false;
  std::string bytes;
};

/// The effects of one or more batches, filled in when they end.
struct outcome_state {
  enum class status : unsigned char { pending, done, failed };

  status now = status::done;
  std::exception_ptr error;
  std::string error_message;
  std::optional<address> caller;
  std::vector<sent_message> messages;
  std::vector<delayed_message> delayed;
  std::vector<std::string> cancellations;
  std::vector<egress_record> egress;
  std::vector<sent_message> calls;
  std::vector<std::string> written;
  std::vector<std::string> removed;
  std::vector<state_slot> state_after;

  /// Notes that the batch wrote (or removed) `name`; a later change replaces an earlier one.
  void changed(const std::string& name, bool removal) {
    auto& into = removal ? removed : written;
    auto& other = removal ? written : removed;
    other.erase(std::remove(other.begin(), other.end(), name), other.end());
    if (std::find(into.begin(), into.end(), name) == into.end()) {
      into.push_back(name);
    }
  }
};

}  // namespace statefun::inline v0::testing::detail
