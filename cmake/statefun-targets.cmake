# The imported/interface targets of statefun-cpp, defined from one include directory: used by the
# root CMakeLists.txt (add_subdirectory, FetchContent) with the source tree's include/, and by the
# installed statefunConfig.cmake with the installed one. Meson stays the project's build; this
# file only describes the header-only library to CMake consumers, finding the same system
# packages as meson.build does (Debian: libasio-dev, nlohmann-json3-dev, libnanopb-dev, and
# optionally libssl-dev and libyaml-cpp-dev).
#
# In: STATEFUN_INCLUDE_DIR, and STATEFUN_TARGET_SCOPE (GLOBAL from add_subdirectory, so that the
# parent project sees the targets). Out: statefun::statefun, and where their packages are found,
# statefun::tls (OpenSSL) and statefun::local (yaml-cpp).

find_package(Threads REQUIRED)
find_package(nlohmann_json 3.11 REQUIRED)

# Debian's asio ships headers only (no CMake package): look for the header.
find_path(STATEFUN_ASIO_INCLUDE_DIR asio.hpp)
if(NOT STATEFUN_ASIO_INCLUDE_DIR)
  message(FATAL_ERROR "statefun: standalone Asio's <asio.hpp> not found (Debian: apt-get install libasio-dev); "
                      "set STATEFUN_ASIO_INCLUDE_DIR to its folder")
endif()
# The headers need only nanopb's <pb.h> (the generated .pb.h files are part of statefun).
find_path(STATEFUN_NANOPB_INCLUDE_DIR pb.h PATH_SUFFIXES nanopb)
if(NOT STATEFUN_NANOPB_INCLUDE_DIR)
  message(FATAL_ERROR "statefun: nanopb's <pb.h> not found (Debian: apt-get install libnanopb-dev); "
                      "set STATEFUN_NANOPB_INCLUDE_DIR to its folder")
endif()

if(NOT TARGET statefun::statefun)
  add_library(statefun::statefun INTERFACE IMPORTED ${STATEFUN_TARGET_SCOPE})
  set_target_properties(statefun::statefun PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${STATEFUN_INCLUDE_DIR};${STATEFUN_ASIO_INCLUDE_DIR};${STATEFUN_NANOPB_INCLUDE_DIR}"
    INTERFACE_COMPILE_FEATURES cxx_std_20
    INTERFACE_LINK_LIBRARIES "Threads::Threads;nlohmann_json::nlohmann_json")
endif()

# <statefun/asio/tls.hpp> needs OpenSSL; <statefun/local/module_yaml.hpp> needs yaml-cpp.
find_package(OpenSSL QUIET)
if(OpenSSL_FOUND AND NOT TARGET statefun::tls)
  add_library(statefun::tls INTERFACE IMPORTED ${STATEFUN_TARGET_SCOPE})
  set_target_properties(statefun::tls PROPERTIES
    INTERFACE_LINK_LIBRARIES "statefun::statefun;OpenSSL::SSL;OpenSSL::Crypto")
endif()
find_package(yaml-cpp 0.6 QUIET CONFIG)
if(yaml-cpp_FOUND AND NOT TARGET statefun::local)
  add_library(statefun::local INTERFACE IMPORTED ${STATEFUN_TARGET_SCOPE})
  set_target_properties(statefun::local PROPERTIES
    INTERFACE_LINK_LIBRARIES "statefun::statefun;yaml-cpp")
endif()
