// The shopping cart's functions as an HTTP service for a StateFun cluster (see docker-compose.yml):
//   shopping-cart-functions [PORT]

#include "../common/service.hpp"
#include "shopping_cart.hpp"

int main(int argc, char** argv) { return examples::serve(argc, argv, shopping_cart::bind_functions); }
