// ss_udp — the timestamp server on UDPServer: one datagram back per datagram.
#include <socketserver/socketserver.hpp>

#include "bench_common.hpp"

namespace ss = socketserver;

struct TimestampHandler : ss::DatagramRequestHandler {
  using DatagramRequestHandler::DatagramRequestHandler;
  void handle() override {
    wfile.write(bench::stamp());
    wfile.write(packet);
  }
};

int main(int argc, char** argv) {
  const bench::Args args = bench::parse(argc, argv, "ss_udp");
  ss::UDPServer server({args.host, args.port}, ss::handler<TimestampHandler>());
  bench::announce(server.server_address.port());
  {
    ss::StopOnSignals stop(server);
    server.serve_forever();
  }
  server.server_close();
  return 0;
}
