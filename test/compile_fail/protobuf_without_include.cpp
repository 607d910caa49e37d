// A protobuf message sent without <statefun/protobuf.hpp>: the one error says to include it.
// expect-error: statefun: this type is a protobuf message
#include <statefun/functions.hpp>
#ifndef STATEFUN_MISUSE
#include <statefun/protobuf.hpp>
#endif

#include <string>

// What protoc generates, reduced to the interface statefun recognises (the test does not
// need libprotobuf): a class derived from google::protobuf::MessageLite.
namespace google::protobuf {
class MessageLite {
 public:
  virtual ~MessageLite() = default;
  bool AppendToString(std::string*) const { return true; }
  bool ParseFromArray(const void*, int) { return true; }
  std::string GetTypeName() const { return "example.Greeting"; }
};
}  // namespace google::protobuf

class greeting : public google::protobuf::MessageLite {};

void greet(statefun::context& ctx, const statefun::message& msg) {
  ctx.send(statefun::message_to({"example/user", "ann"}).value(msg.as<greeting>()));
}
