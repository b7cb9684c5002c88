// ss_reactor — the timestamp server on the reactor (Twisted's LineReceiver shape), with
// --threads N reactors sharing the port through SO_REUSEPORT (ReactorGroup).
#include <socketserver/socketserver.hpp>

#include "bench_common.hpp"

namespace ss = socketserver;

struct Timestamp : ss::LineReceiver {
  Timestamp() { delimiter = "\n"; }
  void line_received(std::string_view line) override {
    reply_.assign(bench::stamp());
    reply_.append(line);
    reply_.push_back('\n');
    transport().write(reply_);
  }
  std::string reply_;
};

int main(int argc, char** argv) {
  const bench::Args args = bench::parse(argc, argv, "ss_reactor");
  if (args.threads <= 1) {
    ss::Reactor reactor;
    auto& port = reactor.listen_tcp(args.port, ss::Factory::for_protocol<Timestamp>(),
                                    {.backlog = 4096, .interface = args.host});
    bench::announce(port.get_host().port());
    reactor.run();
    return 0;
  }
  // N reactors: the first picks the port, the others join it with SO_REUSEPORT.
  ss::ReactorGroup group(static_cast<std::size_t>(args.threads));
  std::atomic<int> port{args.port};
  std::mutex mu;
  group.start([&](ss::Reactor& reactor, std::size_t index) {
    std::lock_guard<std::mutex> lock(mu);  // the first to bind fixes the port for the rest
    (void)index;
    auto& p = reactor.listen_tcp(port.load(), ss::Factory::for_protocol<Timestamp>(),
                                 {.backlog = 4096, .interface = args.host, .reuse_port = true});
    port.store(p.get_host().port());
  });
  bench::announce(port.load());
  group.run_until_signal();
  return 0;
}
