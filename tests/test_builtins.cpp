// Tests for builtins.hpp: time.ctime(), input(), bytes.strip() and repr() of an address, each
// against what Python does (and ctime against the C library's own formatting and, when python3
// is installed, against Python's time.ctime itself).
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>

#include <cstdio>
#include <ctime>
#include <functional>
#include <iostream>
#include <limits>
#include <memory>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "socketserver/builtins.hpp"
#include "test_util.hpp"

namespace ss = socketserver;

namespace {

// A zone with summer time, written as a POSIX rule (no zoneinfo file needed): US Eastern.
constexpr const char* eastern = "EST5EDT,M3.2.0,M11.1.0";

// Times spread over years, both sides of the summer-time changes, days of one and two digits.
std::vector<std::time_t> sample_times() {
  std::vector<std::time_t> times = {0, 1795781144, 1780823100, 951782400, 2147483647, 4102444800};
  for (std::time_t t = 1700000000; t < 1700000000 + 400LL * 86400; t += 86400 * 9 + 3607) {
    times.push_back(t);
  }
  return times;
}

// The C library's own rendering of localtime(t), in the C locale (the test never calls
// setlocale): what ctime(t) must equal.
std::string strftime_local(std::time_t t) {
  std::tm local{};
  if (localtime_r(&t, &local) == nullptr) return "localtime_r failed";
  char text[64];
  const std::size_t n = std::strftime(text, sizeof text, "%a %b %e %H:%M:%S %Y", &local);
  return std::string(text, n);
}

// Sets TZ in this process and makes the C library read it (tzset). Only in a forked child.
void use_zone(const char* tz) {
  ::setenv("TZ", tz, 1);
  ::tzset();
}

// Runs `check` in a forked child (so TZ changes stay there) after the library's one tzset()
// has happened and the zone has then been set to `tz`; `check` returns "" or what went wrong.
void expect_in_zone(const char* tz, const std::function<std::string()>& check) {
  const auto r = testutil::run_in_child([&] {
    (void)ss::ctime(0);
    use_zone(tz);
    return check();
  });
  EXPECT_TRUE(r.exited && r.exit_code == 0) << r.report;
}

// ctime(t) in UTC is `want`.
void expect_utc_ctime(std::time_t t, const std::string& want) {
  expect_in_zone("UTC0", [&] {
    const std::string got = ss::ctime(t);
    return got == want ? "" : "got '" + got + "', want '" + want + "'";
  });
}

}  // namespace

// Python: time.ctime(1795781144) in UTC is 'Fri Nov 27 12:05:44 2026' — the book's timestamp.
TEST(Ctime, FormatsTheBooksTimestamp) { expect_utc_ctime(1795781144, "Fri Nov 27 12:05:44 2026"); }

// Python's ctime pads a one-digit day with a space ("%3d"): 'Sun Jun  7 09:05:00 2026', 24
// characters, no newline (C's ctime() adds one; Python's does not).
TEST(Ctime, PadsOneDigitDaysWithASpaceAndEndsWithoutNewline) {
  expect_utc_ctime(1780823100, "Sun Jun  7 09:05:00 2026");
}

// Python: time.ctime(253402300800) is 'Sat Jan  1 00:00:00 10000' (the year is not cut to 4).
TEST(Ctime, PrintsYearsPast9999Whole) {
  expect_utc_ctime(253402300800, "Sat Jan  1 00:00:00 10000");
}

// Python: time.ctime(2**62) raises (OverflowError: year out of range); here
// std::invalid_argument naming the operation.
TEST(Ctime, TimeBeyondTheCLibraryThrowsInvalidArgument) {
  try {
    (void)ss::ctime(std::numeric_limits<std::time_t>::max());
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("ctime"), std::string::npos) << e.what();
  }
}

// ctime(t) is localtime(t) as strftime("%a %b %e %H:%M:%S %Y") writes it in the C locale, in
// a zone with summer time (so the local conversion, not UTC, is what is formatted).
TEST(Ctime, EqualsStrftimeOfLocaltime) {
  expect_in_zone(eastern, [] {
    for (const std::time_t t : sample_times()) {
      const std::string want = strftime_local(t);
      const std::string got = ss::ctime(t);
      if (got != want) return "t=" + std::to_string(t) + ": got '" + got + "', want '" + want + "'";
    }
    return std::string();
  });
}

// The zone is read once (the first call), not per call: no stat of /etc/localtime, no getenv,
// for each timestamp a server writes. A TZ changed afterwards without tzset() is not seen.
TEST(Ctime, ReadsTheZoneOnceNotPerCall) {
  expect_in_zone("UTC0", [] {
    const std::string before = ss::ctime(1795781144);
    ::setenv("TZ", eastern, 1);  // no tzset(): a per-call re-read would see it
    const std::string after = ss::ctime(1795781144);
    if (before != "Fri Nov 27 12:05:44 2026") return "before: '" + before + "'";
    return after == before ? "" : "the zone was read again: '" + after + "'";
  });
}

// Python's time.ctime itself, run by python3 in the same zone, for the same times.
TEST(Ctime, EqualsPythonsTimeCtime) {
  std::string python = SOCKETSERVER_PYTHON3;
  if (python.empty() || python.ends_with("NOTFOUND")) GTEST_SKIP() << "python3 not installed";
  std::string program = "import time\nfor t in [";
  for (const std::time_t t : sample_times()) program += std::to_string(t) + ",";
  program += "]: print(time.ctime(t))\n";
  const std::string command = "TZ='" + std::string(eastern) + "' " + python + " -c '" +
                              std::regex_replace(program, std::regex("'"), "\"") + "'";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
  ASSERT_TRUE(pipe) << command;
  std::vector<std::string> python_lines;
  char line[128];
  while (python_lines.size() < 1000 && std::fgets(line, sizeof line, pipe.get()) != nullptr) {
    std::string s(line);
    if (s.ends_with('\n')) s.pop_back();
    python_lines.push_back(s);
  }
  ASSERT_EQ(python_lines.size(), sample_times().size()) << command;

  expect_in_zone(eastern, [&python_lines] {
    const auto times = sample_times();
    for (std::size_t i = 0; i < times.size(); ++i) {
      const std::string got = ss::ctime(times[i]);
      if (got != python_lines[i]) {
        return "t=" + std::to_string(times[i]) + ": ours '" + got + "', Python's '" +
               python_lines[i] + "'";
      }
    }
    return std::string();
  });
}

// ctime() now: 24 characters of Python's shape.
TEST(Ctime, NowHasPythonsShape) {
  const std::string now = ss::ctime();
  EXPECT_EQ(now.size(), 24u) << now;
  EXPECT_TRUE(
      std::regex_match(now, std::regex("(Mon|Tue|Wed|Thu|Fri|Sat|Sun) "
                                       "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                                       "[ 123][0-9] [0-2][0-9]:[0-5][0-9]:[0-6][0-9] [0-9]{4}")))
      << now;
}

// Thread-safe: handlers of a threaded server stamp replies at the same time. Eight threads
// convert the same times concurrently (the first call among them too) and each gets exactly
// what one thread got alone. Run under TSan by `make tsan`.
TEST(Ctime, ManyThreadsAtOnceGetTheSameTexts) {
  const auto times = sample_times();
  std::vector<std::string> alone;
  for (const std::time_t t : times) alone.push_back(strftime_local(t));
  constexpr int threads = 8;
  constexpr int rounds = 200;
  std::vector<std::string> failures(threads);
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i) {
    pool.emplace_back([&, i] {
      for (int round = 0; round < rounds && failures[i].empty(); ++round) {
        for (std::size_t k = 0; k < times.size(); ++k) {
          const std::string got = ss::ctime(times[k]);
          if (got != alone[k]) failures[i] = "got '" + got + "', want '" + alone[k] + "'";
        }
        if (ss::ctime().size() != 24) failures[i] = "ctime() not 24 characters";
      }
    });
  }
  for (auto& t : pool) t.join();
  for (int i = 0; i < threads; ++i) EXPECT_EQ(failures[i], "") << "thread " << i;
}

// ---- input() ---------------------------------------------------------------------------------

namespace {
// std::cin reads `text` and std::cout writes into `out` while it lives.
class Console {
 public:
  explicit Console(const std::string& text) : in_(text) {
    old_in_ = std::cin.rdbuf(in_.rdbuf());
    old_out_ = std::cout.rdbuf(out_.rdbuf());
  }
  ~Console() {
    std::cin.rdbuf(old_in_);
    std::cout.rdbuf(old_out_);
    std::cin.clear();
  }
  Console(const Console&) = delete;
  Console& operator=(const Console&) = delete;
  std::string written() const { return out_.str(); }

 private:
  std::istringstream in_;
  std::ostringstream out_;
  std::streambuf* old_in_ = nullptr;
  std::streambuf* old_out_ = nullptr;
};
}  // namespace

// Python: input('> ') writes the prompt without a newline and returns the line without its
// '\n' ("\r\n" too: universal newlines); a last line without '\n' is still a line.
TEST(Input, PromptsAndReturnsEachLineWithoutItsEnd) {
  Console console("hello\nwith cr\r\nlast");
  EXPECT_EQ(ss::input("> "), "hello");
  EXPECT_EQ(ss::input("> "), "with cr");
  EXPECT_EQ(ss::input("> "), "last");
  EXPECT_EQ(console.written(), "> > > ");
}

// Python raises EOFError at the end of input; ours returns "" (so `if not data: break` is
// `if (data.empty()) break;`) and ends the prompt's line.
TEST(Input, EndOfInputReturnsEmptyAndEndsThePromptLine) {
  Console console("one\n");
  EXPECT_EQ(ss::input("> "), "one");
  EXPECT_EQ(ss::input("> "), "");
  EXPECT_EQ(ss::input("> "), "");
  EXPECT_EQ(console.written(), "> > \n> \n");
}

// ---- strip() --------------------------------------------------------------------------------

// Python: b' \t[Fri] data\r\n'.strip() == b'[Fri] data'; b' \n'.strip() == b''; inner spaces stay.
TEST(Strip, RemovesAsciiWhitespaceAtBothEndsOnly) {
  EXPECT_EQ(ss::strip(" \t[Fri] data\r\n"), "[Fri] data");
  EXPECT_EQ(ss::strip("a  b"), "a  b");
  EXPECT_EQ(ss::strip(" \n\v\f\r\t"), "");
  EXPECT_EQ(ss::strip(""), "");
  EXPECT_EQ(ss::strip(std::string("\0x\0", 3)), std::string("\0x\0", 3));  // NUL is not space
}

// ---- repr() ---------------------------------------------------------------------------------

// Python: print(addr) for accept()'s address: ('127.0.0.1', 40000); IPv6 is a 4-tuple.
TEST(Repr, PrintsIpAddressesAsPythonsTuples) {
  EXPECT_EQ(ss::repr(ss::Address("127.0.0.1", 40000)), "('127.0.0.1', 40000)");
  EXPECT_EQ(ss::repr(ss::Address::inet6("::1", 40000, 5, 0)), "('::1', 40000, 5, 0)");
  EXPECT_EQ(ss::repr(ss::Address("localhost", 21567)), "('localhost', 21567)");
  EXPECT_EQ(ss::repr(ss::Address("", 21567)), "('', 21567)");
}

// Python: a Unix path is a str ('/tmp/s', '' when the peer is unnamed); an abstract name is
// bytes (b'\x00name'); the quote switches to " when the text holds a ' and no ".
TEST(Repr, PrintsUnixAddressesAsPythonsStrAndBytes) {
  EXPECT_EQ(ss::repr(ss::Address::unix_path("/tmp/s.sock")), "'/tmp/s.sock'");
  EXPECT_EQ(ss::repr(ss::Address::unix_path("/tmp/it's")), "\"/tmp/it's\"");
  EXPECT_EQ(ss::repr(ss::Address::abstract(std::string("a\x01\xff\\", 4))),
            "b'\\x00a\\x01\\xff\\\\'");
  // An unnamed peer (a client that never bound): what accept() returns on a Unix server.
  auto [a, b] = ss::socketpair(AF_UNIX, SOCK_STREAM);
  EXPECT_EQ(ss::repr(a.getpeername()), "''");
}
