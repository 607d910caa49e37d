#pragma once
// What the tests that measure memory share: whether AddressSanitizer is in the build (its shadow
// and quarantine change what a process holds), and a process's memory as /proc reports it.

#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace statefun::test {

inline constexpr std::uint64_t mib = std::uint64_t{1} << 20;

#if defined(__SANITIZE_ADDRESS__)  // g++
inline constexpr bool under_asan = true;
#elif defined(__has_feature)  // clang++
#if __has_feature(address_sanitizer)
inline constexpr bool under_asan = true;
#else
inline constexpr bool under_asan = false;
#endif
#else
inline constexpr bool under_asan = false;
#endif

/// A field of /proc/`who`/status (`who`: "self" or a pid) in bytes: VmRSS, VmHWM, VmSize...
inline std::uint64_t status_bytes(const std::string& who, std::string_view field) {
  std::ifstream status("/proc/" + who + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with(field) && line.size() > field.size() && line[field.size()] == ':') {
      return std::stoull(line.substr(field.size() + 1)) * 1024;  // given in kB
    }
  }
  throw std::runtime_error("no " + std::string(field) + " in /proc/" + who + "/status");
}

inline std::uint64_t status_bytes(int pid, std::string_view field) {
  return status_bytes(std::to_string(pid), field);
}

}  // namespace statefun::test
