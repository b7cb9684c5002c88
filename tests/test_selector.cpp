// test_selector.cpp — selector.hpp: Selector (Python's selectors.DefaultSelector) and Waker.
#include "socketserver/selector.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "reactor_test_util.hpp"
#include "server_test_util.hpp"
#include "test_util.hpp"

namespace ss = socketserver;
using namespace std::chrono_literals;
using ss::EVENT_READ;
using ss::EVENT_WRITE;
using ss::Selector;
using ss::Socket;
using ss::Waker;

namespace {

std::pair<Socket, Socket> pair_with_timeout() {
  auto p = ss::socketpair();
  p.first.settimeout(10s);
  p.second.settimeout(10s);
  return p;
}

// Finds the ready entry of `fd` in a select() result (nullptr when absent).
const Selector::Ready* find_ready(const std::vector<Selector::Ready>& ready, int fd) {
  for (const auto& r : ready) {
    if (r.first.fd == fd) return &r;
  }
  return nullptr;
}

}  // namespace

TEST(Selector, StartsEmptyWithAnEpollDescriptor) {
  Selector sel;
  EXPECT_GE(sel.fileno(), 0);
  EXPECT_TRUE(testutil::fd_cloexec(sel.fileno()));
  EXPECT_EQ(sel.size(), 0u);
  EXPECT_TRUE(sel.select(0s).empty());
}

TEST(Selector, RegisterReturnsTheKeyWithDataAndGetKeyFindsIt) {
  Selector sel;
  auto [a, b] = pair_with_timeout();
  int tag = 42;
  const ss::SelectorKey& key = sel.register_(a, EVENT_READ, &tag);
  EXPECT_EQ(key.fd, a.fileno());
  EXPECT_EQ(key.events, EVENT_READ);
  EXPECT_EQ(key.data, &tag);
  EXPECT_TRUE(sel.contains(a.fileno()));
  EXPECT_FALSE(sel.contains(b.fileno()));
  EXPECT_EQ(sel.size(), 1u);
  EXPECT_EQ(sel.get_key(a.fileno()).data, &tag);
}

TEST(Selector, SelectReportsReadableWithTheDataPointer) {
  Selector sel;
  auto [a, b] = pair_with_timeout();
  int tag = 7;
  sel.register_(a, EVENT_READ, &tag);
  EXPECT_TRUE(sel.select(0s).empty()) << "nothing to read yet";
  b.sendall("x");
  const auto& ready = sel.select(5s);
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].first.fd, a.fileno());
  EXPECT_EQ(ready[0].first.data, &tag);
  EXPECT_EQ(ready[0].second, EVENT_READ);
  EXPECT_EQ(a.recv(10), "x");
  EXPECT_TRUE(sel.select(0s).empty()) << "data consumed: no longer readable";
}

TEST(Selector, ShortTimeoutReturnsEmptyAfterWaiting) {
  Selector sel;
  auto [a, b] = pair_with_timeout();
  sel.register_(a, EVENT_READ);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(sel.select(50ms).empty());
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(waited, 45ms) << "a 50 ms select must wait (rounded up, never down to a spin)";
  EXPECT_LT(waited, 5s);
}

TEST(Selector, SubMillisecondTimeoutStillWaits) {
  // A timeout below 1 ms must not be rounded down to a non-blocking poll (busy loops).
  Selector sel;
  auto [a, b] = pair_with_timeout();
  sel.register_(a, EVENT_READ);
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(sel.select(std::chrono::microseconds(100)).empty());
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 2ms);
}

TEST(Selector, WriteEventsAndModify) {
  Selector sel;
  auto [a, b] = pair_with_timeout();
  int t1 = 1;
  int t2 = 2;
  sel.register_(a, EVENT_WRITE, &t1);
  auto ready = sel.select(5s);
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].second, EVENT_WRITE);
  EXPECT_EQ(ready[0].first.data, &t1);

  const ss::SelectorKey& k = sel.modify(a, EVENT_READ, &t2);
  EXPECT_EQ(k.events, EVENT_READ);
  EXPECT_EQ(k.data, &t2);
  EXPECT_TRUE(sel.select(0s).empty()) << "now only reading, and nothing to read";

  b.sendall("y");
  sel.modify(a, EVENT_READ | EVENT_WRITE, &t1);
  ready = sel.select(5s);
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].second, EVENT_READ | EVENT_WRITE);
  EXPECT_EQ(ready[0].first.data, &t1);

  // modify with the same events changes only the data.
  sel.modify(a, EVENT_READ | EVENT_WRITE, &t2);
  EXPECT_EQ(sel.get_key(a.fileno()).data, &t2);
  ASSERT_EQ(sel.select(0s).size(), 1u);
  EXPECT_EQ(sel.select(0s)[0].first.data, &t2);
}

TEST(Selector, UnregisterReturnsTheKeyAndStopsReporting) {
  Selector sel;
  auto [a, b] = pair_with_timeout();
  int tag = 3;
  sel.register_(a, EVENT_READ, &tag);
  b.sendall("z");
  const ss::SelectorKey old = sel.unregister(a);
  EXPECT_EQ(old.fd, a.fileno());
  EXPECT_EQ(old.events, EVENT_READ);
  EXPECT_EQ(old.data, &tag);
  EXPECT_EQ(sel.size(), 0u);
  EXPECT_FALSE(sel.contains(a.fileno()));
  EXPECT_TRUE(sel.select(0s).empty());
  // Registering again after unregister works.
  sel.register_(a, EVENT_READ);
  EXPECT_EQ(sel.select(5s).size(), 1u);
}

TEST(Selector, UnregisterAfterTheDescriptorWasClosedIsNotAnError) {
  Selector sel;
  auto [a, b] = pair_with_timeout();
  const int fd = a.fileno();
  sel.register_(fd, EVENT_READ);
  a.close();
  EXPECT_NO_THROW(sel.unregister(fd));
  EXPECT_EQ(sel.size(), 0u);
}

TEST(Selector, SeveralDescriptorsOnlyTheReadyOnesReported) {
  Selector sel;
  auto [a1, b1] = pair_with_timeout();
  auto [a2, b2] = pair_with_timeout();
  auto [a3, b3] = pair_with_timeout();
  int d1 = 1, d2 = 2, d3 = 3;
  sel.register_(a1, EVENT_READ, &d1);
  sel.register_(a2, EVENT_READ, &d2);
  sel.register_(a3, EVENT_READ, &d3);
  EXPECT_EQ(sel.size(), 3u);
  b1.sendall("1");
  b3.sendall("3");
  ASSERT_TRUE(stu::wait_until([&] { return sel.select(0s).size() == 2; }, 5s));
  const auto& ready = sel.select(0s);
  ASSERT_NE(find_ready(ready, a1.fileno()), nullptr);
  ASSERT_NE(find_ready(ready, a3.fileno()), nullptr);
  EXPECT_EQ(find_ready(ready, a2.fileno()), nullptr);
  EXPECT_EQ(find_ready(ready, a1.fileno())->first.data, &d1);
  EXPECT_EQ(find_ready(ready, a3.fileno())->first.data, &d3);
}

TEST(Selector, HangupIsReportedAsReadable) {
  Selector sel;
  auto [a, b] = pair_with_timeout();
  sel.register_(a, EVENT_READ);
  b.close();
  const auto& ready = sel.select(5s);
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_NE(ready[0].second & EVENT_READ, 0);
  EXPECT_EQ(a.recv(10), "");
}

TEST(Selector, GetKeyOfUnregisteredThrowsOutOfRange) {
  Selector sel;
  auto [a, b] = pair_with_timeout();
  EXPECT_THROW((void)sel.get_key(a.fileno()), std::out_of_range);
  EXPECT_THROW((void)sel.get_key(-1), std::out_of_range);
  EXPECT_THROW((void)sel.get_key(100000), std::out_of_range);
  EXPECT_THROW(sel.unregister(a), std::out_of_range);
  EXPECT_THROW(sel.modify(a, EVENT_READ), std::out_of_range);
}

TEST(Selector, DoubleRegisterThrowsInvalidArgument) {
  Selector sel;
  auto [a, b] = pair_with_timeout();
  int tag = 1;
  sel.register_(a, EVENT_READ, &tag);
  EXPECT_THROW(sel.register_(a, EVENT_WRITE), std::invalid_argument);
  // The first registration is unchanged.
  EXPECT_EQ(sel.get_key(a.fileno()).events, EVENT_READ);
  EXPECT_EQ(sel.get_key(a.fileno()).data, &tag);
  EXPECT_EQ(sel.size(), 1u);
}

TEST(Selector, BadEventsThrowInvalidArgument) {
  Selector sel;
  auto [a, b] = pair_with_timeout();
  EXPECT_THROW(sel.register_(a, 0), std::invalid_argument);
  EXPECT_THROW(sel.register_(a, 4), std::invalid_argument);
  EXPECT_THROW(sel.register_(a, -1), std::invalid_argument);
  EXPECT_FALSE(sel.contains(a.fileno())) << "a failed register leaves nothing behind";
  EXPECT_EQ(sel.size(), 0u);
  sel.register_(a, EVENT_READ);
  EXPECT_THROW(sel.modify(a, 0), std::invalid_argument);
  EXPECT_THROW(sel.modify(a, EVENT_READ | 8), std::invalid_argument);
  EXPECT_EQ(sel.get_key(a.fileno()).events, EVENT_READ) << "a failed modify changes nothing";
}

TEST(Selector, RegisterOfBadDescriptorThrows) {
  Selector sel;
  EXPECT_THROW(sel.register_(-1, EVENT_READ), std::invalid_argument);
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ::close(fds[0]);
  ::close(fds[1]);
  EXPECT_THROW(sel.register_(fds[0], EVENT_READ), ss::socket_error) << "EBADF from epoll_ctl";
  EXPECT_EQ(sel.size(), 0u);
}

// Python: after sel.close(), get_key raises RuntimeError("Selector is closed") and register /
// select raise (ValueError on the closed epoll object): a use after close is the caller's bug.
TEST(Selector, CloseReleasesTheDescriptorAndLaterCallsThrowLogicError) {
  Selector sel;
  const int fd = sel.fileno();
  auto [a, b] = pair_with_timeout();
  sel.register_(a, EVENT_READ);
  sel.close();
  EXPECT_EQ(sel.fileno(), -1);
  EXPECT_FALSE(testutil::fd_is_open(fd));
  EXPECT_EQ(sel.size(), 0u);
  EXPECT_FALSE(sel.contains(a.fileno()));
  const auto message_of = [](const std::function<void()>& call) -> std::string {
    try {
      call();
    } catch (const std::logic_error& e) {
      return e.what();
    }
    return "no std::logic_error";
  };
  EXPECT_EQ(message_of([&] { sel.select(0s); }), "selector: select on a closed selector");
  EXPECT_EQ(message_of([&] { sel.register_(a, EVENT_READ); }),
            "selector: register on a closed selector");
  EXPECT_EQ(message_of([&] { sel.register_(a.fileno(), EVENT_READ); }),
            "selector: register on a closed selector");
  EXPECT_EQ(message_of([&] { (void)sel.get_key(a.fileno()); }),
            "selector: get_key on a closed selector");
  EXPECT_EQ(message_of([&] { (void)sel.get_key(a); }), "selector: get_key on a closed selector");
  EXPECT_EQ(message_of([&] { sel.unregister(a.fileno()); }),
            "selector: unregister on a closed selector");
  EXPECT_EQ(message_of([&] { sel.unregister(a); }), "selector: unregister on a closed selector");
  EXPECT_EQ(message_of([&] { sel.modify(a, EVENT_WRITE); }),
            "selector: modify on a closed selector");
  EXPECT_EQ(message_of([&] { sel.modify(a.fileno(), EVENT_WRITE); }),
            "selector: modify on a closed selector");
  sel.close();  // idempotent
  Selector moved_from;
  Selector target(std::move(moved_from));
  EXPECT_THROW(moved_from.select(0s), std::logic_error);  // NOLINT(bugprone-use-after-move)
}

// Python: selectors' _fileobj_lookup falls back to the registered object when fileno() fails,
// so sel.unregister(sock) / sel.get_key(sock) / sel.modify(sock, ...) work after sock.close().
TEST(Selector, SocketClosedBeforeUnregisterIsFoundByTheObject) {
  Selector sel;
  auto [a, b] = pair_with_timeout();
  int tag = 1;
  int other = 2;
  const int fd = a.fileno();
  sel.register_(a, EVENT_READ, &tag);
  EXPECT_EQ(sel.get_key(a).fileobj, &a);
  a.close();
  EXPECT_EQ(sel.get_key(a).fd, fd) << "the key remembers the descriptor";
  EXPECT_EQ(sel.get_key(a).data, &tag);
  EXPECT_EQ(sel.modify(a, EVENT_READ, &other).data, &other) << "new data needs no system call";
  EXPECT_THROW(sel.modify(a, EVENT_WRITE), ss::socket_error) << "epoll_ctl on a closed fd";
  const ss::SelectorKey key = sel.unregister(a);
  EXPECT_EQ(key.fd, fd);
  EXPECT_EQ(key.data, &other);
  EXPECT_EQ(sel.size(), 0u);
  EXPECT_THROW(sel.unregister(a), std::out_of_range) << "KeyError the second time";
  EXPECT_THROW((void)sel.get_key(a), std::out_of_range);
}

// The bug this fixes: the stale key kept the number, and a new socket that reused it could not
// register ("already registered"). Python registers it.
TEST(Selector, NewSocketReusingTheNumberRegistersAfterTheOldOneIsUnregistered) {
  Selector sel;
  auto [a, b] = pair_with_timeout();
  const int fd = a.fileno();
  sel.register_(a, EVENT_READ);
  a.close();
  sel.unregister(a);
  auto [c, d] = pair_with_timeout();  // the lowest free numbers: c takes a's
  ASSERT_EQ(c.fileno(), fd);
  int tag = 3;
  EXPECT_EQ(sel.register_(c, EVENT_READ, &tag).fileobj, &c);
  d.sendall("x");
  const auto& ready = sel.select(5s);
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].first.data, &tag);
}

// Python's EpollSelector sizes epoll_wait for every registered descriptor: one select()
// returns all that are ready (ours stopped at 1,024).
TEST(Selector, SelectReturnsEveryReadyDescriptorInOneCall) {
  constexpr int count = 1500;
  if (rtu::raise_nofile() < count + 64) GTEST_SKIP() << "RLIMIT_NOFILE too low";
  Selector sel;
  std::vector<ss::Waker> wakers;
  wakers.reserve(count);
  for (int i = 0; i < count; ++i) {
    wakers.emplace_back();
    sel.register_(wakers.back().fileno(), EVENT_READ);
    wakers.back().wake();
  }
  const auto& ready = sel.select(5s);
  EXPECT_EQ(ready.size(), static_cast<std::size_t>(count));
}

TEST(Selector, MoveTransfersTheRegistrations) {
  Selector sel;
  auto [a, b] = pair_with_timeout();
  int tag = 9;
  sel.register_(a, EVENT_READ, &tag);
  const int epfd = sel.fileno();
  Selector moved(std::move(sel));
  EXPECT_EQ(moved.fileno(), epfd);
  EXPECT_EQ(sel.fileno(), -1);  // NOLINT(bugprone-use-after-move): documented state
  EXPECT_EQ(moved.size(), 1u);
  b.sendall("m");
  const auto& ready = moved.select(5s);
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].first.data, &tag);
}

// PEP 475: a signal whose handler returns does not end select(); it waits on and returns what
// becomes ready (Python retries epoll.poll with the time left).
TEST(Selector, SignalDoesNotEndTheWaitItGoesOnUntilSomethingIsReady) {
  Selector sel;
  auto [a, b] = pair_with_timeout();
  sel.register_(a, EVENT_READ);
  std::size_t got = 0;
  int fd_ready = -1;
  const int base = testutil::g_signals_caught.load();
  bool hit = false;
  const int handled = testutil::under_signals([&] {
    std::thread writer([&b, &hit, base] {
      // Writes once signals have surely hit the wait.
      hit = testutil::wait_until([&] { return testutil::g_signals_caught.load() >= base + 20; });
      b.sendall("r");
    });
    const auto& ready = sel.select(30s);
    got = ready.size();
    if (!ready.empty()) fd_ready = ready[0].first.fd;
    writer.join();
  });
  EXPECT_TRUE(hit) << "20 signals never hit the wait";
  EXPECT_GT(handled, 0);
  ASSERT_EQ(got, 1u) << "select returned early on EINTR";
  EXPECT_EQ(fd_ready, a.fileno());
}

// PEP 475 again: under a hail of signals a timed select with nothing ready returns empty only
// when its whole timeout has passed (Python recomputes the time left after each EINTR).
TEST(Selector, SignalsDoNotShortenTheTimeout) {
  Selector sel;
  auto [a, b] = pair_with_timeout();
  sel.register_(a, EVENT_READ);
  std::size_t got = 99;
  std::chrono::steady_clock::duration waited{};
  const int handled = testutil::under_signals([&] {
    const auto t0 = std::chrono::steady_clock::now();
    got = sel.select(300ms).size();
    waited = std::chrono::steady_clock::now() - t0;
  });
  EXPECT_GT(handled, 0);
  EXPECT_EQ(got, 0u);
  EXPECT_GE(waited, 300ms) << "a signal cut the timeout short";
  EXPECT_LT(waited, 10s) << "the time left must shrink, not restart";
}

// ---- Waker ------------------------------------------------------------------------------------

TEST(Waker, WakeMakesItReadableAndDrainClearsIt) {
  Waker w;
  ASSERT_GE(w.fileno(), 0);
  EXPECT_TRUE(testutil::fd_cloexec(w.fileno()));
  Selector sel;
  sel.register_(w.fileno(), EVENT_READ);
  EXPECT_TRUE(sel.select(0s).empty());
  EXPECT_FALSE(w.drain()) << "nothing to drain before a wake";
  w.wake();
  w.wake();
  w.wake();
  ASSERT_EQ(sel.select(5s).size(), 1u);
  EXPECT_TRUE(w.drain());
  EXPECT_TRUE(sel.select(0s).empty()) << "several wakes are one wake-up";
  EXPECT_FALSE(w.drain());
}

TEST(Waker, WakesASelectInAnotherThread) {
  Waker w;
  std::atomic<bool> woke{false};
  std::atomic<long long> waited_ms{-1};
  std::atomic<pid_t> tid{0};
  std::thread selecting([&] {
    tid = testutil::this_tid();
    Selector sel;
    sel.register_(w.fileno(), EVENT_READ);
    const auto t0 = std::chrono::steady_clock::now();
    const auto& ready = sel.select(std::chrono::hours(1));
    waited_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    woke = ready.size() == 1 && ready[0].first.fd == w.fileno();
    w.drain();
  });
  // The other thread blocks in select (seen through /proc) before the wake.
  EXPECT_TRUE(stu::wait_until([&] { return tid.load() != 0; }));
  EXPECT_TRUE(stu::wait_asleep(tid.load())) << "the selecting thread never blocked";
  w.wake();
  selecting.join();  // cannot hang past the wake
  EXPECT_TRUE(woke.load());
  EXPECT_LT(waited_ms.load(), 5000);
}

TEST(Waker, WakeBeforeSelectIsNotLost) {
  Waker w;
  w.wake();
  Selector sel;
  sel.register_(w.fileno(), EVENT_READ);
  EXPECT_EQ(sel.select(5s).size(), 1u);
}

TEST(Waker, ManyWakesFromManyThreads) {
  Waker w;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&w] {
      for (int i = 0; i < 1000; ++i) w.wake();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_TRUE(w.drain());
  EXPECT_FALSE(w.drain());
}

TEST(Waker, MoveKeepsTheDescriptor) {
  Waker w;
  const int fd = w.fileno();
  Waker moved(std::move(w));
  EXPECT_EQ(moved.fileno(), fd);
  EXPECT_EQ(w.fileno(), -1);  // NOLINT(bugprone-use-after-move)
  moved.wake();
  EXPECT_TRUE(moved.drain());
}
