// tsTclnt.cpp — Example 2-2, the TCP timestamp client (tsTclnt.py), line for line.
//
// It connects to tsTserv, then sends each line you type and prints the server's answer.
// An empty line, or the end of input (Ctrl-D), ends it.
//
// What it does better than the Python: --host/--port/--help; the end of input ends it quietly
// (exit status 0) instead of an EOFError traceback; a server that is not there gives one line
// on stderr ("connect to 127.0.0.1:21567: Connection refused") and exit status 1.
#include <iostream>
#include <string>

#include "common.hpp"

namespace ss = socketserver;

int main(int argc, char* argv[]) {
  const samples::Options opts = samples::parse_args(
      argc, argv,
      {.name = "tsTclnt",
       .summary = "Example 2-2: the TCP timestamp client. Sends each line typed to the\n"
                  "server and prints its answer; an empty line or end of input ends it.",
       .default_host = "localhost"});

  try {
    const std::string HOST = opts.host;    // HOST = 'localhost'
    const int PORT = opts.port;            // PORT = 21567
    constexpr std::size_t BUFSIZE = 1024;  // BUFSIZ = 1024  (BUFSIZ is already a C macro)
    const ss::Address ADDR{HOST, PORT};    // ADDR = (HOST, PORT)

    ss::Socket tcpCliSock(AF_INET, SOCK_STREAM);  // tcpCliSock = socket(AF_INET, SOCK_STREAM)
    tcpCliSock.connect(ADDR);                     // tcpCliSock.connect(ADDR)

    while (true) {                              // while True:
      std::string data = samples::input("> ");  //     data = input('> ')
      if (data.empty()) break;                  //     if not data: break
      tcpCliSock.sendall(data);  // tcpCliSock.send(data) — sendall: send() may send only part
      data = tcpCliSock.recv(BUFSIZE);  //     data = tcpCliSock.recv(BUFSIZ)
      if (data.empty()) break;          //     if not data: break  (server closed)
      std::cout << data << std::endl;   //     print(data.decode('utf-8'))
    }
    tcpCliSock.close();  // tcpCliSock.close()
    return 0;
  } catch (const std::exception& e) {
    // e.g. "connect to 127.0.0.1:21567: Connection refused" — Python prints a traceback.
    std::cerr << "tsTclnt: " << e.what() << std::endl;
    return 1;
  }
}
