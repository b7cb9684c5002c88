// tsTservSS.cpp — Example 2-8, the SocketServer timestamp server (tsTservSS.py), line for line.
//
// The server is the library's TCPServer; all this file writes is the request handler. Each
// connection carries ONE line: the handler reads it (with its terminator, "\r\n" from the
// book's client), answers "[<time>] <line>", and returns; the server then closes the
// connection. One client at a time, as in the book.
// Try it:  tsTservSS            then, in another terminal:  tsTclntSS
//
// With --tls it serves the same handler over TLS (one line: ServerOptions::ssl_context; the
// handshake runs before handle(), rfile and wfile read and write plaintext). Try it with
// tsTclntSS --tls --insecure (no --cert: a self-signed certificate made at start, see tls.hpp).
//
// What it does better than the Python: --host/--port/--help; Ctrl-C (or SIGTERM) ends it with
// exit status 0, also while a client is connected and silent; a client that leaves without a
// word gets no reply written into the void.
#include <iostream>
#include <string>

#include "common.hpp"
#include "tls.hpp"

namespace ss = socketserver;

// class MyRequestHandler(SRH):
struct MyRequestHandler : ss::StreamRequestHandler {
  using StreamRequestHandler::StreamRequestHandler;  // (request, client_address, server)

  void handle() override {  // def handle(self):
    // print('...connected from:', self.client_address)
    // (behind HAProxy, --proxy-protocol: the real client, "via" the balancer)
    std::cout << "...connected from: " << samples::peer_repr(request, client_address) << std::endl;
    // self.rfile.readline() — Ctrl-C ends the wait: StopOnSignals closes the reading side of
    // the request being served, so readline() returns what arrived so far ("" if nothing).
    const std::string line = rfile.readline();
    if (line.empty()) return;  // the client left (or Ctrl-C): nobody to answer
    // self.wfile.write('[%s] %s' % (ctime(), self.rfile.readline()))
    wfile.write("[" + samples::ctime_now() + "] " + line);
  }
};

int main(int argc, char* argv[]) {
  const samples::Program program{
      .name = "tsTservSS",
      .summary =
          "Example 2-8: the SocketServer timestamp server (TCPServer and a\n"
          "StreamRequestHandler). Reads one line per connection, answers\n"
          "\"[<ctime>] <line>\" and closes the connection; one client at a time.",
      .default_host = "localhost",
      .server = true,
      .has_idle_timeout = true,
      .has_proxy = true,
      .has_tls = true,
      .tls_flag = true,
      .has_systemd = true};
  const samples::Options opts = samples::parse_args(argc, argv, program);

  try {
    const std::string HOST = opts.host;  // HOST = ''  (the book: every interface)
    const int PORT = opts.port;          // PORT = 21567
    const ss::Address ADDR{HOST, PORT};  // ADDR = (HOST, PORT)

    // tcpServ = TCP(ADDR, MyRequestHandler) — binds and listens, as Python's constructor does
    // Not in the book: --timeout, a client quiet that long is disconnected; --tls, TLS;
    // --proxy-protocol, behind HAProxy; --systemd, the socket systemd bound instead of ADDR.
    ss::TCPServer tcpServ(
        ADDR, ss::handler<MyRequestHandler>(),
        {.idle_timeout = opts.idle_timeout,
         .ssl_context = opts.tls ? samples::server_context(program, opts) : nullptr,
         .proxy_protocol = opts.proxy_protocol,
         .trusted_proxies = opts.trusted_proxies,
         .listen_fd = opts.listen_fd});
    // Not in the book: Ctrl-C and SIGTERM make serve_forever return (instead of killing the
    // process), so the server closes cleanly and exits 0. Set up before anything is printed.
    ss::StopOnSignals stop(tcpServ);
    // Not the book's console (that is stdout): where we listen, useful with --port 0.
    std::cerr << "listening on " << tcpServ.server_address << std::endl;

    std::cout << "waiting for connection..." << std::endl;  // print('waiting for connection...')
    tcpServ.serve_forever();                                // tcpServ.serve_forever()
    tcpServ.server_close();
    std::cerr << "tsTservSS: " << samples::stop_signal_name() << " received, server closed"
              << std::endl;
    return 0;
  } catch (const std::exception& e) {
    // e.g. "bind to 127.0.0.1:21567: Address already in use"
    std::cerr << "tsTservSS: " << e.what() << std::endl;
    return 1;
  }
}
