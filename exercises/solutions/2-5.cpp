// Exercise 2-5 — reference solution: a server answering date, os, ls and ls DIR.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <string>
#include <system_error>
#include <vector>

#include "common.hpp"

namespace ss = socketserver;
namespace fs = std::filesystem;

// Python's ' '.join(sorted(os.listdir(dir))), or an error line.
std::string list(const std::string& dir) {
  std::error_code ec;
  std::vector<std::string> names;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    names.push_back(it->path().filename().string());
  }
  if (ec) return "error: cannot list " + dir + ": " + ec.message();
  std::sort(names.begin(), names.end());
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "" : " ") + name;
  return out;
}

std::string answer(const std::string& command) {
  if (command == "date") return samples::ctime_now();
  if (command == "os") return "posix";
  if (command == "ls") return list(".");
  if (command.starts_with("ls ")) return list(samples::strip(command.substr(3)));
  return "[" + samples::ctime_now() + "] " + command;
}

struct CommandHandler : ss::StreamRequestHandler {
  using StreamRequestHandler::StreamRequestHandler;

  void handle() override {
    for (const std::string& line : rfile) wfile.write(answer(samples::strip(line)) + "\n");
  }
};

int main(int argc, char* argv[]) {
  const samples::Options opts =
      samples::parse_args(argc, argv,
                          {.name = "server",
                           .summary = "Exercise 2-5: answers date, os, ls and ls DIR.",
                           .default_host = "localhost",
                           .server = true});
  try {
    ss::ThreadingTCPServer server({opts.host, opts.port}, ss::handler<CommandHandler>());
    ss::StopOnSignals stop(server);
    std::cerr << "listening on " << server.server_address << std::endl;
    server.serve_forever();
    server.server_close();
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "server: " << e.what() << std::endl;
    return 1;
  }
}
