#pragma once

/// @file
/// `statefun::testing`: unit tests of one function, called directly with typed messages and
/// given state, no runtime and no sockets (docs/testing.md).

#include <statefun/testing/clock.hpp>
#include <statefun/testing/http_double.hpp>
#include <statefun/testing/instance.hpp>
#include <statefun/testing/outcome.hpp>
#include <statefun/testing/records.hpp>
#include <statefun/testing/step.hpp>
#include <statefun/testing/typed_value.hpp>
