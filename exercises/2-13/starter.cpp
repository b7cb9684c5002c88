// Exercise 2-13 — starter. A name server: servers register their name, host and port with it;
// clients look a name up to learn where to connect; and the name server pings the servers it
// knows, delisting those that stop answering — see README.md.
//
//   nameserver [--host HOST] [--port PORT]
//
// Grade it:  make exercise EX=2-13
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>

#include "common.hpp"  // samples::parse_args, strip (samples/common.hpp)

namespace ss = socketserver;

struct Entry {
  std::string host;
  int port = 0;
  std::string description;
  int failures = 0;  // pings failed in a row
};

// The names known. The handlers run on threads of their own: take `mutex` to use `names`.
std::mutex mutex;
std::map<std::string, Entry> names;

// The answer to one request line.
std::string answer(const std::string& request) {
  std::istringstream words(request);
  std::string command;
  words >> command;
  // TODO 1: "register NAME HOST PORT [DESCRIPTION...]": remember (or replace) NAME -> its
  //         host, port and description; answer "ok". A PORT that is not a number from 1 to
  //         65535, or a missing word: answer a line starting "error".
  // TODO 2: "lookup NAME": answer "found HOST PORT", or "notfound".
  // Anything else: a line starting "error".
  return "error: not implemented: " + command;
}

struct NameHandler : ss::StreamRequestHandler {
  using StreamRequestHandler::StreamRequestHandler;
  void handle() override {
    for (const std::string& line : rfile) wfile.write(answer(samples::strip(line)) + "\n");
  }
};

// TODO 3: every second, ping each registered server: try to connect to its host and port
//         (ss::create_connection with a timeout of one second, then close). A server that
//         fails three pings in a row is delisted. Run this loop on a thread of its own
//         (std::jthread), next to serve_forever.

int main(int argc, char* argv[]) {
  const samples::Options opts = samples::parse_args(
      argc, argv,
      {.name = "nameserver",
       .summary = "Exercise 2-13: a name server (register NAME HOST PORT, lookup NAME).",
       .default_host = "localhost",
       .server = true});
  try {
    ss::ThreadingTCPServer server({opts.host, opts.port}, ss::handler<NameHandler>());
    server.close_deadline = std::chrono::seconds(1);
    ss::StopOnSignals stop(server);
    std::cerr << "listening on " << server.server_address << std::endl;
    server.serve_forever();
    server.server_close();
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "nameserver: " << e.what() << std::endl;
    return 1;
  }
}
