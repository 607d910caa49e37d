#pragma once

// Proxy header: every test includes doctest through here, so its configuration lives in one place.
#define DOCTEST_CONFIG_SUPER_FAST_ASSERTS
#include <doctest/doctest.h>
