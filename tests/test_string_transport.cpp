// test_string_transport.cpp — StringTransport (Twisted's proto_helpers.StringTransport): a
// protocol connected with make_connection, fed with data_received, its output read back.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "socketserver/socketserver.hpp"

namespace {

namespace ss = socketserver;

// Echoes, upper-cases "up", closes on "bye"; records its callbacks.
struct Probe : ss::Protocol {
  void connection_made() override {
    events.push_back("made");
    peer = transport().get_peer().to_string();
  }
  void data_received(std::string_view data) override {
    if (data == "bye") {
      transport().write("goodbye");
      transport().lose_connection();
      return;
    }
    if (data == "abort") {
      transport().abort_connection();
      return;
    }
    transport().write(data);
  }
  void connection_lost(const ss::Reason& reason) override {
    events.push_back(std::string("lost:") + (reason.is_clean() ? "clean" : "unclean"));
  }
  std::vector<std::string> events;
  std::string peer;
};

TEST(StringTransport, MakeConnectionThenDataReceivedThenValue) {
  // Twisted: proto.makeConnection(tr); proto.dataReceived(b"..."); tr.value().
  ss::StringTransport tr;
  Probe p;
  EXPECT_FALSE(p.connected());
  p.make_connection(tr);
  EXPECT_TRUE(p.connected());
  EXPECT_EQ(&p.transport(), &tr);
  EXPECT_EQ(p.events, (std::vector<std::string>{"made"}));
  p.data_received("hello ");
  p.data_received("world");
  EXPECT_EQ(tr.value(), "hello world");
  tr.clear();  // Twisted's clear()
  EXPECT_EQ(tr.value(), "");
  p.data_received("again");
  EXPECT_EQ(tr.value(), "again");
}

TEST(StringTransport, LoseConnectionIsRecordedAndLaterWritesIgnored) {
  // Twisted's StringTransport.loseConnection sets disconnecting; ours, like the reactor's
  // transports, ignores what is written afterwards.
  ss::StringTransport tr;
  Probe p;
  p.make_connection(tr);
  EXPECT_FALSE(tr.disconnecting());
  p.data_received("bye");
  EXPECT_TRUE(tr.disconnecting());
  EXPECT_FALSE(tr.aborted());
  EXPECT_EQ(tr.value(), "goodbye");
  tr.write("more");
  EXPECT_EQ(tr.value(), "goodbye");
}

TEST(StringTransport, AbortConnectionIsRecorded) {
  ss::StringTransport tr;
  Probe p;
  p.make_connection(tr);
  p.data_received("abort");
  EXPECT_TRUE(tr.disconnecting());
  EXPECT_TRUE(tr.aborted());
}

TEST(StringTransport, AddressesDefaultAsTwistedsAndAreSettable) {
  // Twisted: hostAddress 10.0.0.1:12345 and peerAddress 192.168.1.1:54321 unless given.
  ss::StringTransport tr;
  EXPECT_EQ(tr.get_host(), ss::Address::inet("10.0.0.1", 12345));
  EXPECT_EQ(tr.get_peer(), ss::Address::inet("192.168.1.1", 54321));
  tr.set_peer(ss::Address::inet("127.0.0.1", 4242));
  tr.set_host(ss::Address::unix_path("/tmp/x.sock"));
  Probe p;
  p.make_connection(tr);
  EXPECT_EQ(p.peer, "127.0.0.1:4242");
  EXPECT_EQ(tr.get_host(), ss::Address::unix_path("/tmp/x.sock"));
}

TEST(StringTransport, EndConnectionCallsConnectionLostAndDetaches) {
  ss::StringTransport tr;
  Probe p;
  p.make_connection(tr);
  tr.end_connection(p);
  EXPECT_EQ(p.events, (std::vector<std::string>{"made", "lost:clean"}));
  EXPECT_FALSE(p.connected());
  EXPECT_THROW((void)p.transport(), std::logic_error);
  Probe q;
  q.make_connection(tr);
  tr.end_connection(q, ss::Reason{false, ECONNRESET, "Connection reset by peer"});
  EXPECT_EQ(q.events.back(), "lost:unclean");
}

TEST(StringTransport, ProducerAndOptionsAreRecorded) {
  ss::StringTransport tr;
  EXPECT_FALSE(tr.paused());
  tr.pause_producing();
  EXPECT_TRUE(tr.paused());
  tr.resume_producing();
  EXPECT_FALSE(tr.paused());
  tr.set_tcp_nodelay(true);
  tr.set_tcp_keepalive(true);
  EXPECT_TRUE(tr.tcp_nodelay());
  EXPECT_TRUE(tr.tcp_keepalive());
  tr.lose_write_connection();
  EXPECT_TRUE(tr.write_closed());
  EXPECT_EQ(tr.write_buffer_size(), 0u);
}

TEST(StringTransport, ReactorOnlyWhenGiven) {
  ss::StringTransport bare;
  EXPECT_THROW((void)bare.reactor(), std::logic_error);
  ss::Reactor reactor;
  ss::StringTransport with(&reactor);
  EXPECT_EQ(&with.reactor(), &reactor);
}

TEST(StringTransport, WriteSequenceKeepsOrder) {
  ss::StringTransport tr;
  tr.write_sequence({"a", "bc", "", "d"});
  EXPECT_EQ(tr.value(), "abcd");
}

}  // namespace
