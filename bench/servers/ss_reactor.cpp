// ss_reactor — the timestamp server on the reactor (Twisted's LineReceiver shape), with
// --threads N reactors sharing the port through SO_REUSEPORT (ReactorGroup); --tls-cert and
// --tls-key: listen_ssl instead of listen_tcp, the same protocol over TLS.
#include <socketserver/socketserver.hpp>

#include <optional>

#include "bench_common.hpp"

namespace ss = socketserver;

// Over TLS every server of the benchmark sets TCP_NODELAY: TLS 1.3 sends its session tickets
// just before the first reply, and Nagle could hold that reply for the client's delayed ACK.
bool g_nodelay = false;

struct Timestamp : ss::LineReceiver {
  Timestamp() { delimiter = "\n"; }
  void connection_made() override {
    if (g_nodelay) transport().set_tcp_nodelay(true);
  }
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
  std::optional<ss::SSLContext> tls;
  if (!args.tls_cert.empty()) {
    tls.emplace(ss::PROTOCOL_TLS_SERVER);
    tls->load_cert_chain(args.tls_cert, args.tls_key);
    g_nodelay = true;
  }
  // listen_tcp, or listen_ssl with --tls-cert.
  auto listen = [&](ss::Reactor& reactor, int port, const ss::ListenOptions& options) -> auto& {
    auto factory = ss::Factory::for_protocol<Timestamp>();
    return tls ? reactor.listen_ssl(port, std::move(factory), *tls, options)
               : reactor.listen_tcp(port, std::move(factory), options);
  };
  if (args.threads <= 1) {
    ss::Reactor reactor;
    auto& port = listen(reactor, args.port, {.backlog = 4096, .interface = args.host});
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
    auto& p = listen(reactor, port.load(),
                     {.backlog = 4096, .interface = args.host, .reuse_port = true});
    port.store(p.get_host().port());
  });
  bench::announce(port.load());
  group.run_until_signal();
  return 0;
}
