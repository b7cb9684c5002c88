// tsTclntTW.cpp — Example 2-11, the Twisted Reactor timestamp client (tsTclntTW.py), line for
// line.
//
// It connects to the server, then sends each line you type ("...sending <line>...") and
// prints each reply. An empty line, the end of input (Ctrl-D) or the server closing ends it.
// Try it:  tsTservTW            then, in another terminal:  tsTclntTW
//
// One difference from the Python, and why: the book's sendData() calls input('> '), which
// blocks the whole reactor while you think — nothing else can happen meanwhile. Here the
// keyboard is one more thing the reactor watches (stdio.StandardIO, common.hpp's Keyboard),
// and sendData() asks the Console below for the next line: "call me back when it is typed".
//
// What it does better than the Python: --host/--port/--help; the end of input ends it quietly
// (exit status 0); a refused connection is one line on stderr and exit status 1 (the book's
// client stops without a word).
// --tls: Twisted's connectSSL instead of connectTCP (for tsTservTW --tls), the protocol
// unchanged; --cafile or --insecure as tsTclntTLS (tls.hpp). Once the handshake has completed
// it prints the TLS version and the server certificate's fingerprint on stderr; a certificate
// that does not verify is one line, what to do, and exit status 1.
#include <deque>
#include <functional>
#include <iostream>
#include <string>

#include "common.hpp"
#include "tls.hpp"

namespace ss = socketserver;

const samples::Program program{
    .name = "tsTclntTW",
    .summary =
        "Example 2-11: the Twisted Reactor timestamp client. Sends each line typed\n"
        "to the server and prints its answer; an empty line or end of input ends it.",
    .default_host = "localhost",
    .has_tls = true,
    .tls_flag = true};

// input(prompt) for a program that must not block: the lines typed wait here until asked for.
class Console {
 public:
  // Prints the prompt; `then(line)` runs with the next line typed (at once when one is
  // waiting). At the end of input, `then("")`, as common.hpp's input() returns "".
  void input(std::string_view prompt, std::function<void(const std::string&)> then) {
    std::cout << prompt << std::flush;
    then_ = std::move(then);
    deliver();
  }
  // The protocol that asked is gone (the connection ended): nobody wants the line now.
  void cancel() {
    if (then_) std::cout << std::endl;  // end the prompt's line
    then_ = nullptr;
  }
  // From the keyboard (the reactor calls these as the lines come).
  void typed(std::string line) {
    lines_.push_back(std::move(line));
    deliver();
  }
  void ended() {
    ended_ = true;
    deliver();
  }

 private:
  void deliver() {
    if (!then_ || (lines_.empty() && !ended_)) return;  // nobody asks, or nothing typed yet
    std::string line;
    if (!lines_.empty()) {
      line = std::move(lines_.front());
      lines_.pop_front();
    } else {
      std::cout << std::endl;  // end of input: end the prompt's line
    }
    auto then = std::exchange(then_, nullptr);  // `then` may ask for the next line itself
    then(line);
  }
  std::deque<std::string> lines_;
  bool ended_ = false;
  std::function<void(const std::string&)> then_;
};

// class TSClntProtocol(protocol.Protocol):
class TSClntProtocol : public ss::Protocol {
 public:
  explicit TSClntProtocol(Console& console) : console_(console) {}

  // def sendData(self):
  void send_data() {
    // data = input('> ') — "call me back with the next line typed"
    console_.input("> ", [this](const std::string& data) {
      if (!data.empty()) {                                         // if data:
        std::cout << "...sending " << data << "..." << std::endl;  // print('...sending %s...')
        transport().write(data);                                   // self.transport.write(data)
      } else {                                                     // else:
        transport().lose_connection();  // self.transport.loseConnection()
      }
    });
  }

  void connection_made() override { send_data(); }  // def connectionMade(self): self.sendData()

  void data_received(std::string_view data) override {  // def dataReceived(self, data):
    std::cout << data << std::endl;                     // print(data)
    send_data();                                        // self.sendData()
  }

  // Not in the book (--tls): Twisted's IHandshakeListener, after connection_made; on stderr,
  // what the server showed: compare its fingerprint with the one the server printed.
  void handshake_completed() override { samples::print_peer(program, transport()); }

  // Not in the book: the connection is gone, so the question to the keyboard is withdrawn.
  void connection_lost(const ss::Reason& /*reason*/) override { console_.cancel(); }

 private:
  Console& console_;
};

// class TSClntFactory(protocol.ClientFactory):
struct TSClntFactory : ss::ClientFactory {
  ss::Reactor* reactor = nullptr;
  int exit_status = 0;

  // clientConnectionLost = clientConnectionFailed = lambda self, connector, reason: reactor.stop()
  void client_connection_lost(ss::Connector& /*connector*/, const ss::Reason& /*reason*/) override {
    reactor->stop();
  }
  void client_connection_failed(ss::Connector& connector, const ss::Reason& reason) override {
    // Not in the book: say why ("connect to 127.0.0.1:21567: Connection refused").
    // With --tls also a failed handshake ("... certificate verify failed: self-signed
    // certificate"), then what to do about it.
    std::cerr << "tsTclntTW: connect to " << connector.get_destination() << ": " << reason.what()
              << std::endl;
    if (reason.what().find("certificate verify failed") != std::string::npos) {
      samples::explain_verify_failure(program);
    }
    exit_status = 1;
    reactor->stop();
  }
};

int main(int argc, char* argv[]) {
  const samples::Options opts = samples::parse_args(argc, argv, program);

  try {
    const std::string HOST = opts.host;  // HOST = 'localhost'
    const int PORT = opts.port;          // PORT = 21567
    ss::Reactor reactor;                 // from twisted.internet import reactor

    // The keyboard, watched by the reactor (stdio.StandardIO): lines go to the console.
    Console console;
    ss::StandardIO keyboard(std::make_unique<samples::Keyboard>(
                                [&console](std::string line) { console.typed(std::move(line)); },
                                [&console] { console.ended(); }),
                            reactor);

    auto factory = std::make_shared<TSClntFactory>();  // TSClntFactory()
    factory->reactor = &reactor;
    factory->protocol = [&console] {  // protocol = TSClntProtocol
      return std::make_unique<TSClntProtocol>(console);
    };
    if (!opts.tls) {
      reactor.connect_tcp(HOST, PORT, factory);  // reactor.connectTCP(HOST, PORT, TSClntFactory())
    } else {  // reactor.connectSSL(HOST, PORT, TSClntFactory(), ssl.create_default_context())
      reactor.connect_ssl(HOST, PORT, factory, samples::client_context(program, opts));
    }
    reactor.run();  // reactor.run()
    return factory->exit_status;
  } catch (const std::exception& e) {
    // e.g. a host name that does not resolve
    std::cerr << "tsTclntTW: " << e.what() << std::endl;
    return 1;
  }
}
