// test_connect_protocol.cpp — Reactor::connect_protocol, Twisted's connectProtocol /
// ClientCreator: connect, then a callback with the connected protocol, or with the failure.
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "reactor_test_util.hpp"
#include "test_util.hpp"

namespace {

namespace ss = socketserver;
using namespace std::chrono_literals;

// Says "hi" from connection_made; records what comes back.
struct Greeter : ss::Protocol {
  void connection_made() override {
    made = true;
    transport().write("hi");
  }
  void data_received(std::string_view data) override { got.append(data); }
  bool made = false;
  std::string got;
};

struct Thrower : ss::Protocol {
  void connection_made() override { throw std::runtime_error("no thanks"); }
};

TEST(ConnectProtocol, ConnectedCallbackGetsTheProtocolAfterConnectionMade) {
  // Twisted: connectProtocol(endpoint, proto) fires its Deferred with proto once
  // connectionMade has run.
  ss::Reactor reactor;
  ss::ListeningPort& port =
      reactor.listen_tcp(0, ss::Factory::for_protocol<rtu::Echo>(), rtu::local_opts());
  auto greeter = std::make_unique<Greeter>();
  Greeter* given = greeter.get();
  Greeter* handed = nullptr;
  bool made_when_handed = false;
  bool failed = false;
  // After the callback: wait for the echo of "hi", then stop (polled; run_bounded bounds it).
  std::function<void()> poll = [&] {
    if (handed->got == "hi") {
      reactor.stop();
    } else {
      reactor.call_later(5ms, poll);
    }
  };
  reactor.connect_protocol<Greeter>(
      "127.0.0.1", port.get_host().port(), std::move(greeter),
      [&](Greeter& p) {
        handed = &p;
        made_when_handed = p.made;
        poll();
      },
      [&](const ss::Reason&) { failed = true; });
  rtu::run_bounded(reactor);
  EXPECT_EQ(handed, given);
  EXPECT_TRUE(made_when_handed);
  EXPECT_FALSE(failed);
}

TEST(ConnectProtocol, RefusedConnectGoesToFailed) {
  // A port bound on 127.0.0.1 but not listening refuses (ECONNREFUSED); kept open so that
  // nobody else takes it meanwhile.
  ss::Socket closed_port(AF_INET, SOCK_STREAM);
  closed_port.bind({"127.0.0.1", 0});
  ss::Reactor reactor;
  bool connected = false;
  ss::Reason why;
  bool failed = false;
  reactor.connect_protocol<Greeter>(
      "127.0.0.1", closed_port.getsockname().port(), std::make_unique<Greeter>(),
      [&](Greeter&) { connected = true; },
      [&](const ss::Reason& r) {
        failed = true;
        why = r;
        reactor.stop();
      });
  rtu::run_bounded(reactor);
  EXPECT_TRUE(failed);
  EXPECT_FALSE(connected);
  EXPECT_FALSE(why.is_clean());
  EXPECT_EQ(why.error, ECONNREFUSED) << why.what();
}

TEST(ConnectProtocol, FailureWithoutHandlerIsReportedWithTheAddress) {
  ss::Socket closed_port(AF_INET, SOCK_STREAM);
  closed_port.bind({"127.0.0.1", 0});
  const int port = closed_port.getsockname().port();
  ss::Reactor reactor;
  ss::Connector& c =
      reactor.connect_protocol<Greeter>("127.0.0.1", port, std::make_unique<Greeter>(), nullptr);
  std::function<void()> poll = [&] {
    if (std::string(c.state()) == "disconnected") {
      reactor.stop();
    } else {
      reactor.call_later(5ms, poll);
    }
  };
  reactor.call_later(0s, poll);
  testing::internal::CaptureStderr();
  rtu::run_bounded(reactor);
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << err;
  EXPECT_NE(err.find("refused"), std::string::npos) << err;
}

TEST(ConnectProtocol, ExceptionInConnectionMadeGoesToFailed) {
  ss::Reactor reactor;
  ss::ListeningPort& port =
      reactor.listen_tcp(0, ss::Factory::for_protocol<rtu::Echo>(), rtu::local_opts());
  bool connected = false;
  std::string why;
  testing::internal::CaptureStderr();  // the exception is also reported, as any callback's
  reactor.connect_protocol<Thrower>(
      "127.0.0.1", port.get_host().port(), std::make_unique<Thrower>(),
      [&](Thrower&) { connected = true; },
      [&](const ss::Reason& r) {
        why = r.what();
        reactor.stop();
      });
  rtu::run_bounded(reactor);
  (void)testing::internal::GetCapturedStderr();
  EXPECT_FALSE(connected);
  EXPECT_NE(why.find("no thanks"), std::string::npos) << why;
}

TEST(ConnectProtocol, OverAUnixSocket) {
  // Twisted's ClientCreator.connectUNIX.
  ss::Reactor reactor;
  const ss::Address path = ss::Address::abstract(testutil::unique_abstract("cp"));
  reactor.listen_unix(path, ss::Factory::for_protocol<rtu::Echo>());
  bool handed = false;
  bool made = false;
  reactor.connect_protocol<Greeter>(path, std::make_unique<Greeter>(), [&](Greeter& p) {
    handed = true;
    made = p.made;  // read now: the reactor's shutdown ends the connection and the protocol
    reactor.stop();
  });
  rtu::run_bounded(reactor);
  EXPECT_TRUE(handed);
  EXPECT_TRUE(made);
}

TEST(ConnectProtocol, NoProtocolIsAnError) {
  ss::Reactor reactor;
  EXPECT_THROW(reactor.connect_protocol<Greeter>("127.0.0.1", 1, nullptr, nullptr),
               std::invalid_argument);
}

}  // namespace
