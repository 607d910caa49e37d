#pragma once

// The smoke test's function under test, written with the SDK as a user would write it:
// `statefun.smoke.e2e/command-interpreter-fn` (docs/runtime_rules.md §4.1). One state value, `state`, a
// long counter; each message is a list of commands, interpreted in order:
//
// - IncrementState:  state += 1;
// - Send:            the nested commands to instance `target`;
// - SendAfter:       the same after 1 ms (the Java interpreter's delay), with its cancellation
//                    token if it has one;
// - CancelSendAfter: cancels the delayed message of that token;
// - SendEgress:      a record to `statefun.smoke.e2e/discard-sink`;
// - AsyncOperation:  awaits a real asynchronous operation (a timer; one that is cancelled when
//                    `failure` is set), then interprets `resolved_commands` here, whatever the
//                    outcome, as the embedded interpreter does;
// - Verify:          VerificationResult{own id, expected, state or 0} to
//                    `statefun.smoke.e2e/verification-sink`.
//
// The remote interpreters of the original test ignore AsyncOperation and CancelSendAfter; this
// one supports both, as the embedded (JVM) one does.

#include <statefun/asio/use_task.hpp>
#include <statefun/context.hpp>
#include <statefun/egress.hpp>
#include <statefun/functions.hpp>
#include <statefun/message.hpp>
#include <statefun/message_builder.hpp>
#include <statefun/task.hpp>
#include <statefun/value_spec.hpp>

#include <asio/error.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <system_error>
#include <variant>

#include "local/smoke/commands.hpp"

namespace statefun::test::smoke {

/// The interpreter's counter.
inline constexpr statefun::value_spec<std::int64_t> state{"state"};

/// The delay of `SendAfter` (`smoke-embedded/CommandInterpreter.java`).
inline constexpr std::chrono::milliseconds send_after_delay{1};

namespace interpreter {

inline address instance(std::int32_t id) {
  static const type_name function_type{names::function_type};
  return {function_type, std::to_string(id)};
}

/// A real asynchronous operation on the request's executor: a timer that fires at once, or,
/// for a failure, one that is cancelled before it fires.
inline task<> async_operation(bool failure) {
  const ::asio::any_io_executor& executor = statefun::asio::current_executor();
  ::asio::steady_timer timer(executor, failure ? std::chrono::hours(1) : std::chrono::hours(0));
  if (failure) {
    ::asio::post(executor, [&timer] { timer.cancel(); });
  }
  try {
    co_await timer.async_wait(statefun::asio::use_task);
  } catch (const std::system_error& e) {
    if (!failure || e.code() != ::asio::error::operation_aborted) {
      throw;
    }
    // The operation failed, as the command asked; its resolved commands run all the same.
  }
}

inline task<> interpret(context& ctx, const commands& list) {
  for (const command& c : list.list) {
    if (std::holds_alternative<command::increment_state>(c.value)) {
      ctx.storage().set(state, ctx.storage().get(state).value_or(0) + 1);
    } else if (const auto* send = std::get_if<command::send>(&c.value)) {
      ctx.send(message_to(instance(send->target)).value(send->commands));
    } else if (const auto* later = std::get_if<command::send_after>(&c.value)) {
      const outgoing_message m = message_to(instance(later->target)).value(later->commands);
      if (later->cancellation_token.empty()) {
        ctx.send_after(send_after_delay, m);
      } else {
        ctx.send_after(send_after_delay, m, cancellation_token(later->cancellation_token));
      }
    } else if (const auto* cancel = std::get_if<command::cancel_send_after>(&c.value)) {
      ctx.cancel_delayed_message(cancellation_token(cancel->cancellation_token));
    } else if (std::holds_alternative<command::send_egress>(c.value)) {
      ctx.send_egress(egress_to(names::discard_sink).value(ctx.self().id));
    } else if (const auto* async = std::get_if<command::async_operation>(&c.value)) {
      co_await async_operation(async->failure);
      co_await interpret(ctx, async->resolved_commands);
    } else if (const auto* verify = std::get_if<command::verify>(&c.value)) {
      const verification_result result{std::stoi(ctx.self().id), verify->expected,
                                       ctx.storage().get(state).value_or(0)};
      ctx.send_egress(egress_to(names::verification_sink).value(result));
    }
  }
}

/// The function: a `SourceCommand` from the driver, or `Commands` from another instance.
inline task<> run(context& ctx, const message& msg) {
  if (msg.is<source_command>()) {
    const source_command source = msg.as<source_command>();
    co_await interpret(ctx, source.commands);
  } else if (msg.is<commands>()) {
    const commands list = msg.as<commands>();
    co_await interpret(ctx, list);
  } else {
    throw std::invalid_argument("smoke: unexpected message type " + std::string(msg.type_name()));
  }
}

}  // namespace interpreter

/// Binds `statefun.smoke.e2e/command-interpreter-fn` in `fns`.
inline functions& bind_command_interpreter(functions& fns) {
  return fns.bind(names::function_type, {state}, interpreter::run);
}

}  // namespace statefun::test::smoke
