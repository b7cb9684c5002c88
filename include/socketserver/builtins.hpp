// builtins.hpp — the few Python builtins the chapter's programs call besides the socket module.
//
//   Python                                  C++
//   from time import ctime; ctime()         ss::ctime()            "Fri Nov 27 12:05:44 2026"
//   ctime(t)                                ss::ctime(t)           (t: a std::time_t)
//   data = input('> ')                      std::string data = ss::input("> ");
//   data.strip()                            ss::strip(data)
//   print('...connected from:', addr)       std::cout << "...connected from: " << ss::repr(addr)
//                                           (prints ('127.0.0.1', 40000), as Python does)
//
// With these, every program of the chapter is written with the library and the standard library
// alone. Each function is thread-safe (input() as far as std::cin and std::cout are).
#pragma once

#include <ctime>
#include <string>
#include <string_view>

#include "socketserver/address.hpp"

namespace socketserver {

/// Python's time.ctime(t): the local time as "Fri Nov 27 12:05:44 2026", always 24 characters
/// (the day of the month is padded with a space: "Sun Jun  7 09:05:00 2026"), no newline, day
/// and month names in English whatever the locale, as Python's. The time zone (TZ, else
/// /etc/localtime) is read once, on the first call: no file is looked at per call. Thread-safe.
/// Throws std::invalid_argument when `t` is beyond what the C library can convert (Python:
/// OverflowError).
std::string ctime(std::time_t t);

/// Python's time.ctime(): the current local time, as ctime(t) above. What the timestamp
/// servers put in "[Fri Nov 27 12:05:44 2026] data". Thread-safe.
std::string ctime();

/// Python's input(prompt): writes `prompt` to std::cout (flushed, no newline) and reads one line
/// from std::cin, returned without its "\n" (nor a "\r" before it, as Python's universal
/// newlines drop it). At the end of input (Ctrl-D, the end of a pipe or file) it ends the
/// prompt's line and returns "" where Python raises EOFError, so a client's
/// `if (data.empty()) break;` stops there too.
std::string input(std::string_view prompt = "");

/// Python's bytes.strip(): `s` without the ASCII whitespace (" \t\n\r\v\f") at either end.
std::string strip(std::string_view s);

/// Python's repr() of a socket address, as print() shows what accept() and recvfrom() return:
/// ('127.0.0.1', 40000) for IPv4 and host names, ('::1', 40000, 0, 0) for IPv6 (flowinfo,
/// scope id), '/tmp/sock' for a Unix path ('' when unnamed) and b'\x00name' for an abstract one.
/// Bytes outside printable ASCII, the quote and the backslash are escaped as Python escapes them.
std::string repr(const Address& address);

}  // namespace socketserver
