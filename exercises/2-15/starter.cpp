// Exercise 2-15 — starter. The SocketServer timestamp server (samples/tsTservSS.cpp): one line
// per connection, answered "[<time>] <line>". It serves one client at a time: while a client
// keeps its connection open without a word, everyone else waits. Make it serve clients at
// the same time — see README.md.
//
//   server [--host HOST] [--port PORT]
//
// Grade it:  make exercise EX=2-15
#include <iostream>
#include <string>

#include "common.hpp"  // samples::parse_args, ctime_now, py_repr, print_line

namespace ss = socketserver;

struct MyRequestHandler : ss::StreamRequestHandler {
  using StreamRequestHandler::StreamRequestHandler;

  void handle() override {
    // Shows who is served: with clients served at once, these lines interleave.
    // (samples::print_line keeps the lines of several threads whole.)
    samples::print_line("...connected from: " + samples::py_repr(client_address));
    const std::string line = rfile.readline();
    if (line.empty()) return;
    wfile.write("[" + samples::ctime_now() + "] " + line);
  }
};

int main(int argc, char* argv[]) {
  const samples::Options opts = samples::parse_args(
      argc, argv,
      {.name = "server",
       .summary = "Exercise 2-15: the SocketServer timestamp server, serving clients at once.",
       .default_host = "localhost",
       .server = true});
  try {
    // TODO: a server class with a mix-in, so that each client is served by its own thread
    //       (ThreadingMixIn) or process (ForkingMixIn), as Python's
    //       class ThreadingTCPServer(ThreadingMixIn, TCPServer). Think about what Ctrl-C
    //       should do to the clients still connected (close_deadline).
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
