// fuzz_address.cpp — Address (address.hpp): parsing of text, the factories, and conversion of
// arbitrary kernel sockaddr bytes (sockaddr_un, sockaddr_in, sockaddr_in6, any family, any
// length), with round trips where they are meaningful. No name is ever resolved (no network).
//
// Input: byte 0 picks the mode, the rest is its material.
//   0  Address::parse(text): success or std::invalid_argument; a parsed address prints and
//      parses back to an equal one with an equal hash.
//   1  Address::from_sockaddr over exactly `len` bytes (a heap copy of that size, so that a read
//      past `len` is an ASan report): never throws; the result converts back to itself, and
//      prints and parses back where printing carries everything.
//   2  Address(host, port), inet, inet6 (flowinfo), unix_path, abstract, inet_pton/inet_ntop,
//      numeric getaddrinfo: success or std::invalid_argument (socket_error where Python raises
//      OSError), never a NUL slipping through; each result converts back to itself.
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "socketserver/address.hpp"
#include "socketserver/errors.hpp"

namespace ss = socketserver;
using ss::Address;

namespace {

[[noreturn]] void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_address: %s: %s\n", what, detail.c_str());
  std::abort();
}

/// The same address again through from_sockaddr: conversion is idempotent.
void check_converts_back(const Address& a) {
  if (!a.is_resolved()) return;
  const Address back = Address::from_sockaddr(a.sockaddr_ptr(), a.sockaddr_len());
  if (!(back == a) || back.sockaddr_len() != a.sockaddr_len() || back.hash() != a.hash()) {
    fail("from_sockaddr(sockaddr_ptr()) differs", a.to_string() + " vs " + back.to_string());
  }
}

/// parse(to_string()) gives `a` again (same family, host, port, scope; equal and same hash).
void check_prints_and_parses_back(const Address& a) {
  const std::string text = a.to_string();
  Address back;
  try {
    back = Address::parse(text);
  } catch (const std::invalid_argument& e) {
    fail("to_string() does not parse back", text + ": " + e.what());
  }
  if (!(back == a) || back.hash() != a.hash()) {
    fail("parse(to_string()) differs", text + " -> " + back.to_string());
  }
}

void fuzz_parse(const std::string& text) {
  Address a;
  try {
    a = Address::parse(text);
  } catch (const std::invalid_argument&) {
    return;
  }
  // Only an abstract name may hold a NUL ("embedded null byte" for hosts, ports and paths).
  if (text.find('\0') != std::string::npos && !a.is_abstract()) {
    fail("a NUL was accepted", a.to_string());
  }
  (void)a.host();
  (void)a.path();
  check_converts_back(a);
  // A parsed IPv6 address has no flowinfo, so printing carries all of it.
  check_prints_and_parses_back(a);
}

void fuzz_sockaddr(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return;
  static constexpr sa_family_t kFamilies[] = {AF_UNIX, AF_INET, AF_INET6, AF_UNSPEC, AF_PACKET};
  const sa_family_t family = data[0] < 250 ? kFamilies[data[0] % 5] : data[0];
  const std::size_t len = data[1] % (sizeof(sockaddr_storage) + 16);
  std::vector<std::uint8_t> raw(len);  // exactly len bytes: reading past them is a report
  for (std::size_t i = 0; i < len; ++i) raw[i] = i + 2 < size ? data[i + 2] : 0;
  if (len >= sizeof family) std::memcpy(raw.data(), &family, sizeof family);
  const Address a = Address::from_sockaddr(reinterpret_cast<const sockaddr*>(raw.data()),
                                           static_cast<socklen_t>(len));
  if (a.sockaddr_len() > sizeof(sockaddr_storage)) fail("length past the storage", a.to_string());
  (void)a.to_string();
  (void)a.host();
  (void)a.port();
  if (len < sizeof(sa_family_t)) {
    if (a.is_resolved()) fail("a sockaddr shorter than its family converted", a.to_string());
    return;
  }
  if (a.family() != family) fail("family changed", std::to_string(a.family()));
  check_converts_back(a);
  switch (family) {
    case AF_UNIX: {
      const std::string path = a.path();
      if (a.sockaddr_len() > sizeof(sockaddr_un)) fail("sockaddr_un too long", a.to_string());
      if (path.size() > sizeof(sockaddr_un::sun_path)) fail("path too long", a.to_string());
      if (a.is_abstract()) {
        if (!(Address::abstract(path.substr(1)) == a)) fail("abstract() differs", a.to_string());
        check_prints_and_parses_back(a);
      } else if (path.find('\0') != std::string::npos) {
        fail("a path holds a NUL", a.to_string());
      } else if (path.size() < sizeof(sockaddr_un::sun_path)) {
        if (!(Address::unix_path(path) == a)) fail("unix_path() differs", a.to_string());
        if (!path.empty() && (path.front() == '/' || path.front() == '.')) {
          check_prints_and_parses_back(a);
        }
      }
      break;
    }
    case AF_INET:
      check_prints_and_parses_back(a);
      break;
    case AF_INET6: {
      // to_string has no flowinfo: compare what it carries, and rebuild the rest.
      Address back;
      try {
        back = Address::parse(a.to_string());
      } catch (const std::invalid_argument& e) {
        fail("IPv6 to_string() does not parse back", a.to_string() + ": " + e.what());
      }
      if (back.host() != a.host() || back.port() != a.port() || back.scope_id() != a.scope_id()) {
        fail("IPv6 parse(to_string()) differs", a.to_string() + " -> " + back.to_string());
      }
      if (a.flowinfo() <= 0xFFFFF &&
          !(Address::inet6(a.host(), a.port(), a.flowinfo(), a.scope_id()) == a)) {
        fail("inet6() differs", a.to_string());
      }
      break;
    }
    default:
      break;
  }
}

void fuzz_factories(const std::uint8_t* data, std::size_t size) {
  if (size < 6) return;
  const int port = static_cast<int>(static_cast<std::int16_t>(data[0] | data[1] << 8)) *
                   (data[2] % 3);  // negative, in range, and above 65535
  std::uint32_t flowinfo = 0;
  std::memcpy(&flowinfo, data + 2, sizeof flowinfo);
  const std::string text(reinterpret_cast<const char*>(data + 6), size - 6);
  const bool has_nul = text.find('\0') != std::string::npos;
  const auto attempt = [&](const char* what, auto make) {
    try {
      const Address a = make();
      check_converts_back(a);
      (void)a.to_string();
      return true;
    } catch (const std::invalid_argument&) {
      return false;
    } catch (...) {
      fail(what, "threw something else than std::invalid_argument");
    }
  };
  if (attempt("Address(host, port)", [&] { return Address(text, port); }) && has_nul) {
    fail("Address(host, port) took a NUL", text);
  }
  if (attempt("inet", [&] { return Address::inet(text, port); }) && has_nul) {
    fail("inet took a NUL", text);
  }
  if (attempt("inet6", [&] { return Address::inet6(text, port, flowinfo, 0); }) &&
      (has_nul || flowinfo > 0xFFFFF)) {
    fail("inet6 took a NUL or a flowinfo above 20 bits", text);
  }
  const bool abstract_text = !text.empty() && text.front() == '\0';
  if (attempt("unix_path",
              [&] {
                const Address a = Address::unix_path(text);
                if (a.path() != text) fail("unix_path().path() differs", text);
                return a;
              }) &&
      has_nul && !abstract_text) {
    fail("unix_path took a NUL", text);
  }
  if (attempt("abstract", [&] {
        const Address a = Address::abstract(text);
        if (a.path() != std::string(1, '\0') + text) fail("abstract().path() differs", text);
        return a;
      }) != (text.size() <= sizeof(sockaddr_un::sun_path) - 1)) {
    fail("abstract() accepted or refused wrongly", std::to_string(text.size()));
  }
  // The numeric converters: inet_pton refuses a NUL; what it takes prints and parses back.
  for (const int family : {AF_INET, AF_INET6}) {
    try {
      const std::string packed = ss::inet_pton(family, text);
      if (has_nul) fail("inet_pton took a NUL", text);
      if (ss::inet_pton(family, ss::inet_ntop(family, packed)) != packed) {
        fail("inet_pton(inet_ntop()) differs", text);
      }
    } catch (const ss::socket_error&) {
    } catch (const std::invalid_argument&) {
      if (!has_nul) fail("inet_pton threw invalid_argument without a NUL", text);
    }
  }
  // getaddrinfo with numeric host and service only (nothing is looked up): a NUL in either is
  // refused; every result converts back to itself.
  const auto numeric = [&](std::string_view host, std::string_view service) {
    try {
      for (const ss::AddrInfo& ai :
           ss::getaddrinfo(host, service, 0, SOCK_STREAM, 0, AI_NUMERICHOST | AI_NUMERICSERV)) {
        if (has_nul) fail("getaddrinfo took a NUL", text);
        check_converts_back(ai.address);
      }
    } catch (const ss::socket_error&) {
    } catch (const std::invalid_argument&) {
      if (!has_nul) fail("getaddrinfo threw invalid_argument without a NUL", text);
    }
  };
  numeric(text, "80");
  numeric("127.0.0.1", text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  switch (data[0] % 3) {
    case 0:
      fuzz_parse(std::string(reinterpret_cast<const char*>(data + 1), size - 1));
      break;
    case 1:
      fuzz_sockaddr(data + 1, size - 1);
      break;
    default:
      fuzz_factories(data + 1, size - 1);
      break;
  }
  return 0;
}
