// ss_aio — the timestamp server on this project's asyncio streams (Python's
// asyncio.start_server): one coroutine per connection, `co_await reader.readline()`, write the
// reply, `co_await writer.drain()`. One thread, one Reactor; with --threads N, N reactors
// (ReactorGroup) sharing the port through SO_REUSEPORT, each connection's coroutine on the
// thread that accepted it.
#include <socketserver/asyncio_streams.hpp>

#include <string>

#include "bench_common.hpp"

namespace ss = socketserver;
namespace aio = socketserver::asyncio;

namespace {

aio::Task<> handle(aio::StreamReader& reader, aio::StreamWriter& writer) {
  std::string reply;  // one buffer per connection, reused for every reply
  try {
    for (;;) {
      const std::string line = co_await reader.readline();
      if (line.empty() || line.back() != '\n') break;  // the end (a partial last line: unanswered)
      reply.assign(bench::stamp());
      reply.append(line);
      writer.write(reply);
      co_await writer.drain();
    }
  } catch (const ss::connection_error&) {
    // The load generator ends its connections abruptly when a run stops: not worth a line on
    // stderr. CancelledError (SIGTERM) is not caught: it ends the handler as it should.
  }
}

}  // namespace

int main(int argc, char** argv) {
  const bench::Args args = bench::parse(argc, argv, "ss_aio");
  if (args.threads > 1) {  // the same handler on N reactors sharing the port (SO_REUSEPORT)
    ss::ReactorGroup group(static_cast<std::size_t>(args.threads));
    group.start([](ss::Reactor&, std::size_t) {});
    aio::ServerGroup servers =
        aio::start_server(group, handle, args.host, args.port, {.backlog = 4096});
    bench::announce(servers.address().port());
    group.run_until_signal();  // every reactor stopped: then the handlers' frames are freed
    servers.close();
    return 0;
  }
  ss::Reactor reactor;
  aio::Server server = aio::start_server(reactor, handle, args.host, args.port, {.backlog = 4096});
  bench::announce(server.address().port());
  reactor.run();  // until SIGTERM (or SIGINT): every handler is then cancelled
  server.close();
  return 0;
}
