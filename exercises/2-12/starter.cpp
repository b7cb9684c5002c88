// Exercise 2-12 — starter. The sleep server: a client asks "sleep N", the server sleeps N
// seconds on its behalf, then answers "ok ..." — see README.md.
//
//   server [--host HOST] [--port PORT]
//
// Grade it:  make exercise EX=2-12
#include <iostream>
#include <string>

#include "common.hpp"  // samples::parse_args, strip (samples/common.hpp)

namespace ss = socketserver;

// The answer to one request line (without its "\n").
std::string answer(const std::string& request) {
  // TODO 1: "sleep N": N seconds, a number such as 2 or 0.5, from 0 to 60. Sleep that long
  //         (std::this_thread::sleep_for), then answer a line starting "ok" ("ok slept 2").
  // TODO 2: anything else — not "sleep", N not a number, N below 0 or above 60 — answer at
  //         once with a line starting "error" (std::from_chars reads a double strictly).
  return "error: not implemented: " + request;
}

struct SleepHandler : ss::StreamRequestHandler {
  using StreamRequestHandler::StreamRequestHandler;

  void handle() override {
    for (const std::string& line : rfile) wfile.write(answer(samples::strip(line)) + "\n");
  }
};

int main(int argc, char* argv[]) {
  const samples::Options opts = samples::parse_args(
      argc, argv,
      {.name = "server",
       .summary = "Exercise 2-12: the sleep server. \"sleep N\" is answered \"ok\" N s later.",
       .default_host = "localhost",
       .server = true});
  try {
    // TODO 3: while one client sleeps, the others must be served: pick the server class
    //         that gives every client its own thread (tutorial: "Threads: exercise 2-15").
    ss::TCPServer server({opts.host, opts.port}, ss::handler<SleepHandler>());
    ss::StopOnSignals stop(server);
    std::cerr << "listening on " << server.server_address << std::endl;
    server.serve_forever();
    server.server_close();
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "server: " << e.what() << std::endl;
    return 1;
  }
}
