// tsTclntAIO.cpp — Example 2-2's timestamp client (tsTclnt.py) written as Python's asyncio
// would write it (asyncio.open_connection and a coroutine), on the reactor.
//
//   async def main():
//       reader, writer = await asyncio.open_connection(HOST, PORT)
//       while True:
//           data = await ainput('> ')          # the keyboard, read without blocking the loop
//           if not data: break
//           writer.write(data.encode())
//           data = await reader.read(BUFSIZ)
//           if not data: break
//           print(data.decode('utf-8'))
//       writer.close(); await writer.wait_closed()
//   asyncio.run(main())
//
// The same bytes on the wire as tsTclnt: each line typed is sent without its end of line, and
// the answer printed. It talks to tsTservAIO, tsTserv, tsTservTW... An empty line, the end of
// input (Ctrl-D) or the server closing ends it.
//
// What it does better than the Python: --host/--port/--help; the end of input ends it quietly
// (exit status 0); a refused connection is one line on stderr and exit status 1.
#include <iostream>
#include <string>

#include "common.hpp"
#include "socketserver/asyncio_streams.hpp"

namespace ss = socketserver;
namespace aio = socketserver::asyncio;

constexpr std::size_t BUFSIZE = 1024;  // BUFSIZ = 1024

// input('> ') without blocking the loop: "" at the end of input, as common.hpp's input().
aio::Task<std::string> ainput(aio::StreamReader& keyboard, const char* prompt) {
  std::cout << prompt << std::flush;
  std::string line = co_await keyboard.readline();
  if (line.empty()) {
    std::cout << std::endl;  // end of input: end the prompt's line
    co_return line;
  }
  if (line.ends_with('\n')) line.pop_back();
  if (line.ends_with('\r')) line.pop_back();
  co_return line;
}

// async def main():
aio::Task<> main_task(ss::Reactor& reactor, std::string HOST, int PORT) {
  aio::StandardInput keyboard(reactor);
  // reader, writer = await asyncio.open_connection(HOST, PORT)
  auto [reader, writer] = co_await aio::open_connection(reactor, HOST, PORT);
  while (true) {                                                  // while True:
    std::string data = co_await ainput(keyboard.reader(), "> ");  // data = input('> ')
    if (data.empty()) break;                                      // if not data: break
    writer.write(data);                                           // writer.write(data)
    data = co_await reader.read(BUFSIZE);                         // data = await reader.read(BUFSIZ)
    if (data.empty()) break;                                      // if not data: break
    std::cout << data << std::endl;                               // print(data.decode('utf-8'))
  }
  writer.close();                 // writer.close()
  co_await writer.wait_closed();  // await writer.wait_closed()
}

int main(int argc, char* argv[]) {
  const samples::Options opts = samples::parse_args(
      argc, argv,
      {.name = "tsTclntAIO",
       .summary = "Example 2-2's timestamp client on asyncio streams. Sends each line typed\n"
                  "to the server and prints its answer; an empty line or end of input ends it.",
       .default_host = "localhost"});

  try {
    ss::Reactor reactor;
    // asyncio.run(main()) — without signal handlers: Ctrl-C ends it as it ends tsTclnt.
    aio::run(reactor, main_task(reactor, opts.host, opts.port), false);
    return 0;
  } catch (const std::exception& e) {
    // e.g. "connect to 127.0.0.1:21567: Connection refused"
    std::cerr << "tsTclntAIO: " << e.what() << std::endl;
    return 1;
  }
}
