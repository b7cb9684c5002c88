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
// The same protocol, the same bytes on the wire as chatserv (chatclnt, nc and telnet work with
// either): /nick NAME, /join ROOM, /who, /rooms, /quit; any other line goes to everyone else in
// your room as "<nick> text"; the server's own lines start with "* "; joins are announced in
// batches, at most ten times a second. A line longer than 4096 bytes is an error and a bye.
//
// A user who does not read must not hold up the others. What a user says is written to each
// listener (write() never blocks); a listener whose write buffer passes 256 KiB is let go at
// once, as chatserv's pause_writing() does, so the server's memory stays bounded and the
// speaker never waits on anyone. Each user's own coroutine drains its own writer after
// answering a command (`await writer.drain()`): that wait is bounded too, by the same mark.
// Try it:  chatservAIO         then, in two or more terminals:  chatclnt  (or nc localhost 21567)
#include <algorithm>
#include <cctype>
#include <chrono>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common.hpp"
#include "socketserver/asyncio_streams.hpp"

namespace ss = socketserver;
namespace aio = socketserver::asyncio;

constexpr std::size_t kMaxLine = 4096;           // a longer line: an error, then bye
constexpr std::size_t kHighMark = 256 * 1024;    // a listener this far behind is let go
constexpr std::size_t kLowMark = 64 * 1024;      // drain() resumes below this

// One user: their name, their room, and where to write to them.
struct User {
  std::string nick;
  std::string room;
  aio::StreamWriter* writer = nullptr;
  bool dropped = false;  // let go for not reading; its coroutine ends at its next await
};

// What the users share: who is called what, who is in which room (chatserv's ChatFactory).
class Chat {
 public:
  explicit Chat(ss::Reactor& reactor) : reactor_(reactor) {}

  std::map<std::string, User*> users;            // nick -> user
  std::map<std::string, std::set<User*>> rooms;  // room -> its users

  std::string new_guest_name() {
    std::string nick;
    do {
      nick = "guest" + std::to_string(++guests_);
    } while (users.contains(nick));
    return nick;
  }

  // One line to one user. A listener past the high mark does not read: let go (aborted), as
  // chatserv does; the abort is done after the caller's loop (see tell_room).
  static void send_line(User& user, const std::string& line) {
    if (user.dropped) return;
    user.writer->write(line + "\n");
  }

  // Sends `line` to everyone in `room` except `skip` (the speaker); never waits.
  void tell_room(const std::string& room, const std::string& line, User* skip = nullptr) {
    auto it = rooms.find(room);
    if (it == rooms.end()) return;
    std::vector<User*> behind;
    for (User* user : it->second) {
      if (user == skip || user->dropped) continue;
      send_line(*user, line);
      if (user->writer->is_closing()) continue;
      if (user->writer->transport().write_buffer_size() > kHighMark) behind.push_back(user);
    }
    for (User* user : behind) {
      user->dropped = true;
      std::cout << user->nick << " does not read: disconnected" << std::endl;
      user->writer->transport().abort_connection();  // its readline() raises; it leaves
    }
  }

  // chatserv's batched join announcements: told with the others joining within 100 ms.
  void announce_join(const std::string& room, const std::string& nick) {
    joined_[room].push_back(nick);
    if (!flush_pending_) {
      flush_pending_ = true;
      reactor_.call_later(std::chrono::milliseconds(100), [this] { flush_joins(); });
    }
  }
  // A join not told yet is told before the user's leave or new name.
  void tell_joins_before(const std::string& room, const std::string& nick) {
    auto it = joined_.find(room);
    if (it != joined_.end() &&
        std::find(it->second.begin(), it->second.end(), nick) != it->second.end()) {
      std::vector<std::string> nicks;
      nicks.swap(it->second);
      joined_.erase(it);
      tell_joins(room, nicks);
    }
  }

  void join(User& user, const std::string& room) {
    user.room = room;
    rooms[room].insert(&user);
    announce_join(room, user.nick);
  }
  void leave(User& user) {
    tell_joins_before(user.room, user.nick);
    auto it = rooms.find(user.room);
    if (it == rooms.end()) return;
    it->second.erase(&user);
    if (it->second.empty()) {
      rooms.erase(it);  // the last one out: the room is gone
    } else {
      tell_room(user.room, "* " + user.nick + " has left #" + user.room);
    }
  }

 private:
  void flush_joins() {
    flush_pending_ = false;
    std::map<std::string, std::vector<std::string>> batch;
    batch.swap(joined_);
    for (const auto& [room, nicks] : batch) tell_joins(room, nicks);
  }
  // "* guest7 has joined #lobby", "* guest7 and guest8 have joined #lobby", "* a, b, c, d, e
  // and 95 others have joined #lobby".
  void tell_joins(const std::string& room, const std::vector<std::string>& nicks) {
    constexpr std::size_t kNamed = 5;
    const std::size_t named = nicks.size() <= kNamed + 1 ? nicks.size() : kNamed;
    std::string who;
    for (std::size_t i = 0; i < named; ++i) {
      const bool last = i + 1 == named && named == nicks.size();
      who += (i == 0 ? "" : last ? " and " : ", ") + nicks[i];
    }
    if (named < nicks.size()) who += " and " + std::to_string(nicks.size() - named) + " others";
    tell_room(room, "* " + who + (nicks.size() == 1 ? " has" : " have") + " joined #" + room);
  }

  ss::Reactor& reactor_;
  int guests_ = 0;
  std::map<std::string, std::vector<std::string>> joined_;
  bool flush_pending_ = false;
};

bool valid_name(const std::string& name) {
  if (name.empty() || name.size() > 16) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
  });
}

// One command or message from `user`; false: the user quits.
bool command(Chat& chat, User& user, std::string_view line) {
  if (!line.starts_with('/')) {
    chat.tell_room(user.room, "<" + user.nick + "> " + std::string(line), &user);
    return true;
  }
  const std::size_t space = line.find(' ');
  const std::string cmd(line.substr(0, space));
  const std::string arg = space == std::string_view::npos ? "" : samples::strip(line.substr(space));
  if (cmd == "/nick") {
    if (!valid_name(arg)) {
      Chat::send_line(user, "* usage: /nick NAME (letters, digits, '_' and '-'; 1-16 characters)");
    } else if (chat.users.contains(arg)) {
      Chat::send_line(user, "* the nick " + arg + " is taken");
    } else {
      chat.tell_joins_before(user.room, user.nick);
      chat.users.erase(user.nick);
      chat.users[arg] = &user;
      chat.tell_room(user.room, "* " + user.nick + " is now known as " + arg);  // the user too
      std::cout << user.nick << " is now " << arg << std::endl;
      user.nick = arg;
    }
  } else if (cmd == "/join") {
    const std::string room = arg.starts_with('#') ? arg.substr(1) : arg;
    if (!valid_name(room)) {
      Chat::send_line(user, "* usage: /join ROOM (letters, digits, '_' and '-'; 1-16 characters)");
    } else if (room == user.room) {
      Chat::send_line(user, "* you are already in #" + room);
    } else {
      chat.leave(user);
      chat.join(user, room);
    }
  } else if (cmd == "/who") {
    std::set<std::string> nicks;  // sorted
    for (const User* u : chat.rooms[user.room]) nicks.insert(u->nick);
    std::string names;
    for (const std::string& nick : nicks) names += (names.empty() ? "" : ", ") + nick;
    Chat::send_line(user, "* in #" + user.room + ": " + names);
  } else if (cmd == "/rooms") {
    std::string list;
    for (const auto& [name, members] : chat.rooms) {
      list += (list.empty() ? "" : ", ") + ("#" + name) + " (" + std::to_string(members.size()) + ")";
    }
    Chat::send_line(user, "* rooms: " + list);
  } else if (cmd == "/quit") {
    Chat::send_line(user, "* bye, " + user.nick);
    return false;
  } else {
    Chat::send_line(user, "* unknown command " + cmd);
  }
  return true;
}

// Takes the user out of the chat however its coroutine ends (end of stream, reset, timeout,
// a line too long, or the server's close cancelling it).
struct Leaving {
  Chat& chat;
  User& user;
  std::string why = "Connection was closed cleanly.";
  ~Leaving() {
    chat.leave(user);
    chat.users.erase(user.nick);
    std::cout << user.nick << " left (" << why << ")" << std::endl;
  }
};

// async def handle(reader, writer): one user, from welcome to leave.
aio::Task<> handle(Chat& chat, aio::StreamReader& reader, aio::StreamWriter& writer) {
  User user{.nick = chat.new_guest_name(), .room = "", .writer = &writer, .dropped = false};
  chat.users[user.nick] = &user;
  writer.transport().set_write_buffer_limits(kHighMark, kLowMark);
  std::cout << user.nick << " connected from " << writer.peername() << std::endl;
  Leaving leaving{chat, user};
  Chat::send_line(user, "* welcome, " + user.nick +
                            "! commands: /nick NAME, /join ROOM, /who, /rooms, /quit");
  chat.join(user, "lobby");
  try {
    while (!user.dropped) {
      std::string line = co_await reader.readline();  // line = await reader.readline()
      if (!line.ends_with('\n')) break;                // the end of the stream (a partial line
      line.pop_back();                                 // is dropped, as chatserv drops it)
      if (line.ends_with('\r')) line.pop_back();       // telnet sends "\r\n"
      if (!line.empty() && !command(chat, user, line)) {
        writer.close();  // after "bye" is sent
        break;
      }
      co_await writer.drain();  // await writer.drain(): bounded by the high mark
    }
  } catch (const aio::LimitOverrunError&) {
    Chat::send_line(user, "* line too long (at most " + std::to_string(kMaxLine) + " bytes), bye");
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
    Chat chat(reactor);
    aio::Server server = aio::start_server(
        reactor,
        [&chat](aio::StreamReader& r, aio::StreamWriter& w) { return handle(chat, r, w); },
        opts.host, opts.port, {.idle_timeout = opts.idle_timeout}, kMaxLine);
    reactor.call_when_running([&server] {
      std::cerr << "listening on " << server.address() << std::endl;
      std::cout << "waiting for users..." << std::endl;
    });
    reactor.run();  // until Ctrl-C or SIGTERM
    server.close();
    std::cerr << "chatservAIO: " << samples::signal_name(reactor.stopped_by_signal())
              << " received, server closed" << std::endl;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "chatservAIO: " << e.what() << std::endl;
    return 1;
  }
}
