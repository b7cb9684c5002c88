// tsTclntKeep.cpp — Exercise 2-16: the client for tsTservKeep, one connection for everything.
//
// Unlike tsTclntSS it connects once; then, for each line typed, it sends the line with
// "\r\n", reads the one-line reply and prints it without the line end. An empty line, the end
// of input (Ctrl-D), or the server closing the connection ends it (exit status 0).
//
// The reply is read with rfile.readline() over makefile(), not recv(1024): on a connection
// that lives on, a reply must be read whole — no more, no less — or the next one would
// start in the middle of it.
#include <iostream>
#include <string>

#include "common.hpp"

namespace ss = socketserver;

int main(int argc, char* argv[]) {
  const samples::Options opts = samples::parse_args(
      argc, argv,
      {.name = "tsTclntKeep",
       .summary = "Exercise 2-16: the client for tsTservKeep. Connects once, then sends each\n"
                  "line typed (with \"\\r\\n\") and prints the answer; an empty line, end of\n"
                  "input or the server closing the connection ends it.",
       .default_host = "localhost"});

  try {
    const ss::Address ADDR{opts.host, opts.port};  // ADDR = (HOST, PORT)

    ss::Socket tcpCliSock(AF_INET, SOCK_STREAM);  // tcpCliSock = socket(AF_INET, SOCK_STREAM)
    tcpCliSock.connect(ADDR);                     // tcpCliSock.connect(ADDR)
    auto rfile = tcpCliSock.makefile("rb");       // rfile = tcpCliSock.makefile('rb')

    while (true) {                                     // while True:
      std::string data = samples::input("> ");         //     data = input('> ')
      if (data.empty()) break;                         //     if not data: break
      tcpCliSock.sendall(data + "\r\n");               //     tcpCliSock.sendall('%s\r\n' % data)
      data = rfile.readline();                         //     data = rfile.readline()
      if (data.empty()) break;                         //     if not data: break  (server closed)
      std::cout << samples::strip(data) << std::endl;  // print(data.strip())
    }
    tcpCliSock.close();  // tcpCliSock.close()
    return 0;
  } catch (const std::exception& e) {
    // e.g. "connect to 127.0.0.1:21567: Connection refused"
    std::cerr << "tsTclntKeep: " << e.what() << std::endl;
    return 1;
  }
}
