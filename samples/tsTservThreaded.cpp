// tsTservThreaded.cpp — Exercise 2-15: tsTservSS made asynchronous with a mix-in.
//
// The same handler as tsTservSS (one line per connection, answered "[<time>] <line>"), on
// ThreadingTCPServer: every connection gets its own thread, so clients are served at once,
// interleaved, instead of one after another. To show it, each connection is announced with the
// number of clients being served at that moment, this one included:
//     ...connected from: ('127.0.0.1', 40000) [3 clients being served]
// Try it: tsTservThreaded, then start several tsTclntSS and leave them at their prompt.
//
// Behind HAProxy (examples/haproxy/): --proxy-protocol makes every connection start with a
// PROXY header from a balancer in --trusted-proxy (default: loopback), and each line then shows
// the real client and the balancer it came through:
//     ...connected from: ('127.0.0.1', 40000) via ('127.0.0.2', 51000) [1 client being served]
// A connection from anyone else, or without a valid header, is closed with a line on stderr.
//
// Ctrl-C (or SIGTERM) stops it with exit status 0: the loop returns, and server_close()
// gives the handlers still running one second (close_deadline) before it shuts down their
// connections, so clients that stay silent cannot keep the server from ending.
#include <chrono>
#include <iostream>
#include <string>

#include "common.hpp"

namespace ss = socketserver;

// class MyRequestHandler(SRH):  — as in tsTservSS
struct MyRequestHandler : ss::StreamRequestHandler {
  using StreamRequestHandler::StreamRequestHandler;

  void handle() override {
    // self.server is the ThreadingTCPServer; active_threads() counts the handlers running now.
    const auto& tcpServ = static_cast<const ss::ThreadingTCPServer&>(server);
    samples::print_line("...connected from: " + samples::peer_repr(request, client_address) + " [" +
                        samples::clients(tcpServ.active_threads()) + " being served]");
    const std::string line = rfile.readline();  // self.rfile.readline()
    if (line.empty()) return;                   // the client left: nobody to answer
    wfile.write("[" + samples::ctime_now() + "] " + line);
  }
};

int main(int argc, char* argv[]) {
  const samples::Options opts = samples::parse_args(
      argc, argv,
      {.name = "tsTservThreaded",
       .summary =
           "Exercise 2-15: the SocketServer timestamp server (tsTservSS) on\n"
           "ThreadingTCPServer: a thread per connection, clients served at once. Reads one\n"
           "line per connection and answers \"[<ctime>] <line>\". Each connection is shown as\n"
           "  ...connected from: ('127.0.0.1', 40000) [3 clients being served]\n"
           "where the count is the connections being served at that moment, this one included.\n"
           "Behind HAProxy (--proxy-protocol) the line also names the balancer:\n"
           "  ...connected from: ('127.0.0.1', 40000) via ('127.0.0.2', 51000) [1 client ...]",
       .default_host = "localhost",
       .server = true,
       .has_idle_timeout = true,
       .has_proxy = true,
       .has_systemd = true});

  try {
    const ss::Address ADDR{opts.host, opts.port};  // ADDR = (HOST, PORT)

    // class ThreadingTCPServer(ThreadingMixIn, TCPServer) — the alias ss::ThreadingTCPServer
    // tcpServ = ThreadingTCPServer(ADDR, MyRequestHandler)
    // Not in the book: --timeout, a client quiet that long is disconnected; --proxy-protocol,
    // the real client's address comes first from the balancer (read in the handler's thread);
    // --systemd, the socket systemd bound instead of ADDR.
    ss::ThreadingTCPServer tcpServ(ADDR, ss::handler<MyRequestHandler>(),
                                   {.idle_timeout = opts.idle_timeout,
                                    .proxy_protocol = opts.proxy_protocol,
                                    .trusted_proxies = opts.trusted_proxies,
                                    .listen_fd = opts.listen_fd});
    // Not in Python: server_close() waits for the handlers at most this long, then shuts
    // down the connections of those still waiting for their client.
    tcpServ.close_deadline = std::chrono::seconds(1);
    ss::StopOnSignals stop(tcpServ);  // Ctrl-C / SIGTERM: serve_forever returns
    std::cerr << "listening on " << tcpServ.server_address << std::endl;

    samples::print_line("waiting for connection...");  // print('waiting for connection...')
    tcpServ.serve_forever();                           // tcpServ.serve_forever()
    tcpServ.server_close();  // waits for the handler threads (up to close_deadline)
    std::cerr << "tsTservThreaded: " << samples::stop_signal_name() << " received, server closed"
              << std::endl;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "tsTservThreaded: " << e.what() << std::endl;
    return 1;
  }
}
