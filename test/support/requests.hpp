#pragma once

// Building ToFunction requests and reading FromFunction responses in tests.

#include <statefun/codec/from_function.hpp>
#include <statefun/codec/to_function.hpp>
#include <statefun/type.hpp>

#include <deque>
#include <optional>
#include <string>
#include <string_view>

namespace statefun::test {

/// A ToFunction for one target, built field by field. It owns every string it refers to.
class request {
 public:
  request(std::string_view namespace_name, std::string_view type, std::string_view id) {
    batch_.target = {keep(namespace_name), keep(type), keep(id)};
  }

  /// A state holding `value` of type `T`.
  template <typed T>
  request& state(std::string_view name, const T& value) {
    std::string bytes;
    type<T>::encode(value, bytes);
    return raw_state(name, type_name_of<T>(), bytes);
  }

  /// A state holding `bytes` under `type_name`.
  request& raw_state(std::string_view name, std::string_view type_name, std::string_view bytes) {
    batch_.states.push_back({keep(name), true, {keep(type_name), true, keep(bytes)}});
    return *this;
  }

  /// A registered state with no value, sent as the runtime does: a name and nothing else.
  request& empty_state(std::string_view name) {
    batch_.states.push_back({keep(name), false, {}});
    return *this;
  }

  /// An invocation carrying `value`, from `caller` if given.
  template <typed T>
  request& invoke(const T& value, std::optional<codec::address_view> caller = std::nullopt) {
    std::string bytes;
    type<T>::encode(value, bytes);
    return raw_invoke({type_name_of<T>(), true, keep(bytes)}, caller);
  }

  request& invoke(const char* value, std::optional<codec::address_view> caller = std::nullopt) {
    return invoke(std::string(value), caller);
  }

  request& raw_invoke(codec::typed_value_view argument, std::optional<codec::address_view> caller = std::nullopt) {
    if (caller) {
      caller = codec::address_view{keep(caller->namespace_name), keep(caller->type), keep(caller->id)};
    }
    batch_.invocations.push_back({caller, {keep(argument.type_name), argument.has_value, keep(argument.value)}});
    return *this;
  }

  [[nodiscard]] std::string bytes() const {
    std::string out;
    batch_.encode(out);
    return out;
  }

 private:
  std::string_view keep(std::string_view s) { return strings_.emplace_back(s); }

  std::deque<std::string> strings_;
  codec::invocation_batch_view batch_;
};

/// A FromFunction, decoded from a copy of its bytes (handler responses are only valid until
/// the handler's next request).
class response {
 public:
  explicit response(std::string_view bytes) : bytes_(bytes) {
    if (!view_.decode(bytes_)) {
      throw std::runtime_error("response does not decode as a FromFunction");
    }
  }
  const codec::from_function_view* operator->() const noexcept { return &view_; }
  const codec::from_function_view& operator*() const noexcept { return view_; }
  [[nodiscard]] const std::string& bytes() const noexcept { return bytes_; }

  /// The value of mutation `i`, decoded as `T`.
  template <typed T>
  [[nodiscard]] T mutation_value(std::size_t i) const {
    return type<T>::decode(view_.mutations.at(i).value.value);
  }

 private:
  std::string bytes_;
  codec::from_function_view view_;
};

}  // namespace statefun::test
