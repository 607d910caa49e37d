#pragma once

/// @file
/// `storage`: the persisted values of the function instance being invoked.

#include <statefun/detail/same_text.hpp>
#include <statefun/type.hpp>
#include <statefun/type_name.hpp>
#include <statefun/value_spec.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

namespace statefun::inline v0 {

namespace detail {

/// One declared state during a batch: what the runtime sent and what the batch did to it.
struct state_cell {
  enum class change : std::uint8_t { none, modified, removed };

  std::string_view name;
  std::string_view declared_type;
  /// The type name the runtime holds the value under ("" when it sent none).
  std::string_view incoming_type;
  std::string_view incoming_value;
  bool incoming_present = false;
  /// `incoming_type` equals `declared_type`, or there is no incoming value (compared once per
  /// batch).
  bool incoming_type_matches = true;
  change changed = change::none;
  /// The encoded value written in this batch (when `changed == modified`).
  std::string pending;
};

}  // namespace detail

/**
 * The persisted values of the function instance being invoked, as declared with
 * `functions::bind`.
 *
 * Values are decoded when read, encoded when written, and sent back to the runtime once per
 * batch: one mutation per value written or removed, holding its final value. Within a batch a
 * write is seen by every later read, in the same invocation or the next.
 *
 * **Example**:
 * @code
 * auto n = ctx.storage().get(seen).value_or(0) + 1;
 * ctx.storage().set(seen, n);
 * @endcode
 */
class storage {
 public:
  /// Used by the handler: the cells of one batch of `function`.
  storage(std::span<detail::state_cell> cells, const type_name& function) noexcept
      : cells_(cells), function_(&function) {}

  /**
   * The value, or `std::nullopt` if the state holds none (never written, removed, or expired).
   * @throws std::invalid_argument if `spec` is not declared for this function.
   * @throws statefun::type_mismatch if the runtime holds the value under another type name.
   * @throws statefun::decode_error if the stored bytes are not a valid `T`.
   */
  template <class T>
  [[nodiscard]] std::optional<T> get(const value_spec<T>& spec) const {
    const detail::state_cell& cell = find(spec.name(), spec.type_name());
    switch (cell.changed) {
      case detail::state_cell::change::modified:
        return type<T>::decode(cell.pending);
      case detail::state_cell::change::removed:
        return std::nullopt;
      case detail::state_cell::change::none:
        break;
    }
    if (!cell.incoming_present) {
      return std::nullopt;
    }
    check_incoming_type(cell, "read");
    return type<T>::decode(cell.incoming_value);
  }

  /**
   * Writes the value; the runtime stores it when the batch completes. `T` comes from the spec
   * alone, so `value` converts to it: `set(int64_spec, 1111)`, `set(string_spec, "x")`.
   * @throws std::invalid_argument if `spec` is not declared for this function.
   * @throws statefun::type_mismatch if the runtime holds this state under another type name
   *         (writing it would fail the job).
   * @throws std::invalid_argument if `T` refuses the value (a `std::string` that is not UTF-8).
   */
  template <class T>
  void set(const value_spec<T>& spec, const std::type_identity_t<T>& value) {
    detail::state_cell& cell = find(spec.name(), spec.type_name());
    check_incoming_type(cell, "written");
    cell.pending.clear();
    type<T>::encode(value, cell.pending);
    cell.changed = detail::state_cell::change::modified;
  }

  /// Removes the value. @throws std::invalid_argument if `spec` is not declared.
  template <class T>
  void remove(const value_spec<T>& spec) {
    find(spec.name(), spec.type_name()).changed = detail::state_cell::change::removed;
  }

 private:
  [[nodiscard]] detail::state_cell& find(std::string_view name, std::string_view type) const {
    // Names and type names usually come from the very value_spec that declared the cell, so
    // same_text's address check skips two memcmp calls per access.
    for (detail::state_cell& cell : cells_) {
      if (detail::same_text(cell.name, name)) {
        if (!detail::same_text(cell.declared_type, type)) {
          throw type_mismatch("statefun: state '" + std::string(name) + "' of function '" +
                              function_->str() + "' is declared as '" +
                              std::string(cell.declared_type) + "', not '" + std::string(type) + "'");
        }
        return cell;
      }
    }
    throw std::invalid_argument("statefun: state '" + std::string(name) +
                                "' is not declared for function '" + function_->str() + "'");
  }

  void check_incoming_type(const detail::state_cell& cell, const char* verb) const {
    if (!cell.incoming_type_matches) {
      throw type_mismatch("statefun: state '" + std::string(cell.name) + "' of function '" +
                          function_->str() + "' is held by the runtime as '" +
                          std::string(cell.incoming_type) + "' but " + verb + " as '" +
                          std::string(cell.declared_type) + "'");
    }
  }

  std::span<detail::state_cell> cells_;
  const type_name* function_;
};

}  // namespace statefun::inline v0
