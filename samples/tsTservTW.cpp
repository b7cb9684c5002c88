// tsTservTW.cpp — Example 2-10, the Twisted Reactor timestamp server (tsTservTW.py), line for
// line.
//
// No accept loop and no thread per client: the reactor (one event loop) accepts every client
// and calls the protocol's methods when something happens on its connection. Many clients are
// served at once. Each chunk of bytes that arrives is answered with "[<time>] <chunk>".
// Try it:  tsTservTW            then, in other terminals:  tsTclntTW  (or tsTclnt)
//
// What it does better than the Python: --host/--port/--help; Ctrl-C (or SIGTERM) ends it
// cleanly with exit status 0 (run() installs the handlers); a port in use is one line on
// stderr and exit status 1.
// --tls: Twisted's listenSSL instead of listenTCP, the protocol unchanged (it reads and writes
// plaintext); --cert/--key or a self-signed certificate made at start (tls.hpp). Try it with
// tsTclntTW --tls --insecure. A client that is not TLS is one line on stderr; the server goes on.
#include <iostream>
#include <string>

#include "common.hpp"
#include "tls.hpp"

namespace ss = socketserver;

// class TSServProtocol(protocol.Protocol):
struct TSServProtocol : ss::Protocol {
  std::string clnt;  // self.clnt

  void connection_made() override {  // def connectionMade(self):
    // clnt = self.clnt = self.transport.getPeer().host
    clnt = transport().get_peer().host();
    // (behind HAProxy, --proxy-protocol: clnt is the real client; the balancer is named too)
    const auto balancer = transport().get_balancer();
    std::cout << "...connected from: " << clnt  // print('...connected from:', clnt)
              << (balancer ? " via " + balancer->host() : "") << std::endl;
  }

  void data_received(std::string_view data) override {  // def dataReceived(self, data):
    // self.transport.write('[%s] %s' % (ctime(), data)) — write() never blocks: what the
    // client does not take at once waits in the transport's buffer.
    transport().write("[" + samples::ctime_now() + "] " + std::string(data));
  }
};

int main(int argc, char* argv[]) {
  const samples::Program program{
      .name = "tsTservTW",
      .summary =
          "Example 2-10: the Twisted Reactor timestamp server. Answers each chunk\n"
          "received with \"[<ctime>] <chunk>\"; serves many clients at once.",
      .default_host = "localhost",
      .server = true,
      .has_idle_timeout = true,
      .has_proxy = true,
      .has_tls = true,
      .tls_flag = true,
      .has_systemd = true};
  const samples::Options opts = samples::parse_args(argc, argv, program);
  if (opts.tls && opts.listen_fd >= 0) {  // adopt_stream_port serves plain TCP
    std::cerr << "tsTservTW: --systemd and --tls together are not supported "
                 "(an adopted socket is served without TLS)\n";
    return 2;
  }

  try {
    const int PORT = opts.port;  // PORT = 21567
    ss::Reactor reactor;         // from twisted.internet import reactor

    // factory = protocol.Factory(); factory.protocol = TSServProtocol
    auto factory = ss::Factory::for_protocol<TSServProtocol>();
    // reactor.listenTCP(PORT, factory) — the interface is Twisted's 4th argument ('' = all).
    // --tls: reactor.listenSSL(PORT, factory, contextFactory); the handshake may take 10 s.
    // --systemd: Twisted's adoptStreamPort, the socket systemd bound.
    const ss::ListenOptions options{.interface = opts.host,
                                    .idle_timeout = opts.idle_timeout,      // (+--timeout)
                                    .proxy_protocol = opts.proxy_protocol,  // (+--proxy-protocol)
                                    .trusted_proxies = opts.trusted_proxies};  // (+--trusted-proxy)
    ss::ListeningPort& port =
        opts.listen_fd >= 0 ? reactor.adopt_stream_port(opts.listen_fd, factory, options)
        : opts.tls
            ? reactor.listen_ssl(PORT, factory, *samples::server_context(program, opts), options)
            : reactor.listen_tcp(PORT, factory, options);

    // print('waiting for connection...') — the book prints it before listenTCP. Here it is
    // printed once the reactor runs (callWhenRunning): run() has then installed its Ctrl-C
    // and SIGTERM handlers, so whoever reads "listening on" may stop the server at once.
    reactor.call_when_running([&port] {
      // Not the book's console (that is stdout): where we listen, useful with --port 0.
      std::cerr << "listening on " << port.get_host() << std::endl;
      std::cout << "waiting for connection..." << std::endl;
    });
    reactor.run();  // reactor.run() — until Ctrl-C or SIGTERM

    std::cerr << "tsTservTW: " << (reactor.stopped_by_signal() == SIGTERM ? "SIGTERM" : "SIGINT")
              << " received, server closed" << std::endl;
    return 0;
  } catch (const std::exception& e) {
    // e.g. "bind to 127.0.0.1:21567: Address already in use"
    std::cerr << "tsTservTW: " << e.what() << std::endl;
    return 1;
  }
}
