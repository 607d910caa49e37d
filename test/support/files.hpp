#pragma once

// Reading the committed test data (test/data/).

#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

#ifndef STATEFUN_TEST_DATA
#error "the build passes STATEFUN_TEST_DATA, the path of test/data"
#endif

namespace statefun::test {

/// The bytes of test/data/<name>.
inline std::string read_data(const std::string& name) {
  const std::string path = std::string(STATEFUN_TEST_DATA) + "/" + name;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error("cannot open test data " + path);
  }
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace statefun::test
