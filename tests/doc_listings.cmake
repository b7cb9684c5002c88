# doc_listings.cmake — every C++ listing of README.md and docs/ compiles against the INSTALLED
# library, so the documentation and the code cannot drift apart (ctest: doc_listings_compile).
# Included by install_test.cmake once it has installed the build tree into a temporary prefix
# and read the pkg-config flags; uses its run() and these variables:
#   SOURCE_DIR       the project's root: README.md and docs/*.md are read
#   CXX_COMPILER     the compiler; pc_flags: `pkg-config --cflags --libs socketserver`
#
# The convention, for whoever writes a listing:
#   - A block fenced with ```cpp is a whole program. It is compiled and linked as it stands
#     (nothing is added: it includes <socketserver/socketserver.hpp> and the standard headers it
#     uses itself) and must define main(). It is never run.
#   - A block that shows a piece of a program is marked by an HTML comment on the line just
#     before its fence, which Markdown does not display:
#         <!-- fragment -->
#     It is compiled as the body of a function, after
#         #include <socketserver/socketserver.hpp>
#         #include <iostream>
#         #include <string>
#         namespace ss = socketserver;
#         using namespace std::chrono_literals;
#     so it may declare classes and variables and use them, and nothing else is assumed.
#   - A fragment that uses what the text around it declared carries those declarations in its
#     marker, after the word "fragment"; they are put before it in the same function:
#         <!-- fragment
#         struct TimestampHandler : ss::StreamRequestHandler { using StreamRequestHandler::StreamRequestHandler; };
#         -->
#   - Other fences (python, sh, text, cmake, none) are not compiled.
# Compiler errors point at the Markdown file and line (each listing starts with #line).
# Every listing is compiled with -Wall -Wextra -Werror: a listing a student copies must build
# without a warning.

set(listing_dir "${WORK_DIR}/listings")
file(MAKE_DIRECTORY "${listing_dir}")
set(fence "\n```cpp\n")
string(LENGTH "${fence}" fence_length)
set(fragment_prelude [=[
#include <socketserver/socketserver.hpp>
#include <iostream>
#include <string>
namespace ss = socketserver;
using namespace std::chrono_literals;
]=])

file(GLOB docs RELATIVE "${SOURCE_DIR}" "${SOURCE_DIR}/docs/*.md")
list(SORT docs)
set(listing_count 0)
set(failures "")  # a string, not a list: compiler output may hold semicolons
foreach(doc IN ITEMS README.md ${docs})
  file(READ "${SOURCE_DIR}/${doc}" content)
  string(MAKE_C_IDENTIFIER "${doc}" doc_id)
  set(in_doc 0)
  set(offset 0)  # where the search goes on in `content`
  while(TRUE)
    string(SUBSTRING "${content}" ${offset} -1 rest)
    string(FIND "${rest}" "${fence}" at)
    if(at EQUAL -1)
      break()
    endif()
    math(EXPR fence_at "${offset} + ${at}")
    math(EXPR code_at "${fence_at} + ${fence_length}")
    string(SUBSTRING "${content}" ${code_at} -1 code)
    string(FIND "${code}" "\n```" close)
    if(close EQUAL -1)
      message(FATAL_ERROR "${doc}: a ```cpp fence is never closed")
    endif()
    math(EXPR close "${close} + 1")
    string(SUBSTRING "${code}" 0 ${close} code)
    math(EXPR offset "${code_at} + ${close}")

    # The Markdown line of the code's first line: the lines before the fence, plus two.
    string(SUBSTRING "${content}" 0 ${fence_at} before)
    string(REGEX MATCHALL "\n" newlines "${before}")
    list(LENGTH newlines line)
    math(EXPR line "${line} + 3")

    # A marker ends the text before the fence: <!-- fragment ... -->
    set(fragment FALSE)
    set(hidden "")
    if(before MATCHES "-->$")
      string(FIND "${before}" "<!--" comment_at REVERSE)
      string(SUBSTRING "${before}" ${comment_at} -1 comment)
      if(comment MATCHES "^<!-- fragment")
        set(fragment TRUE)
        string(REGEX REPLACE "^<!-- fragment" "" hidden "${comment}")
        string(REGEX REPLACE "-->$" "" hidden "${hidden}")
      endif()
    endif()

    set(name "${doc_id}_${line}")
    set(where "${doc}:${line}")
    if(fragment)
      set(source "${fragment_prelude}void listing() {\n${hidden}\n#line ${line} \"${doc}\"\n${code}}\nint main() {}\n")
    else()
      if(NOT code MATCHES "int main\\(")
        string(APPEND failures "${where}: a listing without main(): make it a whole program or "
                               "mark it <!-- fragment --> (see tests/doc_listings.cmake)\n\n")
        continue()
      endif()
      set(source "#line ${line} \"${doc}\"\n${code}")
    endif()
    file(WRITE "${listing_dir}/${name}.cpp" "${source}")
    math(EXPR listing_count "${listing_count} + 1")
    math(EXPR in_doc "${in_doc} + 1")
    execute_process(
      COMMAND ${CXX_COMPILER} -Wall -Wextra -Werror "${listing_dir}/${name}.cpp" ${pc_flags}
              -o "${listing_dir}/${name}"
      WORKING_DIRECTORY "${SOURCE_DIR}"
      RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT rc EQUAL 0)
      string(APPEND failures "${where}: does not build against the installed library:\n${out}${err}\n")
    endif()
  endwhile()
  if(in_doc EQUAL 0 AND doc MATCHES "^(README.md|docs/tutorial.md)$")
    string(APPEND failures "${doc}: no ```cpp listing found: is the extraction broken?\n\n")
  endif()
  message(STATUS "${doc}: ${in_doc} C++ listings")
endforeach()

if(NOT failures STREQUAL "")
  message(FATAL_ERROR "C++ listings that do not build:\n\n${failures}")
endif()
message(STATUS "doc_listings_compile: ${listing_count} listings compiled and linked")
