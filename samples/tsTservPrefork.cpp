// tsTservPrefork.cpp — the timestamp server of Example 2-8 (tsTservSS) on N worker processes.
//
// Not in the book: when one process is not enough, a supervisor forks --workers processes that
// all serve the same port, each a thread pool (ThreadPoolTCPServer) running the book's handler.
// The supervisor replaces a worker that dies, stops them all cleanly on Ctrl-C or SIGTERM
// (requests in flight are finished), and on SIGHUP restarts them one by one without refusing
// or dropping a connection (a new worker is serving before the old one stops):
//   tsTservPrefork --workers 4 &      then: tsTclntSS;  kill -HUP %1;  tsTclntSS;  kill %1
// With --reactor each worker is a reactor instead (one thread, every connection at once).
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "common.hpp"

namespace ss = socketserver;

// The handler of tsTservSS: one line per connection, answered with the time.
struct MyRequestHandler : ss::StreamRequestHandler {
  using StreamRequestHandler::StreamRequestHandler;

  void handle() override {
    const std::string line = rfile.readline();
    if (line.empty()) return;  // the client left without a word
    wfile.write("[" + samples::ctime_now() + "] " + line);
  }
};

// The same answer from a reactor protocol (--reactor): one line, answered, then the connection
// is closed. The line keeps its "\r" (the book's client ends lines with "\r\n"), as readline()
// keeps the whole terminator above.
struct TimestampLine : ss::LineReceiver {
  TimestampLine() { delimiter = "\n"; }
  void line_received(std::string_view line) override {
    transport().write("[" + samples::ctime_now() + "] " + std::string(line) + "\n");
    transport().lose_connection();  // after what is written has gone
  }
};

namespace {

const samples::Program kProgram{
    .name = "tsTservPrefork",
    .summary =
        "The SocketServer timestamp server (Example 2-8's handler) on N worker\n"
        "processes sharing one listening socket, each a thread pool. SIGHUP restarts\n"
        "the workers one by one (no connection refused or lost); Ctrl-C or SIGTERM\n"
        "stops them after the requests in flight. Options of its own:\n"
        "  --workers N   worker processes, 1-1024 (default: 2)\n"
        "  --reuse-port  each worker its own SO_REUSEPORT socket instead of one shared\n"
        "                socket (a restart then loses queued connections unless\n"
        "                net.ipv4.tcp_migrate_req is 1)\n"
        "  --reactor     each worker a reactor (one thread serving every connection)\n"
        "                instead of a thread pool",
    .default_host = "localhost",
    .server = true};

// Takes --workers N (or --workers=N), --reuse-port and --reactor out of argv; the rest goes to
// samples::parse_args.
std::vector<char*> take_own_options(int argc, char* argv[], int& workers, bool& reuse_port,
                                    bool& reactor) {
  std::vector<char*> rest{argv[0]};
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--reuse-port" || arg == "--reactor") {
      (arg == "--reactor" ? reactor : reuse_port) = true;
      continue;
    }
    if (arg != "--workers" && !arg.starts_with("--workers=")) {
      rest.push_back(argv[i]);
      continue;
    }
    std::string_view value;
    if (arg == "--workers") {
      if (i + 1 >= argc) samples::usage_error(kProgram, "--workers needs a value");
      value = argv[++i];
    } else {
      value = arg.substr(std::string_view("--workers=").size());
    }
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), workers);
    if (ec != std::errc{} || end != value.data() + value.size() || workers < 1 ||
        workers > 1024) {
      samples::usage_error(kProgram,
                           "invalid --workers '" + std::string(value) + "': not a number 1-1024");
    }
  }
  return rest;
}

}  // namespace

int main(int argc, char* argv[]) {
  int workers = 2;
  bool reuse_port = false;
  bool reactor = false;
  std::vector<char*> rest = take_own_options(argc, argv, workers, reuse_port, reactor);
  const samples::Options opts =
      samples::parse_args(static_cast<int>(rest.size()), rest.data(), kProgram);

  try {
    ss::PreforkServer server(
        {opts.host, opts.port},
        [reactor](ss::PreforkWorker& worker) {
          if (reactor) {  // --reactor: the reactor adopts the socket the supervisor hands it
            ss::Reactor loop;
            return worker.serve(loop, ss::Factory::for_protocol<TimestampLine>());
          }
          // Each worker: a pool on the socket the supervisor hands it (bind_and_activate =
          // false: the socket is already bound and listening).
          ss::ThreadPoolTCPServer pool(worker.server_address, ss::handler<MyRequestHandler>(),
                                       {.bind_and_activate = false});
          return worker.serve(pool);  // until SIGTERM; then finishes what is in flight
        },
        {.workers = workers,
         .listen = reuse_port ? ss::PreforkListen::reuse_port : ss::PreforkListen::shared_socket});
    std::cerr << "listening on " << server.server_address << " with " << workers << " workers"
              << std::endl;
    server.serve_forever();  // until Ctrl-C or SIGTERM; SIGHUP restarts the workers
    std::cerr << "tsTservPrefork: stopped" << std::endl;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "tsTservPrefork: " << e.what() << std::endl;
    return 1;
  }
}
