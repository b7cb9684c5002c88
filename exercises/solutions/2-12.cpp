// Exercise 2-12 — reference solution: the sleep server.
#include <charconv>
#include <chrono>
#include <cmath>
#include <iostream>
#include <string>
#include <thread>

#include "common.hpp"

namespace ss = socketserver;

constexpr double MAX_SLEEP = 60;  // seconds: a client cannot hold a thread for ever

std::string answer(const std::string& request) {
  if (!request.starts_with("sleep ")) return "error: expected \"sleep N\"";
  const std::string arg = samples::strip(request.substr(6));
  double seconds = -1;
  auto [end, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), seconds);
  if (ec != std::errc{} || end != arg.data() + arg.size() || !std::isfinite(seconds) ||
      seconds < 0 || seconds > MAX_SLEEP) {
    return "error: N must be a number of seconds from 0 to 60, not \"" + arg + "\"";
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  return "ok slept " + arg;
}

struct SleepHandler : ss::StreamRequestHandler {
  using StreamRequestHandler::StreamRequestHandler;

  void handle() override {
    for (const std::string& line : rfile) wfile.write(answer(samples::strip(line)) + "\n");
  }
};

int main(int argc, char* argv[]) {
  const samples::Options opts = samples::parse_args(
      argc, argv,
      {.name = "server",
       .summary = "Exercise 2-12: the sleep server. \"sleep N\" is answered \"ok\" N s later.",
       .default_host = "localhost",
       .server = true});
  try {
    ss::ThreadingTCPServer server({opts.host, opts.port}, ss::handler<SleepHandler>());
    server.close_deadline = std::chrono::seconds(1);  // Ctrl-C does not wait for sleepers
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
