// builtins.cpp — time.ctime(), input(), bytes.strip() and repr() of an address.
#include "socketserver/builtins.hpp"

#include <sys/socket.h>

#include <cstdio>
#include <iostream>
#include <stdexcept>

namespace socketserver {

std::string ctime(std::time_t t) {
  // tzset() once: localtime_r is not required to read TZ itself (glibc reads it on its first
  // use and never again), so this makes the zone known before the first conversion, in one
  // thread, and no later call stats /etc/localtime. A function-local static is thread-safe.
  static const bool zone_read = (::tzset(), true);
  (void)zone_read;
  std::tm local{};
  if (::localtime_r(&t, &local) == nullptr) {
    throw std::invalid_argument("ctime: time " + std::to_string(t) + " is out of range");
  }
  // Python's asctime format, "%s %s%3d %.2d:%.2d:%.2d %d", with the C locale's names: Python's
  // ctime is English whatever setlocale() says, and so is this (strftime's %a and %b are not).
  static constexpr const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char text[64];
  const int n =
      std::snprintf(text, sizeof text, "%s %s%3d %.2d:%.2d:%.2d %lld", days[local.tm_wday],
                    months[local.tm_mon], local.tm_mday, local.tm_hour, local.tm_min, local.tm_sec,
                    static_cast<long long>(local.tm_year) + 1900);
  return std::string(text, static_cast<std::size_t>(n));
}

std::string ctime() { return ctime(std::time(nullptr)); }

std::string input(std::string_view prompt) {
  std::cout << prompt << std::flush;
  std::string line;
  if (!std::getline(std::cin, line)) {
    std::cout << std::endl;  // end the prompt's line, so what is printed next starts its own
    return "";
  }
  if (line.ends_with('\r')) line.pop_back();
  return line;
}

std::string strip(std::string_view s) {
  constexpr std::string_view space = " \t\n\r\v\f";
  const auto first = s.find_first_not_of(space);
  if (first == std::string_view::npos) return "";
  return std::string(s.substr(first, s.find_last_not_of(space) - first + 1));
}

namespace {

// Python's repr() of a str (bytes_form false) or of bytes (true): the quote it picks, and
// \\, \t, \n, \r, \xNN for what is not printable ASCII (a str keeps bytes >= 0x80: UTF-8 text).
std::string quoted(std::string_view text, bool bytes_form) {
  const bool has_single = text.find('\'') != std::string_view::npos;
  const char quote = has_single && text.find('"') == std::string_view::npos ? '"' : '\'';
  std::string out = bytes_form ? "b" : "";
  out += quote;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == quote || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (byte < 0x20 || byte == 0x7f || (bytes_form && byte >= 0x80)) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", byte);
      out += hex;
    } else {
      out += c;
    }
  }
  out += quote;
  return out;
}

}  // namespace

std::string repr(const Address& address) {
  if (address.family() == AF_UNIX) {
    return quoted(address.path(), address.is_abstract());
  }
  std::string s = "(" + quoted(address.host(), false) + ", " + std::to_string(address.port());
  if (address.family() == AF_INET6) {
    s += ", " + std::to_string(address.flowinfo()) + ", " + std::to_string(address.scope_id());
  }
  return s + ")";
}

}  // namespace socketserver
