// What the Boost.Asio anchors share (asio_server, asio_coro_server, asio_tls_server): main's
// frame, the listening socket as each of them opens it, and running the io_context on --threads
// threads until SIGTERM/SIGINT.
#pragma once

// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility> (GCC 12, C++20).
#include <utility>

#include <boost/asio.hpp>

#include <thread>
#include <vector>

#include "anchor_common.hpp"

namespace anchor {

/// An acceptor on --host/--port: SO_REUSEADDR, Asio's max_listen_connections backlog.
inline boost::asio::ip::tcp::acceptor listen_tcp(boost::asio::io_context& io, const Options& o) {
  namespace asio = boost::asio;
  using asio::ip::tcp;
  const tcp::endpoint at(asio::ip::make_address(o.host), static_cast<unsigned short>(o.port));
  tcp::acceptor acceptor(io);
  acceptor.open(at.protocol());
  acceptor.set_option(tcp::acceptor::reuse_address(true));
  acceptor.bind(at);
  acceptor.listen(asio::socket_base::max_listen_connections);
  return acceptor;
}

/// Announces `port`, then runs `io` on `threads` threads until SIGTERM/SIGINT stop it (asio's
/// signal_set takes them over from init_process()).
inline void run_until_signal(boost::asio::io_context& io, int threads, unsigned short port) {
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&io](boost::system::error_code, int) { io.stop(); });
  announce_port(port);
  std::vector<std::thread> extra;
  for (int i = 1; i < threads; ++i) extra.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : extra) t.join();
}

/// An Asio anchor's main(): parses the command line (--threads; --tls-cert/--tls-key with
/// `with_tls`), sets the process up, and calls body(io, options) with an io_context for
/// --threads threads; body listens and calls run_until_signal. An exception is one line on
/// stderr and exit status 1.
template <typename Body>
int asio_main(int argc, char** argv, const char* name, bool with_tls, Body body) {
  const Options opts = parse_args(argc, argv, /*with_threads=*/true, with_tls);
  init_process();  // run_until_signal's signal_set takes SIGTERM/SIGINT over
  try {
    boost::asio::io_context io(opts.threads);
    body(io, opts);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", name, e.what());
    return 1;
  }
  return 0;
}

}  // namespace anchor
