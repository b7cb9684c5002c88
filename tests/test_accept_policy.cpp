// test_accept_policy.cpp — the one accept policy (detail::AcceptPolicy) that BaseServer's loop,
// ThreadPoolMixIn's workers and the reactor's listening ports share, and the reactor's back-off
// when descriptors run out (the servers' is in test_mixins.cpp, AcceptErrors).
#include "socketserver/detail/accept.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "reactor_test_util.hpp"
#include "server_test_util.hpp"
#include "socketserver/reactor.hpp"
#include "test_util.hpp"

namespace ss = socketserver;
using namespace std::chrono_literals;
using Action = ss::detail::AcceptPolicy::Action;
using ss::detail::AcceptPolicy;

namespace {

TEST(AcceptPolicy, ClassifiesEveryErrorOnce) {
  for (int err : {EMFILE, ENFILE, ENOBUFS, ENOMEM}) {
    EXPECT_EQ(AcceptPolicy::classify(err), Action::back_off) << err;
  }
  for (int err : {EAGAIN, EWOULDBLOCK, EINTR, ECONNABORTED, EPROTO}) {
    EXPECT_EQ(AcceptPolicy::classify(err), Action::retry) << err;
  }
  for (int err : {EBADF, EINVAL, ENOTSOCK, EOPNOTSUPP, EPERM}) {
    EXPECT_EQ(AcceptPolicy::classify(err), Action::report) << err;
  }
}

TEST(AcceptPolicy, BackOffDoublesFromTenMillisecondsToOneSecondAndSuccessResetsIt) {
  AcceptPolicy policy;
  EXPECT_EQ(policy.pause(), 0ms);
  std::vector<long> pauses;
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(policy.failed(EMFILE), Action::back_off);
    pauses.push_back(static_cast<long>(policy.pause().count()));
  }
  EXPECT_EQ(pauses, (std::vector<long>{10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000}));
  EXPECT_EQ(policy.failed(ECONNABORTED), Action::retry);
  EXPECT_EQ(policy.pause(), 1000ms) << "a retried error leaves the back-off as it was";
  policy.succeeded();
  EXPECT_EQ(policy.pause(), 0ms);
  EXPECT_EQ(policy.failed(ENFILE), Action::back_off);
  EXPECT_EQ(policy.pause(), 10ms);
}

TEST(AcceptPolicy, DescribeNamesThePauseOfABackOffOnly) {
  AcceptPolicy policy;
  const Action a = policy.failed(EMFILE);
  EXPECT_EQ(policy.describe("accept: Too many open files", a),
            "accept: Too many open files (pausing accepts for 10 ms)");
  EXPECT_EQ(policy.describe("accept: Bad file descriptor", Action::report),
            "accept: Bad file descriptor");
}

// The reactor in a child process with no descriptor left (ulimit -n 64, every one taken):
// commands on `ctl` ('r' releases the descriptors, 'q' or end of input stops the reactor).
[[noreturn]] void reactor_emfile_child(int ctl, int info, const std::string& err_path) {
  int status = 1;
  try {
    const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (err >= 0) ::dup2(err, 2);
    ss::Reactor reactor;
    ss::ListenOptions options;
    options.interface = "127.0.0.1";
    ss::ListeningPort& port =
        reactor.listen_tcp(0, ss::Factory::for_protocol<rtu::Echo>(), options);
    std::vector<int> hog;
    reactor.call_when_running([&] {
      hog = stu::exhaust_descriptors();
      const int p = port.get_host().port();
      if (::write(info, &p, sizeof p) != sizeof p) ::_exit(3);
    });
    ::fcntl(ctl, F_SETFL, O_NONBLOCK);
    ss::LoopingCall commands(reactor, [&] {
      char c = 0;
      const ssize_t n = ::read(ctl, &c, 1);
      if (n == 0 || c == 'q') {
        reactor.stop();
      } else if (c == 'r') {
        for (int fd : hog) ::close(fd);
        hog.clear();
      }
    });
    commands.start(50ms);
    reactor.run();
    status = 0;
  } catch (...) {
    status = 2;
  }
  ::_exit(status);
}

TEST(ReactorAcceptErrors, DescriptorsExhaustedBackOffWithoutSpinningAndServiceResumes) {
  testutil::TempDir dir;
  stu::CommandedChild child(reactor_emfile_child, dir.file("stderr"));
  const int port = child.read_port();
  ASSERT_NE(port, 0) << "the child did not start: " << child.stderr_text();
  const ss::Address addr{"127.0.0.1", port};

  stu::check_descriptor_exhaustion(child, addr);
  EXPECT_TRUE(child.command('q')) << "the child is gone: " << child.stderr_text();
  EXPECT_TRUE(child.exited_cleanly()) << "child status " << child.finish() << ": "
                                      << child.stderr_text();
  const std::string err = child.stderr_text();
  EXPECT_GE(stu::count_of(err, "pausing accepts for"), 1) << "the back-off is reported: " << err;
  EXPECT_LE(stu::count_of(err, "Too many open files"), 6) << "at a bounded rate: " << err;
}

}  // namespace
