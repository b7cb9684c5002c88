// tsTclntV6.cpp — the IPv6 TCP timestamp client (tsTclntV6.py): tsTclnt.cpp with one change,
// the address family AF_INET6 (and so the default host ::1, IPv6's localhost).
//
// It connects to tsTservV6, then sends each line you type and prints the server's answer.
// An empty line, or the end of input (Ctrl-D), ends it.
//
// What it does better than the Python: --host/--port/--help; the end of input ends it quietly
// (exit status 0) instead of an EOFError traceback; a server that is not there gives one line
// on stderr ("connect to [::1]:21567: Connection refused") and exit status 1.
#include <iostream>
#include <string>

#include "common.hpp"

namespace ss = socketserver;

int main(int argc, char* argv[]) {
  const samples::Options opts = samples::parse_args(
      argc, argv,
      {.name = "tsTclntV6",
       .summary = "The IPv6 TCP timestamp client (Example 2-2 over AF_INET6). Sends each line\n"
                  "typed to the server and prints its answer; an empty line or end of input\n"
                  "ends it.",
       .default_host = "::1"});

  try {
    const std::string HOST = opts.host;    // HOST = '::1'
    const int PORT = opts.port;            // PORT = 21567
    constexpr std::size_t BUFSIZE = 1024;  // BUFSIZ = 1024  (BUFSIZ is already a C macro)
    const ss::Address ADDR{HOST, PORT};    // ADDR = (HOST, PORT)

    ss::Socket tcpCliSock(AF_INET6, SOCK_STREAM);  // tcpCliSock = socket(AF_INET6, SOCK_STREAM)
    tcpCliSock.connect(ADDR);                      // tcpCliSock.connect(ADDR)

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
    // e.g. "connect to [::1]:21567: Connection refused" — Python prints a traceback.
    std::cerr << "tsTclntV6: " << e.what() << std::endl;
    return 1;
  }
}
