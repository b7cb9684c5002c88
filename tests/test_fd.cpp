// test_fd.cpp — the core's descriptor pieces: detail::Fd (one owner, closes once),
// detail::retry_on_eintr, detail::Epoll (the one epoll set) and the counting Waker.
#include "socketserver/detail/fd.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <utility>

#include "epoll.hpp"  // src/: internal
#include "socketserver/selector.hpp"
#include "test_util.hpp"

namespace ss = socketserver;
using ss::detail::Epoll;
using ss::detail::Fd;
using namespace std::chrono_literals;

namespace {

int open_null() { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); }

TEST(Fd, ClosesItsDescriptorOnceWhenDestroyed) {
  int raw = -1;
  {
    Fd fd(open_null());
    raw = fd.get();
    ASSERT_TRUE(fd);
    EXPECT_TRUE(testutil::fd_is_open(raw));
  }
  EXPECT_FALSE(testutil::fd_is_open(raw)) << "closed by the destructor";
  Fd none;
  EXPECT_FALSE(none);
  EXPECT_EQ(none.get(), -1);
}

TEST(Fd, MoveHandsTheDescriptorOverAndTheSourceClosesNothing) {
  Fd a(open_null());
  const int raw = a.get();
  Fd b(std::move(a));
  EXPECT_EQ(a.get(), -1);  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(b.get(), raw);
  Fd c(open_null());
  const int other = c.get();
  c = std::move(b);  // c's own descriptor closes, raw moves in
  EXPECT_FALSE(testutil::fd_is_open(other));
  EXPECT_EQ(c.get(), raw);
  EXPECT_TRUE(testutil::fd_is_open(raw));
  Fd& same = c;
  c = std::move(same);  // self-move keeps it
  EXPECT_EQ(c.get(), raw);
  EXPECT_TRUE(testutil::fd_is_open(raw));
}

TEST(Fd, ResetClosesTheOldAndReleaseGivesUpWithoutClosing) {
  Fd fd(open_null());
  const int first = fd.get();
  fd.reset(open_null());
  EXPECT_NE(fd.get(), first);
  EXPECT_FALSE(testutil::fd_is_open(first)) << "reset closed the old one";
  const int second = fd.release();
  EXPECT_FALSE(fd);
  EXPECT_TRUE(testutil::fd_is_open(second)) << "release() closes nothing";
  ::close(second);
}

TEST(RetryOnEintr, RetriesInterruptedCallsAndReturnsOtherFailuresAtOnce) {
  int calls = 0;
  const int got = ss::detail::retry_on_eintr([&] {
    if (++calls < 4) {
      errno = EINTR;
      return -1;
    }
    return 7;
  });
  EXPECT_EQ(got, 7);
  EXPECT_EQ(calls, 4);
  calls = 0;
  const int failed = ss::detail::retry_on_eintr([&] {
    ++calls;
    errno = EBADF;
    return -1;
  });
  EXPECT_EQ(failed, -1);
  EXPECT_EQ(errno, EBADF) << "errno is the caller's to read";
  EXPECT_EQ(calls, 1);
}

TEST(Epoll, ReportsReadyDescriptorsWithTheirData) {
  Epoll set;
  EXPECT_TRUE(testutil::fd_cloexec(set.fileno()));
  ss::Waker a;
  ss::Waker b;
  set.add(a.fileno(), ss::EVENT_READ, 11);
  set.add(b.fileno(), ss::EVENT_READ, 22);
  epoll_event out[4];
  EXPECT_EQ(set.wait(out, 4, 0), 0);
  b.wake();
  ASSERT_EQ(set.wait(out, 4, 5000), 1);
  EXPECT_EQ(out[0].data.u64, 22u);
  set.modify(b.fileno(), ss::EVENT_WRITE, 33);  // an eventfd is writable
  ASSERT_EQ(set.wait(out, 4, 5000), 1);
  EXPECT_EQ(out[0].data.u64, 33u);
  EXPECT_NE(out[0].events & EPOLLOUT, 0u);
}

TEST(Epoll, ErrorsNameTheDescriptorAndRemovingAClosedOneIsNoError) {
  Epoll set;
  EXPECT_THROW(set.add(-1, ss::EVENT_READ, 0), ss::socket_error);
  ss::Waker w;
  EXPECT_THROW(set.modify(w.fileno(), ss::EVENT_READ, 0), ss::socket_error) << "not added";
  try {
    set.add(w.fileno(), ss::EVENT_READ, 0);
    set.add(w.fileno(), ss::EVENT_READ, 0);
    FAIL() << "a second add must throw";
  } catch (const ss::socket_error& e) {
    EXPECT_EQ(e.errno_value(), EEXIST);
    EXPECT_NE(std::string(e.what()).find("fd " + std::to_string(w.fileno())), std::string::npos)
        << e.what();
  }
  EXPECT_NO_THROW(set.remove(w.fileno()));
  EXPECT_NO_THROW(set.remove(w.fileno())) << "not in the set (ENOENT): not an error";
  int raw = -1;
  {
    ss::Waker gone;
    raw = gone.fileno();
    set.add(raw, ss::EVENT_READ, 0);
  }
  EXPECT_NO_THROW(set.remove(raw)) << "closed before removal (EBADF): not an error";
  set.close();
  EXPECT_EQ(set.fileno(), -1);
}

TEST(Epoll, EdgeTriggeredReportsOncePerChange) {
  Epoll set;
  ss::Waker w;
  set.add(w.fileno(), ss::EVENT_READ | Epoll::kEdge, 1);
  epoll_event out[2];
  w.wake();
  EXPECT_EQ(set.wait(out, 2, 5000), 1);
  EXPECT_EQ(set.wait(out, 2, 0), 0) << "still readable, but no new change";
  w.wake();
  EXPECT_EQ(set.wait(out, 2, 5000), 1);
}

TEST(Epoll, ASignalEndsTheWaitWithNothingReady) {
  Epoll set;
  ss::Waker w;
  set.add(w.fileno(), ss::EVENT_READ, 1);
  epoll_event out[2];
  int got = -1;
  std::chrono::steady_clock::duration waited{};
  testutil::under_signals([&] {
    // Signals come every few milliseconds: the wait ends at the first, long before its 5 s.
    const auto t0 = std::chrono::steady_clock::now();
    got = set.wait(out, 2, 5000);
    waited = std::chrono::steady_clock::now() - t0;
  });
  EXPECT_EQ(got, 0) << "EINTR is 0 ready, not an error";
  EXPECT_LT(waited, 4s) << "ended by the signal, not by its timeout";
}

TEST(Waker, CountingKeepsOneWakeUpPerWake) {
  ss::Waker w(ss::Waker::counting);
  ss::Selector sel;
  sel.register_(w.fileno(), ss::EVENT_READ);
  EXPECT_FALSE(w.drain());
  w.wake();
  w.wake();
  w.wake();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(sel.select(0s).size(), 1u) << "readable while a count is left";
    EXPECT_TRUE(w.drain());
  }
  EXPECT_TRUE(sel.select(0s).empty());
  EXPECT_FALSE(w.drain());
}

}  // namespace
