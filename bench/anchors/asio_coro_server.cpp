// Boost.Asio timestamp server written with C++20 coroutines, the way Asio's coroutine examples
// write one: a listener coroutine co_awaits async_accept and co_spawns a session coroutine per
// connection, which loops on co_await async_read_until('\n') into a streambuf and co_await
// async_write of the reply (use_awaitable). The same reads and writes as asio_server.cpp, so
// the two differ only in callbacks against coroutines.
// --threads N: N threads call io_context::run() (1 is measured).
#include <string>

#include "asio_common.hpp"

#if !defined(BOOST_ASIO_HAS_CO_AWAIT)
#error "this Boost.Asio has no C++20 coroutine support (C++20 with GCC 11 or later is needed)"
#endif

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

asio::awaitable<void> session(tcp::socket socket) {
  asio::streambuf input;
  std::string reply;
  try {
    for (;;) {
      const std::size_t n =
          co_await asio::async_read_until(socket, input, '\n', asio::use_awaitable);
      reply.clear();
      anchor::append_stamp(reply);
      auto data = input.data();
      reply.append(asio::buffers_begin(data),
                   asio::buffers_begin(data) + static_cast<std::ptrdiff_t>(n));
      input.consume(n);
      co_await asio::async_write(socket, asio::buffer(reply), asio::use_awaitable);
    }
  } catch (const boost::system::system_error&) {
    // the end of the stream (asio::error::eof) or a reset: the session ends
  }
}

asio::awaitable<void> listener(tcp::acceptor acceptor) {
  for (;;) {
    try {
      tcp::socket socket = co_await acceptor.async_accept(asio::use_awaitable);
      asio::co_spawn(acceptor.get_executor(), session(std::move(socket)), asio::detached);
    } catch (const boost::system::system_error&) {
      // as asio_server.cpp: a failed accept (EMFILE, a peer gone) and the next one is tried
    }
  }
}

void serve(asio::io_context& io, const anchor::Options& opts) {
  tcp::acceptor acceptor = anchor::listen_tcp(io, opts);
  const unsigned short port = acceptor.local_endpoint().port();
  asio::co_spawn(io, listener(std::move(acceptor)), asio::detached);
  anchor::run_until_signal(io, opts.threads, port);
}

}  // namespace

int main(int argc, char** argv) {
  return anchor::asio_main(argc, argv, "asio_coro_server", /*with_tls=*/false, serve);
}
