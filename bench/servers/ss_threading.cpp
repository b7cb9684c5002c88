// ss_threading — the timestamp server on ThreadingTCPServer (or ForkingTCPServer / the thread
// pool, by the build's SERVER macro): `for line in self.rfile: self.wfile.write(stamp + line)`.
#include <socketserver/socketserver.hpp>

#include "bench_common.hpp"

namespace ss = socketserver;

struct TimestampHandler : ss::StreamRequestHandler {
  using StreamRequestHandler::StreamRequestHandler;
  void handle() override {
    std::string reply;
    try {
      for (const std::string& line : rfile) {
        reply.assign(bench::stamp());
        reply.append(line);
        wfile.write(reply);
      }
    } catch (const ss::connection_error&) {
      // The load generator resets its connections when a run ends: not worth a report.
    }
  }
};

// Per-server settings: limits out of the way of 128 persistent connections.
void configure(ss::ThreadingTCPServer& s, const bench::Args&) {
  s.daemon_threads = true;
  s.close_deadline = std::chrono::seconds(1);
}
void configure(ss::ForkingTCPServer& s, const bench::Args&) {
  s.max_children = 4096;
  s.block_on_close = false;
}
void configure(ss::ThreadPoolTCPServer& s, const bench::Args& a) {
  s.max_workers = static_cast<std::size_t>(a.workers);
  s.max_queued = 4096;
  s.close_deadline = std::chrono::seconds(1);
}

int main(int argc, char** argv) {
  const bench::Args args = bench::parse(argc, argv, BENCH_NAME);
  SERVER server({args.host, args.port}, ss::handler<TimestampHandler>(),
                {.request_queue_size = 4096});
  configure(server, args);
  bench::announce(server.server_address.port());
  {
    ss::StopOnSignals stop(server);
    server.serve_forever();
  }
  server.server_close();
  return 0;
}
