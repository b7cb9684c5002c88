// tsTclntSS.cpp — Example 2-9, the client for the SocketServer timestamp server (tsTclntSS.py).
//
// tsTservSS answers one line per connection, so this client makes a NEW connection for every
// line: it connects, then shows the prompt, sends what you type with "\r\n" (the server reads
// a line), prints the reply without the line end, and closes. An empty line, or the end of
// input (Ctrl-D), ends it.
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
      {.name = "tsTclntSS",
       .summary = "Example 2-9: the client for tsTservSS. For each line typed it connects,\n"
                  "sends the line with \"\\r\\n\", prints the answer and closes; an empty line\n"
                  "or end of input ends it.",
       .default_host = "localhost"});

  try {
    const std::string HOST = opts.host;    // HOST = 'localhost'
    const int PORT = opts.port;            // PORT = 21567
    constexpr std::size_t BUFSIZE = 1024;  // BUFSIZ = 1024  (BUFSIZ is already a C macro)
    const ss::Address ADDR{HOST, PORT};    // ADDR = (HOST, PORT)

    while (true) {                                  // while True:
      ss::Socket tcpCliSock(AF_INET, SOCK_STREAM);  // tcpCliSock = socket(AF_INET, SOCK_STREAM)
      tcpCliSock.connect(ADDR);                     // tcpCliSock.connect(ADDR)
      std::string data = samples::input("> ");      // data = input('> ')
      if (data.empty()) break;            // if not data: break  (the destructor closes the socket)
      tcpCliSock.sendall(data + "\r\n");  // tcpCliSock.send('%s\r\n' % data)
      data = tcpCliSock.recv(BUFSIZE);    // data = tcpCliSock.recv(BUFSIZ)
      if (data.empty()) break;            // if not data: break
      std::cout << samples::strip(data) << std::endl;  // print(data.strip())
      tcpCliSock.close();                              // tcpCliSock.close()
    }
    return 0;
  } catch (const std::exception& e) {
    // e.g. "connect to 127.0.0.1:21567: Connection refused" — Python prints a traceback.
    std::cerr << "tsTclntSS: " << e.what() << std::endl;
    return 1;
  }
}
