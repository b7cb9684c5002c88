// tsTservKeep.cpp — Exercise 2-16: the SocketServer timestamp server with persistent
// connections.
//
// tsTservSS answers one line and closes; this server keeps the connection and answers every
// line the client sends, "[<time>] <line>", until the client closes. The handler's loop is
// Python's `for line in self.rfile:`. A long conversation would block everyone else on a
// single thread, so it runs on ThreadingTCPServer: one thread per client.
// Try it:  tsTservKeep            then, in other terminals:  tsTclntKeep
//
// Ctrl-C (or SIGTERM) stops it with exit status 0, also while clients are connected: after
// one second (close_deadline) server_close() shuts down their connections, their handlers
// see the end of the stream and return.
#include <chrono>
#include <iostream>
#include <string>

#include "common.hpp"

namespace ss = socketserver;

// class MyRequestHandler(SRH):
struct MyRequestHandler : ss::StreamRequestHandler {
  using StreamRequestHandler::StreamRequestHandler;

  void handle() override {  // def handle(self):
    const auto& tcpServ = static_cast<const ss::ThreadingTCPServer&>(server);
    samples::print_line("...connected from: " + samples::py_repr(client_address) + " [" +
                        samples::clients(tcpServ.active_threads()) + " being served]");
    for (const std::string& line : rfile) {                   // for line in self.rfile:
      wfile.write("[" + samples::ctime_now() + "] " + line);  //   self.wfile.write(...)
    }
    // The client closed (the loop saw the end of the stream): the server closes its side.
    samples::print_line("...disconnected: " + samples::py_repr(client_address));
  }
};

int main(int argc, char* argv[]) {
  const samples::Options opts = samples::parse_args(
      argc, argv,
      {.name = "tsTservKeep",
       .summary = "Exercise 2-16: the SocketServer timestamp server with persistent connections\n"
                  "(ThreadingTCPServer). Answers every line a client sends with\n"
                  "\"[<ctime>] <line>\" until the client closes. Prints\n"
                  "  ...connected from: ('127.0.0.1', 40000) [2 clients being served]\n"
                  "  ...disconnected: ('127.0.0.1', 40000)\n"
                  "as clients come and go. Its client is tsTclntKeep.",
       .default_host = "localhost",
       .server = true,
       .has_idle_timeout = true,
       .has_systemd = true});

  try {
    const ss::Address ADDR{opts.host, opts.port};  // ADDR = (HOST, PORT)
    // tcpServ = ThreadingTCPServer(ADDR, MyRequestHandler)
    // Not in the book: --timeout, a client quiet that long is disconnected; --systemd, the
    // socket systemd bound instead of ADDR.
    ss::ThreadingTCPServer tcpServ(
        ADDR, ss::handler<MyRequestHandler>(),
        {.idle_timeout = opts.idle_timeout, .listen_fd = opts.listen_fd});
    tcpServ.close_deadline = std::chrono::seconds(1);  // see tsTservThreaded.cpp
    ss::StopOnSignals stop(tcpServ);                   // Ctrl-C / SIGTERM: serve_forever returns
    std::cerr << "listening on " << tcpServ.server_address << std::endl;

    samples::print_line("waiting for connection...");  // print('waiting for connection...')
    tcpServ.serve_forever();                           // tcpServ.serve_forever()
    tcpServ.server_close();
    std::cerr << "tsTservKeep: " << samples::stop_signal_name() << " received, server closed"
              << std::endl;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "tsTservKeep: " << e.what() << std::endl;
    return 1;
  }
}
