#pragma once

/// @file
/// The core of a function service: `#include <statefun/statefun.hpp>`. JSON types
/// (<statefun/json.hpp>), protobuf messages (<statefun/protobuf.hpp>), durable functions
/// (<statefun/durable.hpp>) and the transports (<statefun/asio/server.hpp>, ...) are included
/// where they are used, so a TU pays only for what it uses.

#include <statefun/address.hpp>
#include <statefun/cancellation_token.hpp>
#include <statefun/config.hpp>
#include <statefun/context.hpp>
#include <statefun/egress.hpp>
#include <statefun/error.hpp>
#include <statefun/expected.hpp>
#include <statefun/functions.hpp>
#include <statefun/message.hpp>
#include <statefun/message_builder.hpp>
#include <statefun/request_reply_handler.hpp>
#include <statefun/storage.hpp>
#include <statefun/sync_wait.hpp>
#include <statefun/task.hpp>
#include <statefun/type.hpp>
#include <statefun/type_name.hpp>
#include <statefun/value_spec.hpp>
#include <statefun/when_all.hpp>
