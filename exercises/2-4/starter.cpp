// Exercise 2-4 — starter. The book's TCP timestamp client (samples/tsTclnt.cpp) with the
// server's name and port written into the program. Make it take them from the command line,
// and make it speak UDP too (the book's tsUclnt) — see README.md.
//
//   client [--host HOST] [--port PORT] [--udp]
//
// Grade it:  make exercise EX=2-4
#include <iostream>
#include <string>

#include "common.hpp"  // samples::parse_args, samples::input (samples/common.hpp)

namespace ss = socketserver;

int main(int /*argc*/, char* /*argv*/[]) {
  // TODO 1: --host HOST and --port PORT, each optional: "localhost" and 21567 when missing.
  //         (samples::parse_args() reads exactly these; exercise::Args from "exercise.hpp"
  //         can take a --udp flag out of the arguments before it.)
  const std::string HOST = "localhost";
  const int PORT = 21567;
  constexpr std::size_t BUFSIZE = 1024;

  try {
    // TODO 2: with --udp, talk to the UDP timestamp server instead: a SOCK_DGRAM socket,
    //         sendto() and recvfrom() (samples/tsUclnt.cpp), with a timeout so that a lost
    //         datagram cannot leave the client waiting forever.
    ss::Socket tcpCliSock(AF_INET, SOCK_STREAM);
    tcpCliSock.connect({HOST, PORT});
    while (true) {
      std::string data = samples::input("> ");
      if (data.empty()) break;
      tcpCliSock.sendall(data);
      data = tcpCliSock.recv(BUFSIZE);
      if (data.empty()) break;
      std::cout << data << std::endl;
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "client: " << e.what() << std::endl;
    return 1;
  }
}
