// Exercise 2-13 — reference solution: a name server with registration, lookup and pings that
// delist servers which stop answering.
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common.hpp"

namespace ss = socketserver;
using namespace std::chrono_literals;

struct Entry {
  std::string host;
  int port = 0;
  std::string description;
  int failures = 0;
};

std::mutex mutex;
std::map<std::string, Entry> names;
constexpr int MAX_FAILURES = 3;

int parse_port(const std::string& text) {
  int port = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (ec != std::errc{} || end != text.data() + text.size() || port < 1 || port > 65535) return 0;
  return port;
}

std::string answer(const std::string& request) {
  std::istringstream words(request);
  std::string command, name;
  words >> command >> name;
  if (command == "register") {
    std::string host, port_text;
    words >> host >> port_text;
    const int port = parse_port(port_text);
    if (name.empty() || host.empty() || port == 0) {
      return "error: usage: register NAME HOST PORT [DESCRIPTION...] (PORT 1-65535)";
    }
    std::string description;
    std::getline(words, description);
    std::lock_guard<std::mutex> lock(mutex);
    names[name] = Entry{host, port, samples::strip(description), 0};
    samples::print_line("registered " + name + " at " + host + ":" + std::to_string(port));
    return "ok";
  }
  if (command == "lookup" && !name.empty()) {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = names.find(name);
    if (it == names.end()) return "notfound";
    return "found " + it->second.host + " " + std::to_string(it->second.port);
  }
  return "error: unknown request (register NAME HOST PORT, lookup NAME)";
}

struct NameHandler : ss::StreamRequestHandler {
  using StreamRequestHandler::StreamRequestHandler;
  void handle() override {
    for (const std::string& line : rfile) wfile.write(answer(samples::strip(line)) + "\n");
  }
};

// One round of pings. The connections are tried without the lock held: a slow server must
// not hold up lookups.
void ping_all() {
  std::vector<std::pair<std::string, Entry>> known;
  {
    std::lock_guard<std::mutex> lock(mutex);
    known.assign(names.begin(), names.end());
  }
  for (auto& [name, entry] : known) {
    bool alive = true;
    try {
      ss::create_connection({entry.host, entry.port}, 1s).close();
    } catch (const std::exception&) {
      alive = false;
    }
    std::lock_guard<std::mutex> lock(mutex);
    auto it = names.find(name);
    if (it == names.end() || it->second.port != entry.port || it->second.host != entry.host) {
      continue;  // re-registered or gone meanwhile
    }
    it->second.failures = alive ? 0 : it->second.failures + 1;
    if (it->second.failures >= MAX_FAILURES) {
      samples::print_line("delisted " + name + ": " + std::to_string(MAX_FAILURES) +
                          " pings failed");
      names.erase(it);
    }
  }
}

int main(int argc, char* argv[]) {
  const samples::Options opts = samples::parse_args(
      argc, argv,
      {.name = "nameserver",
       .summary = "Exercise 2-13: a name server (register NAME HOST PORT, lookup NAME).",
       .default_host = "localhost",
       .server = true});
  try {
    ss::ThreadingTCPServer server({opts.host, opts.port}, ss::handler<NameHandler>());
    server.close_deadline = std::chrono::seconds(1);
    ss::StopOnSignals stop(server);
    std::cerr << "listening on " << server.server_address << std::endl;

    std::jthread pinger([](std::stop_token stopping) {
      std::mutex m;
      std::condition_variable_any cv;
      std::unique_lock<std::mutex> lock(m);
      while (!cv.wait_for(lock, stopping, 1s, [] { return false; })) {
        if (stopping.stop_requested()) break;
        ping_all();
      }
    });
    server.serve_forever();
    server.server_close();
    return 0;  // ~jthread: stop requested, pinger joined
  } catch (const std::exception& e) {
    std::cerr << "nameserver: " << e.what() << std::endl;
    return 1;
  }
}
