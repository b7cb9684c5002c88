// tsTservV6.cpp — the IPv6 TCP timestamp server (tsTservV6.py): tsTserv.cpp with one change,
// the address family AF_INET6 (and so the default host ::1, IPv6's localhost).
//
// It waits for a client, then answers every message with "[<time>] <message>" until the
// client closes; then it waits for the next one (one client at a time, as in the book).
// Try it:  tsTservV6          then, in another terminal:  tsTclntV6
//
// What it does better than the Python: --host/--port/--help; Ctrl-C (or SIGTERM) ends it
// cleanly with exit status 0; a client that vanishes (connection reset) does not kill it.
#include <iostream>
#include <string>

#include "common.hpp"

namespace ss = socketserver;

int main(int argc, char* argv[]) {
  const samples::Options opts = samples::parse_args(
      argc, argv,
      {.name = "tsTservV6",
       .summary = "The IPv6 TCP timestamp server (Example 2-1 over AF_INET6). Answers each\n"
                  "message with \"[<ctime>] <message>\", one client at a time.",
       .default_host = "::1",
       .server = true,
       .has_idle_timeout = true});
  samples::StopSignals stop;  // before any socket: Ctrl-C must always find it (common.hpp)

  try {
    const std::string HOST = opts.host;    // HOST = ''  (the book: every interface)
    const int PORT = opts.port;            // PORT = 21567
    constexpr std::size_t BUFSIZE = 1024;  // BUFSIZ = 1024  (BUFSIZ is already a C macro)
    const ss::Address ADDR{HOST, PORT};    // ADDR = (HOST, PORT)

    ss::Socket tcpSerSock(AF_INET6, SOCK_STREAM);  // tcpSerSock = socket(AF_INET6, SOCK_STREAM)
    // Not in the book: without SO_REUSEADDR a restarted server fails with "Address already
    // in use" for a minute while the last connections linger in TIME_WAIT.
    tcpSerSock.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
    tcpSerSock.bind(ADDR);  // tcpSerSock.bind(ADDR)
    // tcpSerSock.listen(5): the default backlog, SOMAXCONN, does not refuse a burst of
    // clients while the server is busy with one.
    tcpSerSock.listen();
    // Not the book's console (that is stdout): where we listen, useful with --port 0.
    std::cerr << "listening on " << tcpSerSock.getsockname() << std::endl;

    bool stopped = false;
    while (!stopped) {                                        // while True:
      std::cout << "waiting for connection..." << std::endl;  // print('waiting for connection...')
      // Sleep until a client knocks, or Ctrl-C: accept() itself would not return on a signal.
      if (!stop.wait_readable(tcpSerSock)) break;
      try {
        auto [tcpCliSock, addr] = tcpSerSock.accept();  // tcpCliSock, addr = tcpSerSock.accept()
        // print('...connected from:', addr) — addr printed as Python prints the tuple
        std::cout << "...connected from: " << samples::py_repr(addr) << std::endl;

        while (true) {  // while True:
          // Not in the book: --timeout drops a client quiet that long (else it is waited for).
          const auto woken = stop.wait(tcpCliSock, opts.idle_timeout);
          if (woken == samples::StopSignals::Woken::timeout) {
            std::cerr << "tsTservV6: " << samples::py_repr(addr) << " sent nothing for "
                      << opts.idle_timeout->count() << " s: disconnected" << std::endl;
            break;
          }
          if (woken == samples::StopSignals::Woken::signal) {  // (Ctrl-C while it is quiet)
            stopped = true;
            break;
          }
          std::string data = tcpCliSock.recv(BUFSIZE);  // data = tcpCliSock.recv(BUFSIZ)
          if (data.empty()) break;                      // if not data: break
          // tcpCliSock.send('[%s] %s' % (ctime(), data)) — sendall: send() may send only part.
          tcpCliSock.sendall("[" + samples::ctime_now() + "] " + data);
        }
        tcpCliSock.close();  // tcpCliSock.close()  (on an exception the destructor closes it)
      } catch (const ss::connection_error& e) {
        // The client reset the connection (or hung up while we answered): its problem, not
        // the server's. Python would die here with a ConnectionResetError traceback.
        std::cerr << "tsTservV6: " << e.what() << std::endl;
      }
    }
    tcpSerSock.close();  // tcpSerSock.close()
    std::cerr << "tsTservV6: " << stop.name() << " received, server closed" << std::endl;
    return 0;
  } catch (const std::exception& e) {
    // e.g. "bind to [::1]:21567: Address already in use"
    std::cerr << "tsTservV6: " << e.what() << std::endl;
    return 1;
  }
}
