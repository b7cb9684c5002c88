// test_buffer.cpp — detail::ByteBuffer, the one byte buffer under SocketReader, LineReceiver
// and the reactor's output queue: append/consume order, receiving into prepare()d room,
// prepend, delimiter search, bounded storage, and a randomized model check against std::string.
#include "socketserver/detail/buffer.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>

using socketserver::detail::ByteBuffer;

namespace {

TEST(ByteBuffer, AppendThenConsumeKeepsOrderAndEmptiesToTheFront) {
  ByteBuffer b;
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.view(), "");
  b.append("hello ");
  b.append("world");
  EXPECT_EQ(b.view(), "hello world");
  EXPECT_EQ(b.size(), 11u);
  b.consume(6);
  EXPECT_EQ(b.view(), "world");
  EXPECT_EQ(b.take(3), "wor");
  EXPECT_EQ(b.view(), "ld");
  b.consume(2);
  EXPECT_TRUE(b.empty());
  b.append("x");  // after emptying, the next bytes start at the front again
  EXPECT_EQ(b.view(), "x");
  EXPECT_EQ(b.data(), b.view().data());
}

TEST(ByteBuffer, PrepareAndCommitReceiveInPlace) {
  ByteBuffer b;
  b.append("ab");
  auto room = b.prepare(5);
  ASSERT_GE(room.size(), 5u);
  std::memcpy(room.data(), "cdefg", 5);
  b.commit(3);  // only three of the five arrived
  EXPECT_EQ(b.view(), "abcde");
}

TEST(ByteBuffer, ConsumingMovesNoBytesUntilRoomIsNeeded) {
  ByteBuffer b;
  b.append(std::string(1000, 'a'));
  const char* before = b.data();
  b.consume(10);
  EXPECT_EQ(b.data(), before + 10) << "consume moves an index, not the bytes";
}

TEST(ByteBuffer, StorageStaysBoundedUnderAQueueThatIsAlwaysDrained) {
  // The reactor's output queue: append a chunk, send (consume) most of it, over and over.
  ByteBuffer b;
  std::size_t max_capacity = 0;
  for (int i = 0; i < 10000; ++i) {
    b.append(std::string(1000, 'q'));
    b.consume(b.size() > 500 ? b.size() - 500 : 0);
    max_capacity = std::max(max_capacity, b.capacity());
  }
  EXPECT_EQ(b.size(), 500u);
  EXPECT_LE(max_capacity, 4096u) << "sliding to the front keeps a drained queue small";
}

TEST(ByteBuffer, PrependPutsBytesBackBeforeTheUnreadOnes) {
  ByteBuffer b;
  b.append("0123456789");
  b.consume(4);
  b.prepend("ab");  // fits in the consumed room
  EXPECT_EQ(b.view(), "ab456789");
  b.prepend(std::string(100, 'z'));  // does not fit: reallocates
  EXPECT_EQ(b.view(), std::string(100, 'z') + "ab456789");
  ByteBuffer empty;
  empty.prepend("only");
  EXPECT_EQ(empty.view(), "only");
}

TEST(ByteBuffer, RepeatedPrependsDoNotGrowStorageBeyondWhatTheBytesNeed) {
  ByteBuffer b;
  for (int i = 0; i < 1000; ++i) {
    b.prepend("0123456789");
    b.consume(b.size() > 100 ? 10 : 0);
  }
  EXPECT_LE(b.size(), 110u);
  EXPECT_LE(b.capacity(), 1024u);
}

TEST(ByteBuffer, FindsOneByteAndLongDelimitersFromAnOffset) {
  ByteBuffer b;
  b.append("a\r\nbb\r\nc");
  EXPECT_EQ(b.find("\n"), 2u);
  EXPECT_EQ(b.find("\n", 3), 6u);
  EXPECT_EQ(b.find("\r\n"), 1u);
  EXPECT_EQ(b.find("\r\n", 2), 5u);
  EXPECT_EQ(b.find("x"), ByteBuffer::npos);
  EXPECT_EQ(b.find("\n", 100), ByteBuffer::npos) << "an offset past the end finds nothing";
  b.consume(3);
  EXPECT_EQ(b.find("\r\n"), 2u) << "positions count from the first unread byte";
  EXPECT_EQ(ByteBuffer::find_in("xy", "y", 0), 1u);
  EXPECT_EQ(ByteBuffer::find_in("", "y", 0), ByteBuffer::npos);
}

TEST(ByteBuffer, ReleaseIfIdleFreesOnlyABigEmptyBuffer) {
  ByteBuffer b;
  b.append(std::string(1 << 16, 'a'));
  b.release_if_idle(1024);
  EXPECT_EQ(b.size(), std::size_t{1} << 16) << "unread bytes are never dropped";
  b.clear();
  EXPECT_GE(b.capacity(), std::size_t{1} << 16) << "clear keeps the storage";
  b.release_if_idle(1024);
  EXPECT_EQ(b.capacity(), 0u);
  b.append("again");
  EXPECT_EQ(b.view(), "again");
}

TEST(ByteBuffer, MoveAndSwapHandTheBytesOver) {
  ByteBuffer a;
  a.append("one");
  ByteBuffer b(std::move(a));
  EXPECT_EQ(b.view(), "one");
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
  ByteBuffer c;
  c.append("two");
  b.swap(c);
  EXPECT_EQ(b.view(), "two");
  EXPECT_EQ(c.view(), "one");
}

TEST(ByteBuffer, AbsurdSizesThrowLengthErrorInsteadOfAllocating) {
  ByteBuffer b;
  b.append("x");
  EXPECT_THROW(b.prepare(std::size_t{1} << 62), std::length_error);
  EXPECT_EQ(b.view(), "x") << "nothing lost";
}

TEST(ByteBuffer, RandomOperationsMatchAStringModel) {
  std::mt19937 rng(12345);
  ByteBuffer b;
  std::string model;
  for (int i = 0; i < 20000; ++i) {
    switch (rng() % 5) {
      case 0: {
        std::string s(rng() % 300, static_cast<char>('a' + rng() % 26));
        b.append(s);
        model += s;
        break;
      }
      case 1: {
        const std::size_t n = model.empty() ? 0 : rng() % (model.size() + 1);
        b.consume(n);
        model.erase(0, n);
        break;
      }
      case 2: {
        std::string s(rng() % 50, static_cast<char>('A' + rng() % 26));
        b.prepend(s);
        model.insert(0, s);
        break;
      }
      case 3: {
        const std::size_t want = rng() % 400;
        auto room = b.prepare(want);
        ASSERT_GE(room.size(), want);
        const std::size_t got = want == 0 ? 0 : rng() % (want + 1);
        std::memset(room.data(), '#', got);
        b.commit(got);
        model.append(got, '#');
        break;
      }
      default:
        EXPECT_EQ(b.find("#"), model.find('#'));
        break;
    }
    ASSERT_EQ(b.view(), model) << "step " << i;
  }
}

}  // namespace
