// tsTclntTLS.cpp — Example 2-2, the TCP timestamp client (tsTclnt.py), over TLS: Python's
// context.wrap_socket(sock, server_hostname=HOST) after connect, blocking sockets.
//
// Everything else is tsTclnt: it sends each line you type and prints the server's answer; an
// empty line, or the end of input (Ctrl-D), ends it.
// Try it against tsTservTLS:  tsTclntTLS --insecure      (the server's certificate made at its
//   start: compare the fingerprint this prints with the server's)
//   or:                        tsTclntTLS --cafile ca.pem (a certificate that verifies)
// Without either it trusts the system's CA store, as a browser does: a self-signed certificate
// fails with "certificate verify failed: self-signed certificate", exit status 1.
//
// What it does better than the Python: --host/--port/--help; the end of input ends it quietly;
// a server that is not there, or not TLS, or whose certificate does not verify, gives one line
// on stderr (and for the certificate, what to do) and exit status 1.
#include <iostream>
#include <string>

#include "common.hpp"
#include "tls.hpp"

namespace ss = socketserver;

int main(int argc, char* argv[]) {
  const samples::Program program{
      .name = "tsTclntTLS",
      .summary =
          "Example 2-2 over TLS: the TCP timestamp client with wrap_socket. Sends each\n"
          "line typed to the server and prints its answer; an empty line or end of\n"
          "input ends it.",
      .default_host = "localhost",
      .has_tls = true};
  const samples::Options opts = samples::parse_args(argc, argv, program);

  try {
    const std::string HOST = opts.host;    // HOST = 'localhost'
    const int PORT = opts.port;            // PORT = 21567
    constexpr std::size_t BUFSIZE = 1024;  // BUFSIZ = 1024  (BUFSIZ is already a C macro)
    const ss::Address ADDR{HOST, PORT};    // ADDR = (HOST, PORT)
    // context = ssl.create_default_context()   (--cafile, --insecure: tls.hpp)
    const ss::SSLContext context = samples::client_context(program, opts);

    ss::Socket tcpCliSock(AF_INET, SOCK_STREAM);  // tcpCliSock = socket(AF_INET, SOCK_STREAM)
    tcpCliSock.connect(ADDR);                     // tcpCliSock.connect(ADDR)
    // tlsCliSock = context.wrap_socket(tcpCliSock, server_hostname=HOST): the handshake, which
    // checks the server's certificate and that it is for HOST. Not in the book: 10 s at most.
    tcpCliSock.settimeout(samples::kHandshakeTimeout);
    ss::SSLSocket tlsCliSock = context.wrap_socket(std::move(tcpCliSock), false, HOST);
    tlsCliSock.settimeout(std::nullopt);
    samples::print_peer(program, tlsCliSock);  // on stderr: what the server showed

    while (true) {                              // while True:
      std::string data = samples::input("> ");  //     data = input('> ')
      if (data.empty()) break;                  //     if not data: break
      tlsCliSock.sendall(data);                 //     tlsCliSock.send(data)
      data = tlsCliSock.recv(BUFSIZE);          //     data = tlsCliSock.recv(BUFSIZ)
      if (data.empty()) break;                  //     if not data: break  (server closed)
      std::cout << data << std::endl;           //     print(data.decode('utf-8'))
    }
    tlsCliSock.close();  // tlsCliSock.close()  (sends close_notify: TLS's goodbye)
    return 0;
  } catch (const std::exception& e) {
    // e.g. "do_handshake with 127.0.0.1:21567: [SSL routines] certificate verify failed:
    // self-signed certificate" — Python prints a traceback.
    samples::explain(program, e);
    return 1;
  }
}
