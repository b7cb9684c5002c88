// Exercise 2-5 — starter. A server that answers commands: `date`, `os`, `ls` and `ls DIR`;
// anything else gets the timestamp server's answer "[<time>] <line>" — see README.md.
//
//   server [--host HOST] [--port PORT]
//
// Each connection may carry many commands, one per line; each answer is one line.
// Grade it:  make exercise EX=2-5
#include <iostream>
#include <string>

#include "common.hpp"  // samples::parse_args, ctime_now, strip (samples/common.hpp)

namespace ss = socketserver;

// The answer to one command line (without its "\n").
std::string answer(const std::string& command) {
  // TODO 1: "date" -> the server's current time, as ctime() prints it (samples::ctime_now()).
  // TODO 2: "os"   -> the name of the operating system family, as Python's os.name: "posix".
  // TODO 3: "ls"   -> the names in the server's current directory, sorted, separated by one
  //         space (std::filesystem::directory_iterator); "ls DIR" -> the names in DIR; a
  //         directory that cannot be listed -> a line starting "error".
  return "[" + samples::ctime_now() + "] " + command;
}

struct CommandHandler : ss::StreamRequestHandler {
  using StreamRequestHandler::StreamRequestHandler;

  void handle() override {
    for (const std::string& line : rfile) {  // each line the client sends, until it closes
      wfile.write(answer(samples::strip(line)) + "\n");
    }
  }
};

int main(int argc, char* argv[]) {
  const samples::Options opts =
      samples::parse_args(argc, argv,
                          {.name = "server",
                           .summary = "Exercise 2-5: answers date, os, ls and ls DIR.",
                           .default_host = "localhost",
                           .server = true});
  try {
    ss::TCPServer server({opts.host, opts.port}, ss::handler<CommandHandler>());
    ss::StopOnSignals stop(server);  // Ctrl-C ends serve_forever
    std::cerr << "listening on " << server.server_address << std::endl;
    server.serve_forever();
    server.server_close();
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "server: " << e.what() << std::endl;
    return 1;
  }
}
