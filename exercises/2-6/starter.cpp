// Exercise 2-6 — starter. The daytime service over UDP: a server that answers any datagram
// with the time, and a client that finds the service's port with getservbyname() — see
// README.md. One program, two roles:
//
//   daytime --server [--host HOST] [--port PORT]       the server
//   daytime [--host HOST] [--port PORT] [--timeout S]  the client
//
// Grade it:  make exercise EX=2-6
#include <iostream>
#include <string>

#include "common.hpp"    // samples::parse_args, ctime_now (samples/common.hpp)
#include "exercise.hpp"  // exercise::Args: --server

namespace ss = socketserver;

// The server's handler: one object per datagram received.
struct DaytimeHandler : ss::DatagramRequestHandler {
  using DatagramRequestHandler::DatagramRequestHandler;

  void handle() override {
    // TODO 1: answer with the time now, as ctime() writes it (samples::ctime_now()), then
    //         "\r\n". What is written to wfile is sent back to the client when handle returns.
  }
};

int server(const samples::Options& opts) {
  ss::UDPServer server({opts.host, opts.port}, ss::handler<DaytimeHandler>());
  ss::StopOnSignals stop(server);
  std::cerr << "listening on " << server.server_address << std::endl;
  server.serve_forever();
  server.server_close();
  return 0;
}

int client(const samples::Options& opts, bool port_given) {
  int port = opts.port;
  if (!port_given) {
    // TODO 2: no --port: ask getservbyname() for the port of the "daytime" service over
    //         "udp" (ss::getservbyname), and say on stderr which port it is: "using port 13".
  }
  ss::Socket sock(AF_INET, SOCK_DGRAM);
  // TODO 3: UDP never says that nobody is listening: without a timeout, recvfrom() waits for
  //         ever. Wait at most opts.timeout seconds (settimeout); when it runs out, say so on
  //         stderr and return 1.
  sock.sendto("what time is it?", {opts.host, port});
  std::cout << samples::strip(sock.recvfrom(1024).first) << std::endl;
  return 0;
}

int main(int argc, char* argv[]) {
  exercise::Args args(argc, argv);
  const bool is_server = args.take_flag("--server");
  const bool port_given = args.has("--port");
  const samples::Options opts = samples::parse_args(
      args.argc(), args.argv(),
      {.name = "daytime",
       .summary = "Exercise 2-6: the UDP daytime server (--server) and its client.",
       .default_host = "localhost",
       .server = is_server,
       .has_timeout = !is_server});
  try {
    return is_server ? server(opts) : client(opts, port_given);
  } catch (const std::exception& e) {
    std::cerr << "daytime: " << e.what() << std::endl;
    return 1;
  }
}
