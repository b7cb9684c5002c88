// gatherAIO.cpp — two things at once with asyncio.gather: one client asks the timestamp server
// (tsTservAIO, tsTserv, tsTservTW...) twice, on two connections at the same time, and prints
// both answers in the order asked, whatever order they come in.
//
//   async def ask(message):
//       reader, writer = await asyncio.open_connection(HOST, PORT)
//       writer.write(message.encode())
//       data = await reader.read(BUFSIZ)
//       writer.close()
//       return data.decode()
//   async def main():
//       a, b = await asyncio.gather(asyncio.wait_for(ask('first'), TIMEOUT),
//                                   asyncio.wait_for(ask('second'), TIMEOUT))
//       print(a); print(b)
//   asyncio.run(main())
//
// Each question has --timeout seconds (default 5): a server that does not answer in time is
// one line on stderr ("gatherAIO: wait_for: timed out after ...") and exit status 1, and the
// other question is cancelled with it (gather cancels the others when one fails).
// Try it:  tsTservAIO            then:  gatherAIO
#include <chrono>
#include <iostream>
#include <stdexcept>
#include <string>

#include "common.hpp"
#include "socketserver/asyncio_streams.hpp"

namespace ss = socketserver;
namespace aio = socketserver::asyncio;

constexpr std::size_t BUFSIZE = 1024;  // BUFSIZ = 1024

// async def ask(message): one question on a connection of its own.
aio::Task<std::string> ask(ss::Reactor& reactor, std::string host, int port, std::string message) {
  auto [reader, writer] = co_await aio::open_connection(reactor, host, port);
  writer.write(message);                                // writer.write(message)
  std::string data = co_await reader.read(BUFSIZE);     // data = await reader.read(BUFSIZ)
  writer.close();                                       // writer.close()
  if (data.empty()) throw std::runtime_error("the server closed without answering " + message);
  co_return data;
}

// async def main():
aio::Task<> main_task(ss::Reactor& reactor, std::string host, int port, double timeout) {
  const std::chrono::duration<double> limit(timeout);
  // a, b = await asyncio.gather(wait_for(ask('first'), T), wait_for(ask('second'), T))
  auto [a, b] = co_await aio::gather(aio::wait_for(ask(reactor, host, port, "first"), limit),
                                     aio::wait_for(ask(reactor, host, port, "second"), limit));
  std::cout << a << std::endl;  // print(a)
  std::cout << b << std::endl;  // print(b)
}

int main(int argc, char* argv[]) {
  const samples::Options opts = samples::parse_args(
      argc, argv,
      {.name = "gatherAIO",
       .summary = "Two questions at once with asyncio.gather: sends \"first\" and \"second\"\n"
                  "to the timestamp server on two connections at the same time and prints\n"
                  "both answers in that order; each has --timeout seconds.",
       .default_host = "localhost",
       .has_timeout = true});

  try {
    ss::Reactor reactor;
    aio::run(reactor, main_task(reactor, opts.host, opts.port, opts.timeout), false);
    return 0;
  } catch (const std::exception& e) {
    // e.g. "wait_for: timed out after 5.000000 s", "connect to ...: Connection refused"
    std::cerr << "gatherAIO: " << e.what() << std::endl;
    return 1;
  }
}
