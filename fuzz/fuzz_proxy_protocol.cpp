// fuzz_proxy_protocol.cpp — parse_proxy_header (proxy_protocol.hpp) over arbitrary bytes: the
// first bytes a peer sends to a server that expects a PROXY header. Checked besides memory
// safety: a finished header fits in the input and parses the same from exactly its own bytes
// (nothing after it is read); an address it names is IPv4, IPv6 or Unix; an invalid input has
// a one-line reason; and no prefix of a finished header is invalid (the parser never rejects
// a header because it arrived in pieces).
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "socketserver/proxy_protocol.hpp"

namespace ss = socketserver;
using Status = ss::ProxyParse::Status;

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_proxy_protocol: %s\n", what);
  std::abort();
}

void check_address(const std::optional<ss::Address>& a) {
  if (!a) return;
  const int family = a->family();
  if (family != AF_INET && family != AF_INET6 && family != AF_UNIX) fail("unexpected family");
  (void)a->to_string();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // A heap copy of exactly `size` bytes: a read past the end is an ASan report.
  const std::string input(reinterpret_cast<const char*>(data), size);
  const std::string_view bytes(input);
  const std::size_t limit = 4096;
  const ss::ProxyParse p = ss::parse_proxy_header(bytes, limit);
  switch (p.status) {
    case Status::invalid:
      if (p.error.empty() || p.error.find('\n') != std::string::npos) fail("bad error text");
      break;
    case Status::incomplete:
      if (size >= limit + 16) fail("incomplete past every limit");
      break;
    case Status::done: {
      const ss::ProxyHeader& h = p.header;
      if (h.length == 0 || h.length > size) fail("length outside the input");
      if (h.version != 1 && h.version != 2) fail("unknown version");
      if (h.version == 1 && h.length > ss::proxy_v1_max_length) fail("v1 header too long");
      check_address(h.source);
      check_address(h.destination);
      if (h.source.has_value() != h.destination.has_value()) fail("one address of two");
      const ss::ProxyParse again = ss::parse_proxy_header(bytes.substr(0, h.length), limit);
      if (again.status != Status::done || again.header.length != h.length) {
        fail("the header's own bytes parse differently");
      }
      for (std::size_t n = 0; n < h.length; n += 1 + n / 8) {
        if (ss::parse_proxy_header(bytes.substr(0, n), limit).status != Status::incomplete) {
          fail("a prefix of a header is not incomplete");
        }
      }
      break;
    }
  }
  return 0;
}
