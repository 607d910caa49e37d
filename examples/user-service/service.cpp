// The user service's functions as an HTTP service for a StateFun cluster (see docker-compose.yml):
//   user-service-functions [PORT]

#include "../common/service.hpp"
#include "user_service.hpp"

int main(int argc, char** argv) { return examples::serve(argc, argv, user_service::bind_functions); }
