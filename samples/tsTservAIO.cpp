// tsTservAIO.cpp — Example 2-1's timestamp server (tsTserv.py) written as Python's asyncio
// would write it (asyncio.start_server and a coroutine per client), on the reactor.
//
//   async def handle(reader, writer):
//       print('...connected from:', writer.get_extra_info('peername'))
//       while True:
//           data = await reader.read(BUFSIZ)
//           if not data: break
//           writer.write(b'[%s] %s' % (ctime().encode(), data))
//           await writer.drain()
//       writer.close()
//   async def main():
//       server = await asyncio.start_server(handle, HOST, PORT)
//       print('waiting for connection...')
//       async with server: await server.serve_forever()
//
// The same bytes on the wire as tsTserv and tsTservTW: each chunk received is answered with
// "[<time>] <chunk>". Like tsTservTW, and unlike tsTserv, it serves many clients at once on
// one thread; unlike tsTservTW, each client's code reads top to bottom.
// Try it:  tsTservAIO            then, in other terminals:  tsTclntAIO  (or tsTclnt)
//
// What it does better than the Python: --host/--port/--timeout/--help; Ctrl-C (or SIGTERM)
// ends it cleanly with exit status 0 (every handler is cancelled at its await); a port in use
// is one line on stderr and exit status 1.
#include <iostream>
#include <string>

#include "common.hpp"
#include "socketserver/asyncio_streams.hpp"

namespace ss = socketserver;
namespace aio = socketserver::asyncio;

constexpr std::size_t BUFSIZE = 1024;  // BUFSIZ = 1024  (BUFSIZ is already a C macro)

// async def handle(reader, writer):
aio::Task<> handle(aio::StreamReader& reader, aio::StreamWriter& writer) {
  // print('...connected from:', writer.get_extra_info('peername'))
  std::cout << "...connected from: " << samples::py_repr(writer.peername()) << std::endl;
  try {
    while (true) {                                                // while True:
      std::string data = co_await reader.read(BUFSIZE);           // data = await reader.read(BUFSIZ)
      if (data.empty()) break;                                    // if not data: break
      writer.write("[" + samples::ctime_now() + "] " + data);    // writer.write(...)
      co_await writer.drain();                                    // await writer.drain()
    }
  } catch (const ss::timeout_error&) {  // Not in the book: --timeout ran out for this client
    std::cerr << "tsTservAIO: " << samples::py_repr(writer.peername())
              << " sent nothing: disconnected" << std::endl;
  }
  writer.close();  // writer.close()
}

int main(int argc, char* argv[]) {
  const samples::Options opts = samples::parse_args(
      argc, argv,
      {.name = "tsTservAIO",
       .summary = "Example 2-1's timestamp server on asyncio streams. Answers each chunk\n"
                  "received with \"[<ctime>] <chunk>\"; serves many clients at once.",
       .default_host = "localhost",
       .server = true,
       .has_idle_timeout = true});

  try {
    ss::Reactor reactor;  // the event loop
    // server = await asyncio.start_server(handle, HOST, PORT)
    aio::Server server = aio::start_server(reactor, handle, opts.host, opts.port,
                                           {.idle_timeout = opts.idle_timeout});  // (+--timeout)
    // Printed once the loop runs: its Ctrl-C and SIGTERM handlers are then in place, so
    // whoever reads "listening on" may stop the server at once.
    reactor.call_when_running([&server] {
      // Not the book's console (that is stdout): where we listen, useful with --port 0.
      std::cerr << "listening on " << server.address() << std::endl;
      std::cout << "waiting for connection..." << std::endl;  // print('waiting for connection...')
    });
    reactor.run();  // await server.serve_forever() — until Ctrl-C or SIGTERM
    server.close();
    std::cerr << "tsTservAIO: " << samples::signal_name(reactor.stopped_by_signal())
              << " received, server closed" << std::endl;
    return 0;
  } catch (const std::exception& e) {
    // e.g. "bind to 127.0.0.1:21567: Address already in use"
    std::cerr << "tsTservAIO: " << e.what() << std::endl;
    return 1;
  }
}
