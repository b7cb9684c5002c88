// Echoes one message through a socketpair using the installed headers and library, and makes a
// TLS context (so the installed package must bring OpenSSL along).
#include <socketserver/socketserver.hpp>

#include <iostream>

int main() {
  // TLS links without extra lines (the package carries OpenSSL).
  const socketserver::SSLContext tls(socketserver::PROTOCOL_TLS_CLIENT);
  if (tls.verify_mode != socketserver::CERT_REQUIRED) return 1;
  auto [a, b] = socketserver::socketpair();
  a.sendall("installed ok");
  std::string got = b.recv(1024);
  std::cout << got << "\n";
  return got == "installed ok" ? 0 : 1;
}
