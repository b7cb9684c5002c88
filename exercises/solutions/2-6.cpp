// Exercise 2-6 — reference solution: the UDP daytime server (--server) and its client, which
// finds the service's port with getservbyname() when no --port is given.
#include <iostream>
#include <string>

#include "common.hpp"
#include "exercise.hpp"

namespace ss = socketserver;

struct DaytimeHandler : ss::DatagramRequestHandler {
  using DatagramRequestHandler::DatagramRequestHandler;
  void handle() override { wfile.write(samples::ctime_now() + "\r\n"); }
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
    port = ss::getservbyname("daytime", "udp");  // 13, from /etc/services
    std::cerr << "daytime: using port " << port << " (getservbyname daytime/udp)" << std::endl;
  }
  ss::Socket sock(AF_INET, SOCK_DGRAM);
  sock.settimeout(opts.timeout);
  sock.sendto("what time is it?", {opts.host, port});
  try {
    std::cout << samples::strip(sock.recvfrom(1024).first) << std::endl;
    return 0;
  } catch (const ss::timeout_error&) {
    std::cerr << "daytime: no answer from " << opts.host << ":" << port << " within "
              << opts.timeout << " s" << std::endl;
    return 1;
  }
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
