# Installs the build tree into a temporary prefix, then, as a user of the installed library would:
#   - with CONSUMER_DIR (ctest install_and_consume): builds tests/consumer with
#     find_package(socketserver) and with pkg-config, and runs it;
#   - with LISTINGS (ctest doc_listings_compile): compiles every C++ listing of README.md and
#     docs/*.md (doc_listings.cmake says how).
# Any failure fails the test. Inputs: BUILD_DIR, WORK_DIR, SOURCE_DIR, and CONSUMER_DIR or LISTINGS.
cmake_minimum_required(VERSION 3.20)  # the policies of a modern CMake, also in script mode
file(REMOVE_RECURSE "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

run(${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${prefix}")
foreach(f include/socketserver/socketserver.hpp include/socketserver/socket.hpp)
  if(NOT EXISTS "${prefix}/${f}")
    message(FATAL_ERROR "install is missing ${f}")
  endif()
endforeach()

# The flags a pkg-config user compiles with: pc_flags.
find_program(PKG_CONFIG pkg-config)
find_program(CXX_COMPILER NAMES c++ g++ clang++)
if(NOT PKG_CONFIG OR NOT CXX_COMPILER)
  message(FATAL_ERROR "pkg-config or a C++ compiler is missing")
endif()
file(GLOB pcdirs "${prefix}/lib*/pkgconfig" "${prefix}/lib/*/pkgconfig")
list(JOIN pcdirs ":" pcpath)
set(ENV{PKG_CONFIG_PATH} "${pcpath}")
run(${PKG_CONFIG} --cflags --libs socketserver)
string(STRIP "${last_output}" pc_flags)
separate_arguments(pc_flags UNIX_COMMAND "${pc_flags}")

if(LISTINGS)
  include("${CMAKE_CURRENT_LIST_DIR}/doc_listings.cmake")
  return()
endif()

# 1. CMake: find_package(socketserver)
run(${CMAKE_COMMAND} -S "${CONSUMER_DIR}" -B "${WORK_DIR}/cmake-build" "-DCMAKE_PREFIX_PATH=${prefix}")
run(${CMAKE_COMMAND} --build "${WORK_DIR}/cmake-build")
run("${WORK_DIR}/cmake-build/consumer")
if(NOT last_output MATCHES "installed ok")
  message(FATAL_ERROR "consumer (CMake) printed: ${last_output}")
endif()

# 2. pkg-config
run(${CXX_COMPILER} "${CONSUMER_DIR}/main.cpp" ${pc_flags} -o "${WORK_DIR}/consumer-pc")
run("${WORK_DIR}/consumer-pc")
if(NOT last_output MATCHES "installed ok")
  message(FATAL_ERROR "consumer (pkg-config) printed: ${last_output}")
endif()
message(STATUS "install_and_consume: CMake and pkg-config consumers built and ran")
