#include <statefun/testing.hpp>
#include "support/doctest.hpp"
