// ss_threading — the timestamp server on ThreadingTCPServer (or ForkingTCPServer / the thread
// pool, by the build's SERVER macro): `for line in self.rfile: self.wfile.write(stamp + line)`.
// --proxy-protocol: behind a balancer (ServerOptions::proxy_protocol), for the PROXY cost figure;
// the load generator (--proxy v1|v2) is the balancer, from any of its churn source addresses.
#include <socketserver/socketserver.hpp>

#include "bench_common.hpp"

namespace ss = socketserver;

// Over TLS every server of the benchmark sets TCP_NODELAY: TLS 1.3 sends its session tickets
// just before the first reply, and Nagle would hold that reply for the client's delayed ACK
// (40 ms), which would measure the kernel's timer, not the server.
bool g_nodelay = false;

struct TimestampHandler : ss::StreamRequestHandler {
  TimestampHandler(ss::Request& request, const ss::Address& client, ss::BaseServer& server)
      : StreamRequestHandler(request, client, server) {
    disable_nagle_algorithm = g_nodelay;
  }
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
  if (a.max_threads > 0) s.max_threads = static_cast<std::size_t>(a.max_threads);
  s.max_queued = 4096;
  s.close_deadline = std::chrono::seconds(1);
}

int main(int argc, char** argv) {
  const bench::Args args = bench::parse(argc, argv, BENCH_NAME, true);
  ss::ServerOptions options{.request_queue_size = 4096, .proxy_protocol = args.proxy_protocol};
  if (!args.tls_cert.empty()) {  // the same handler over TLS (the tls-* workloads)
    auto context = std::make_shared<ss::SSLContext>(ss::PROTOCOL_TLS_SERVER);
    context->load_cert_chain(args.tls_cert, args.tls_key);
    options.ssl_context = std::move(context);
    g_nodelay = true;
  }
  if (args.proxy_protocol) {  // churn connects from 127.0.0.2-127.0.0.17 (loadgen --sources)
    options.trusted_proxies = {"127.0.0.1"};
    for (int i = 2; i <= 17; ++i) options.trusted_proxies.push_back("127.0.0." + std::to_string(i));
  }
  SERVER server({args.host, args.port}, ss::handler<TimestampHandler>(), options);
  configure(server, args);
  bench::announce(server.server_address.port());
  {
    ss::StopOnSignals stop(server);
    server.serve_forever();
  }
  server.server_close();
  return 0;
}
