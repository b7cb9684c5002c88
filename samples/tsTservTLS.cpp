// tsTservTLS.cpp — Example 2-1, the TCP timestamp server (tsTserv.py), over TLS: Python's
// context.wrap_socket(conn, server_side=True) on each accepted connection, blocking sockets.
//
// Everything else is tsTserv: it waits for a client, then answers every message with
// "[<time>] <message>" until the client closes; one client at a time.
// Try it:  tsTservTLS            then, in another terminal:  tsTclntTLS --insecure
// (no --cert: the server makes a self-signed certificate at start and prints its fingerprint;
// the client's --insecure skips verifying it, and the client prints the fingerprint it got.)
// With real files:  tsTservTLS --cert server.pem --key server.key   and
//                   tsTclntTLS --cafile ca.pem
//
// What it does better than the Python: --host/--port/--help; Ctrl-C (or SIGTERM) ends it
// cleanly with exit status 0; a client that vanishes, is not a TLS client, or never finishes
// its handshake (10 s, or --timeout) gets one line on stderr and the server goes on.
#include <iostream>
#include <string>

#include "common.hpp"
#include "tls.hpp"

namespace ss = socketserver;

int main(int argc, char* argv[]) {
  const samples::Program program{
      .name = "tsTservTLS",
      .summary =
          "Example 2-1 over TLS: the TCP timestamp server with wrap_socket. Answers\n"
          "each message with \"[<ctime>] <message>\", one client at a time.",
      .default_host = "localhost",
      .server = true,
      .has_idle_timeout = true,
      .has_tls = true};
  const samples::Options opts = samples::parse_args(argc, argv, program);
  samples::StopSignals stop;  // before any socket: Ctrl-C must always find it (common.hpp)

  try {
    const std::string HOST = opts.host;    // HOST = ''  (the book: every interface)
    const int PORT = opts.port;            // PORT = 21567
    constexpr std::size_t BUFSIZE = 1024;  // BUFSIZ = 1024  (BUFSIZ is already a C macro)
    const ss::Address ADDR{HOST, PORT};    // ADDR = (HOST, PORT)
    // context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    // context.load_cert_chain('cert.pem', 'key.pem')   (or a certificate made now: tls.hpp)
    const auto context = samples::server_context(program, opts);

    ss::Socket tcpSerSock(AF_INET, SOCK_STREAM);  // tcpSerSock = socket(AF_INET, SOCK_STREAM)
    tcpSerSock.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);  // not in the book: see tsTserv.cpp
    tcpSerSock.bind(ADDR);                               // tcpSerSock.bind(ADDR)
    tcpSerSock.listen();                                 // tcpSerSock.listen(5)
    // Not the book's console (that is stdout): where we listen, useful with --port 0.
    std::cerr << "listening on " << tcpSerSock.getsockname() << std::endl;

    bool stopped = false;
    while (!stopped) {                                        // while True:
      std::cout << "waiting for connection..." << std::endl;  // print('waiting for connection...')
      if (!stop.wait_readable(tcpSerSock)) break;  // a client, or Ctrl-C (see tsTserv.cpp)
      try {
        auto [tcpCliSock, addr] = tcpSerSock.accept();  // tcpCliSock, addr = tcpSerSock.accept()
        std::cout << "...connected from: " << samples::py_repr(addr) << std::endl;

        // tlsCliSock = context.wrap_socket(tcpCliSock, server_side=True): the handshake runs
        // here. Not in the book: it may take 10 s at most (or --timeout), then the socket
        // blocks again.
        // suppress_ragged_eofs, Python's default: a client that closes without TLS's goodbye
        // (close_notify; Python's own SSLSocket.close() sends none) has simply left.
        tcpCliSock.settimeout(samples::handshake_timeout(opts));
        ss::SSLSocket tlsCliSock = context->wrap_socket(std::move(tcpCliSock), true, "", true,
                                                        /*suppress_ragged_eofs=*/true);
        tlsCliSock.settimeout(std::nullopt);

        while (true) {  // while True:
          // Wait for data (or Ctrl-C, or --timeout). TLS may already hold decrypted bytes that
          // the last recv did not take (pending): those need no waiting.
          const auto woken = tlsCliSock.pending() > 0
                                 ? samples::StopSignals::Woken::readable
                                 : stop.wait(tlsCliSock.socket(), opts.idle_timeout);
          if (woken == samples::StopSignals::Woken::timeout) {
            std::cerr << "tsTservTLS: " << samples::py_repr(addr) << " sent nothing for "
                      << opts.idle_timeout->count() << " s: disconnected" << std::endl;
            break;
          }
          if (woken == samples::StopSignals::Woken::signal) {
            stopped = true;
            break;
          }
          std::string data = tlsCliSock.recv(BUFSIZE);  // data = tlsCliSock.recv(BUFSIZ)
          if (data.empty()) break;                      // if not data: break
          // tlsCliSock.send('[%s] %s' % (ctime(), data))
          tlsCliSock.sendall("[" + samples::ctime_now() + "] " + data);
        }
        tlsCliSock.close();  // tlsCliSock.close()  (sends close_notify: TLS's goodbye)
      } catch (const ss::socket_error& e) {
        // This client's problem, not the server's: it reset the connection, is not a TLS
        // client ("wrong version number"), or took too long for its handshake.
        std::cerr << "tsTservTLS: " << e.what() << std::endl;
      }
    }
    tcpSerSock.close();  // tcpSerSock.close()
    std::cerr << "tsTservTLS: " << stop.name() << " received, server closed" << std::endl;
    return 0;
  } catch (const std::exception& e) {
    // e.g. "bind to 127.0.0.1:21567: Address already in use", or a --cert that is not there
    std::cerr << "tsTservTLS: " << e.what() << std::endl;
    return 1;
  }
}
