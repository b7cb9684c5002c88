// test_reactor_shutdown.cpp — what stop() does to connections still open: each protocol hears
// connection_lost (client factories client_connection_lost) after the "before" shutdown
// triggers and before the "after" ones, as Twisted's reactor.disconnectAll does.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "reactor_test_util.hpp"

namespace {

namespace ss = socketserver;
using namespace std::chrono_literals;

// Records "made:<tag>" and "lost:<tag>:<clean|unclean>" into a shared event list.
struct Tagged : ss::Protocol {
  Tagged(std::shared_ptr<std::vector<std::string>> events, std::string tag)
      : events_(std::move(events)), tag_(std::move(tag)) {}
  void connection_made() override { events_->push_back("made:" + tag_); }
  void connection_lost(const ss::Reason& reason) override {
    events_->push_back("lost:" + tag_ + (reason.is_clean() ? ":clean" : ":unclean"));
    events_->push_back("why:" + reason.what());
  }
  std::shared_ptr<std::vector<std::string>> events_;
  std::string tag_;
};

struct TaggedClientFactory : ss::ClientFactory {
  explicit TaggedClientFactory(std::shared_ptr<std::vector<std::string>> events)
      : events_(std::move(events)) {}
  std::unique_ptr<ss::Protocol> build_protocol(const ss::Address&) override {
    return std::make_unique<Tagged>(events_, "client");
  }
  void client_connection_lost(ss::Connector&, const ss::Reason& reason) override {
    events_->push_back(std::string("client_connection_lost:") +
                       (reason.is_clean() ? "clean" : "unclean"));
  }
  std::shared_ptr<std::vector<std::string>> events_;
};

int count(const std::vector<std::string>& v, const std::string& s) {
  return static_cast<int>(std::count(v.begin(), v.end(), s));
}

TEST(ReactorShutdown, StopTellsEveryOpenConnectionBeforeAfterTriggers) {
  // Twisted: reactor.stop() -> "before" triggers -> disconnectAll (connectionLost with
  // ConnectionLost, clientConnectionLost) -> "during"/"after" triggers.
  auto events = std::make_shared<std::vector<std::string>>();
  ss::Reactor reactor;
  auto factory = std::make_shared<ss::Factory>();
  factory->protocol = [events] { return std::make_unique<Tagged>(events, "server"); };
  ss::ListeningPort& port = reactor.listen_tcp(0, factory, rtu::local_opts());
  // Two plain clients (their connect completes in the kernel's backlog) and one outgoing
  // connection of the reactor's own.
  ss::Socket c1 = stu::stream_client(port.get_host());
  ss::Socket c2 = stu::stream_client(port.get_host());
  reactor.connect_tcp("127.0.0.1", port.get_host().port(),
                      std::make_shared<TaggedClientFactory>(events));
  std::size_t open_at_before = 0;
  reactor.add_shutdown_trigger("before", [&] {
    open_at_before = reactor.connection_count();
    events->push_back("before");
  });
  reactor.add_shutdown_trigger("after", [&] { events->push_back("after"); });
  // Stop once all four protocols are up (polled, bounded by run_bounded's safety timer).
  std::function<void()> poll = [&] {
    if (count(*events, "made:server") == 3 && count(*events, "made:client") == 1) {
      reactor.stop();
    } else {
      reactor.call_later(10ms, poll);
    }
  };
  reactor.call_later(0s, poll);
  rtu::run_bounded(reactor);

  EXPECT_EQ(open_at_before, 4u);
  EXPECT_EQ(reactor.connection_count(), 0u);
  const auto& ev = *events;
  const auto at = [&](const std::string& s) {
    return std::find(ev.begin(), ev.end(), s) - ev.begin();
  };
  ASSERT_EQ(count(ev, "lost:server:unclean"), 3);
  ASSERT_EQ(count(ev, "lost:client:unclean"), 1);
  ASSERT_EQ(count(ev, "client_connection_lost:unclean"), 1);
  ASSERT_EQ(count(ev, "before"), 1);
  ASSERT_EQ(count(ev, "after"), 1);
  const auto before = at("before");
  const auto after = at("after");
  for (std::size_t i = 0; i < ev.size(); ++i) {
    if (ev[i].rfind("lost:", 0) == 0 || ev[i].rfind("client_connection_lost", 0) == 0) {
      EXPECT_GT(static_cast<std::ptrdiff_t>(i), before) << ev[i];
      EXPECT_LT(static_cast<std::ptrdiff_t>(i), after) << ev[i];
    }
  }
  // The peers see the connection end.
  c1.settimeout(10s);
  c2.settimeout(10s);
  EXPECT_EQ(stu::read_all(c1), "");
  EXPECT_EQ(stu::read_all(c2), "");
}

TEST(ReactorShutdown, ReasonIsTwistedsConnectionLost) {
  auto events = std::make_shared<std::vector<std::string>>();
  ss::Reactor reactor;
  auto factory = std::make_shared<ss::Factory>();
  factory->protocol = [events] { return std::make_unique<Tagged>(events, "server"); };
  ss::ListeningPort& port = reactor.listen_tcp(0, factory, rtu::local_opts());
  ss::Socket c = stu::stream_client(port.get_host());
  std::function<void()> poll = [&] {
    if (count(*events, "made:server") == 1) {
      reactor.stop();
    } else {
      reactor.call_later(10ms, poll);
    }
  };
  reactor.call_later(0s, poll);
  rtu::run_bounded(reactor);
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[1], "lost:server:unclean");
  EXPECT_NE((*events)[2].find("lost in a non-clean fashion"), std::string::npos) << (*events)[2];
}

TEST(ReactorShutdown, PortsStayOpenAndTheReactorRunsAgain) {
  // Unlike Twisted's, a stopped reactor may run again: its listening ports still accept.
  ss::Reactor reactor;
  auto log = std::make_shared<rtu::Log>();
  ss::ListeningPort& port =
      reactor.listen_tcp(0, ss::Factory::for_protocol<rtu::Echo>(log), rtu::local_opts());
  for (int round = 0; round < 2; ++round) {
    rtu::ReactorThread loop(reactor);
    EXPECT_EQ(stu::stream_roundtrip(port.get_host(), "again\n"), "again\n") << round;
  }
  EXPECT_TRUE(rtu::wait_until([&] { return log->lost.load() == 2; }));
}

}  // namespace
