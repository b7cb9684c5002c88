// Echoes one message through a socketpair using the installed headers and library.
#include <socketserver/socketserver.hpp>

#include <iostream>

int main() {
  auto [a, b] = socketserver::socketpair();
  a.sendall("installed ok");
  std::string got = b.recv(1024);
  std::cout << got << "\n";
  return got == "installed ok" ? 0 : 1;
}
