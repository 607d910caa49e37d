// The greeter's functions as an HTTP service for a StateFun cluster (see docker-compose.yml):
//   greeter-functions [PORT]

#include "../common/service.hpp"
#include "greeter.hpp"

int main(int argc, char** argv) { return examples::serve(argc, argv, greeter::bind_functions); }
