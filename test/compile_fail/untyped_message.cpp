// Only typed values can be sent: a struct with no statefun::type specialisation must not compile.
// expect-error: statefun: this type has no statefun::type<T>
#include <statefun/message_builder.hpp>

struct not_typed {
  int x = 0;
};

statefun::outgoing_message make() {
#ifdef STATEFUN_MISUSE
  return statefun::message_to({"a/b", "c"}).value(not_typed{});
#else
  return statefun::message_to({"a/b", "c"}).value(1);
#endif
}
