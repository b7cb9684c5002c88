// chatservAIO.cpp — chatserv (Exercises 2-8 to 2-10) written as Python's asyncio would write
// it: one coroutine per user, reading its lines top to bottom with `await reader.readline()`.
//
//   async def handle(reader, writer):
//       user = join(writer)
//       try:
//           while line := await reader.readline():
//               command(user, line.decode().rstrip('\r\n'))
//               await writer.drain()
//       finally:
//           leave(user)
//
// The chat itself (the commands, the rooms, the batched join announcements) is samples/chat.hpp,
// the same as chatserv's, so the bytes on the wire are the same (chatclnt, nc and telnet work
// with either); here is how a user's bytes come and go with coroutines. A line longer than
// 4096 bytes is an error and a bye.
//
// A user who does not read must not hold up the others. What a user says is built once (its
// "\n" too) and those bytes are written to each listener (write() never blocks); a listener
// whose write buffer passes 256 KiB is let go at once, as chatserv's pause_writing() does, so
// the server's memory stays bounded and the speaker never waits on anyone. Each user's own
// coroutine drains its own writer after answering a command (`await writer.drain()`): that
// wait is bounded too, by the same mark.
// Try it:  chatservAIO         then, in two or more terminals:  chatclnt  (or nc localhost 21567)
#include <iostream>
#include <string>

#include "chat.hpp"
#include "common.hpp"
#include "socketserver/asyncio_streams.hpp"

namespace ss = socketserver;
namespace aio = socketserver::asyncio;

using samples::kChatHighMark;  // a listener this far behind is let go
using samples::kChatLowMark;   // drain() resumes below this
using samples::kChatMaxLine;   // a longer line: an error, then bye

// One user: where to write to them.
struct User : samples::ChatMember {
  explicit User(aio::StreamWriter& w) : writer(w) {}
  aio::StreamWriter& writer;
  bool dropped = false;  // let go for not reading; its coroutine ends at its next await
  bool quitting = false;

  // The line comes with its "\n", built once for the whole room (ChatRooms::tell_room).
  bool send(std::string_view line_nl) override {
    if (dropped || writer.is_closing()) return true;
    writer.write(line_nl);  // never waits
    return writer.transport().write_buffer_size() <= kChatHighMark;
  }
  void let_go() override {
    if (dropped) return;
    dropped = true;
    std::cout << nick << " does not read: disconnected" << std::endl;
    writer.abort();  // its readline() raises; it leaves
  }
  void quit() override {
    quitting = true;
    writer.close();  // after "bye" is sent
  }
};

// Takes the user out of the chat however its coroutine ends (end of stream, reset, timeout,
// a line too long, or the server's close cancelling it).
struct Leaving {
  samples::ChatRooms& chat;
  User& user;
  std::string why = "Connection was closed cleanly.";
  ~Leaving() {
    chat.depart(user);
    std::cout << user.nick << " left (" << why << ")" << std::endl;
  }
};

// async def handle(reader, writer): one user, from welcome to leave.
aio::Task<> handle(samples::ChatRooms& chat, aio::StreamReader& reader, aio::StreamWriter& writer) {
  User user(writer);
  writer.transport().set_write_buffer_limits(kChatHighMark, kChatLowMark);
  chat.arrive(user);
  std::cout << user.nick << " connected from " << writer.peername() << std::endl;
  Leaving leaving{chat, user};
  try {
    while (!user.dropped) {
      std::string line = co_await reader.readline();  // line = await reader.readline()
      if (!line.ends_with('\n')) break;               // the end of the stream (a partial line
      line.pop_back();                                // is dropped, as chatserv drops it)
      chat.command(user, line);
      if (user.quitting) break;  // /quit: the writer closes once "bye" is sent
      co_await writer.drain();   // await writer.drain(): bounded by the high mark
    }
  } catch (const aio::LimitOverrunError&) {
    user.tell("* line too long (at most " + std::to_string(kChatMaxLine) + " bytes), bye");
    writer.close();
    leaving.why = "line too long";
  } catch (const ss::timeout_error& e) {
    leaving.why = e.what();  // --timeout: quiet for too long
  } catch (const std::system_error& e) {
    leaving.why = e.what();  // a reset, or let go for not reading
  }
}

int main(int argc, char* argv[]) {
  const samples::Options opts = samples::parse_args(
      argc, argv,
      {.name = "chatservAIO",
       .summary = "Exercises 2-8 to 2-10: a chat server on asyncio streams, one coroutine per\n"
                  "user. Many users, rooms; commands /nick NAME, /join ROOM, /who, /rooms,\n"
                  "/quit; any other line goes to everyone else in your room.",
       .default_host = "localhost",
       .server = true,
       .has_idle_timeout = true});

  try {
    ss::Reactor reactor;
    samples::ChatRooms chat(reactor);
    // Ctrl-C or SIGTERM ends run(), whose shutdown triggers run in the order they were added:
    // the chat hears that it is closing before the server (start_server's trigger) cancels the
    // users, so nobody is told of the others leaving.
    reactor.add_shutdown_trigger("before", [&chat] { chat.close(); });
    aio::Server server = aio::start_server(
        reactor, [&chat](aio::StreamReader& r, aio::StreamWriter& w) { return handle(chat, r, w); },
        opts.host, opts.port, {.idle_timeout = opts.idle_timeout}, kChatMaxLine);
    reactor.call_when_running([&server] {
      std::cerr << "listening on " << server.address() << std::endl;
      std::cout << "waiting for users..." << std::endl;
    });
    reactor.run();  // until Ctrl-C or SIGTERM; the users' coroutines are cancelled then
    server.close();
    std::cerr << "chatservAIO: " << samples::signal_name(reactor.stopped_by_signal())
              << " received, server closed" << std::endl;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "chatservAIO: " << e.what() << std::endl;
    return 1;
  }
}
