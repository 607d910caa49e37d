// The checkout saga's functions as an HTTP service for a StateFun cluster:
//   checkout-saga-functions [PORT]
// It serves the durable flow; bind_handlers serves the message-handler version instead.

#include "../common/service.hpp"
#include "checkout_flow.hpp"

int main(int argc, char** argv) { return examples::serve(argc, argv, saga::bind_flow); }
