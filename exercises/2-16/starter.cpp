// Exercise 2-16 — starter. The SocketServer timestamp server (samples/tsTservSS.cpp) answers
// ONE line per connection and closes it, so the book had to change its client to connect once
// per line. Keep the connection for all of a client's lines instead (part a), and then serve
// several such clients at the same time (part b, with exercise 2-15) — see README.md.
//
//   server [--host HOST] [--port PORT]
//
// Grade it:  make exercise EX=2-16
#include <iostream>
#include <string>

#include "common.hpp"  // samples::parse_args, ctime_now, py_repr, print_line

namespace ss = socketserver;

struct MyRequestHandler : ss::StreamRequestHandler {
  using StreamRequestHandler::StreamRequestHandler;

  void handle() override {
    samples::print_line("...connected from: " + samples::py_repr(client_address));
    // TODO (a): answer every line the client sends, until it closes the connection
    //           (Python: `for line in self.rfile:`), not just the first one.
    const std::string line = rfile.readline();
    if (line.empty()) return;
    wfile.write("[" + samples::ctime_now() + "] " + line);
  }
};

int main(int argc, char* argv[]) {
  const samples::Options opts = samples::parse_args(
      argc, argv,
      {.name = "server",
       .summary = "Exercise 2-16: the timestamp server with one connection per client.",
       .default_host = "localhost",
       .server = true});
  try {
    // TODO (b): a connection now lasts as long as its client: serve clients at the same time
    //           (a mix-in, exercise 2-15).
    ss::TCPServer tcpServ({opts.host, opts.port}, ss::handler<MyRequestHandler>());
    ss::StopOnSignals stop(tcpServ);
    std::cerr << "listening on " << tcpServ.server_address << std::endl;
    samples::print_line("waiting for connection...");
    tcpServ.serve_forever();
    tcpServ.server_close();
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "server: " << e.what() << std::endl;
    return 1;
  }
}
