// tsTclntSS.cpp — Example 2-9, the client for the SocketServer timestamp server (tsTclntSS.py).
//
// tsTservSS answers one line per connection, so this client makes a NEW connection for every
// line: it connects, then shows the prompt, sends what you type with "\r\n" (the server reads
// a line), prints the reply without the line end, and closes. An empty line, or the end of
// input (Ctrl-D), ends it.
//
// With --tls each connection is TLS (for tsTservSS --tls): --cafile or --insecure as tsTclntTLS.
//
// What it does better than the Python: --host/--port/--help; the end of input ends it quietly
// (exit status 0) instead of an EOFError traceback; a server that is not there gives one line
// on stderr ("connect to 127.0.0.1:21567: Connection refused") and exit status 1.
#include <iostream>
#include <optional>
#include <string>

#include "common.hpp"
#include "tls.hpp"

namespace ss = socketserver;

// The book's two calls on a connection (a Socket, or with --tls an SSLSocket).
template <class Sock>
std::string send_line(Sock& sock, const std::string& data, std::size_t bufsize) {
  sock.sendall(data + "\r\n");  // tcpCliSock.send('%s\r\n' % data)
  return sock.recv(bufsize);    // data = tcpCliSock.recv(BUFSIZ)
}

int main(int argc, char* argv[]) {
  const samples::Program program{
      .name = "tsTclntSS",
      .summary =
          "Example 2-9: the client for tsTservSS. For each line typed it connects,\n"
          "sends the line with \"\\r\\n\", prints the answer and closes; an empty line\n"
          "or end of input ends it.",
      .default_host = "localhost",
      .has_tls = true,
      .tls_flag = true};
  const samples::Options opts = samples::parse_args(argc, argv, program);

  try {
    const std::string HOST = opts.host;    // HOST = 'localhost'
    const int PORT = opts.port;            // PORT = 21567
    constexpr std::size_t BUFSIZE = 1024;  // BUFSIZ = 1024  (BUFSIZ is already a C macro)
    const ss::Address ADDR{HOST, PORT};    // ADDR = (HOST, PORT)
    // Not in the book: --tls (context = ssl.create_default_context(), tls.hpp).
    std::optional<ss::SSLContext> context;
    if (opts.tls) context = samples::client_context(program, opts);

    for (bool first = true;; first = false) {       // while True:
      ss::Socket tcpCliSock(AF_INET, SOCK_STREAM);  // tcpCliSock = socket(AF_INET, SOCK_STREAM)
      tcpCliSock.connect(ADDR);                     // tcpCliSock.connect(ADDR)
      std::optional<ss::SSLSocket> tlsCliSock;      // --tls: context.wrap_socket(tcpCliSock, ...)
      if (context) {
        tcpCliSock.settimeout(samples::kHandshakeTimeout);  // the handshake: 10 s at most
        tlsCliSock = context->wrap_socket(std::move(tcpCliSock), false, HOST);
        tlsCliSock->settimeout(std::nullopt);
        if (first) samples::print_peer(program, *tlsCliSock);
      }
      std::string data = samples::input("> ");  // data = input('> ')
      if (data.empty()) break;  // if not data: break  (the destructor closes the socket)
      data =
          tlsCliSock ? send_line(*tlsCliSock, data, BUFSIZE) : send_line(tcpCliSock, data, BUFSIZE);
      if (data.empty()) break;                                // if not data: break
      std::cout << samples::strip(data) << std::endl;         // print(data.strip())
      tlsCliSock ? tlsCliSock->close() : tcpCliSock.close();  // tcpCliSock.close()
    }
    return 0;
  } catch (const std::exception& e) {
    // e.g. "connect to 127.0.0.1:21567: Connection refused" — Python prints a traceback.
    samples::explain(program, e);
    return 1;
  }
}
