// test_errors.cpp — errors.hpp: the exception family and the errno → class mapping.
#include "socketserver/errors.hpp"

#include <gtest/gtest.h>
#include <netdb.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <string>
#include <system_error>
#include <type_traits>
#include <typeinfo>

namespace ss = socketserver;

namespace {

// Runs throw_os_error(err, ctx) and checks the exception's exact type and the common contract:
// catchable as socket_error and std::system_error, errno, category, what().
template <class Expected>
void expect_mapping(int err) {
  const std::string ctx = "connect to 127.0.0.1:21567";
  bool caught = false;
  try {
    ss::throw_os_error(err, ctx);
  } catch (const Expected& e) {
    caught = true;
    EXPECT_EQ(typeid(e), typeid(Expected)) << "errno " << err << " threw " << typeid(e).name();
    EXPECT_EQ(e.errno_value(), err);
    EXPECT_EQ(e.code().category(), std::system_category());
  } catch (const std::exception& e) {
    ADD_FAILURE() << "errno " << err << " threw the wrong type " << typeid(e).name() << ": "
                  << e.what();
  }
  EXPECT_TRUE(caught) << "errno " << err;
}

}  // namespace

// ---- the mapping, one test per errno --------------------------------------------------------

TEST(ThrowOsError, EconnrefusedIsConnectionRefused) {
  expect_mapping<ss::connection_refused_error>(ECONNREFUSED);
}
TEST(ThrowOsError, EconnresetIsConnectionReset) {
  expect_mapping<ss::connection_reset_error>(ECONNRESET);
}
TEST(ThrowOsError, EconnabortedIsConnectionAborted) {
  expect_mapping<ss::connection_aborted_error>(ECONNABORTED);
}
TEST(ThrowOsError, EpipeIsBrokenPipe) { expect_mapping<ss::broken_pipe_error>(EPIPE); }
TEST(ThrowOsError, EshutdownIsBrokenPipe) { expect_mapping<ss::broken_pipe_error>(ESHUTDOWN); }
TEST(ThrowOsError, EaddrinuseIsAddressInUse) {
  expect_mapping<ss::address_in_use_error>(EADDRINUSE);
}
TEST(ThrowOsError, EagainIsBlockingIo) { expect_mapping<ss::blocking_io_error>(EAGAIN); }
TEST(ThrowOsError, EwouldblockIsBlockingIo) {
  expect_mapping<ss::blocking_io_error>(EWOULDBLOCK);
}
TEST(ThrowOsError, EinprogressIsBlockingIo) {
  expect_mapping<ss::blocking_io_error>(EINPROGRESS);
}
TEST(ThrowOsError, EalreadyIsBlockingIo) { expect_mapping<ss::blocking_io_error>(EALREADY); }
TEST(ThrowOsError, EtimedoutIsTimeout) { expect_mapping<ss::timeout_error>(ETIMEDOUT); }
TEST(ThrowOsError, EbadfIsPlainSocketError) { expect_mapping<ss::socket_error>(EBADF); }
TEST(ThrowOsError, EaccesIsPlainSocketError) { expect_mapping<ss::socket_error>(EACCES); }
TEST(ThrowOsError, EnotconnIsPlainSocketError) { expect_mapping<ss::socket_error>(ENOTCONN); }

// ---- the hierarchy ----------------------------------------------------------------------------

TEST(ErrorHierarchy, EveryMappedErrorIsASocketErrorAndASystemError) {
  for (int err : {ECONNREFUSED, ECONNRESET, ECONNABORTED, EPIPE, EADDRINUSE, EAGAIN,
                  EINPROGRESS, ETIMEDOUT, EBADF}) {
    SCOPED_TRACE(err);
    EXPECT_THROW(ss::throw_os_error(err, "op"), ss::socket_error);
    EXPECT_THROW(ss::throw_os_error(err, "op"), std::system_error);
    EXPECT_THROW(ss::throw_os_error(err, "op"), std::runtime_error);
  }
}

TEST(ErrorHierarchy, ConnectionErrorsAreCatchableAsConnectionError) {
  for (int err : {ECONNREFUSED, ECONNRESET, ECONNABORTED, EPIPE}) {
    SCOPED_TRACE(err);
    EXPECT_THROW(ss::throw_os_error(err, "op"), ss::connection_error);
  }
}

TEST(ErrorHierarchy, OtherErrorsAreNotConnectionErrors) {
  for (int err : {EADDRINUSE, EAGAIN, ETIMEDOUT, EBADF}) {
    SCOPED_TRACE(err);
    bool was_connection_error = false;
    try {
      ss::throw_os_error(err, "op");
    } catch (const ss::connection_error&) {
      was_connection_error = true;
    } catch (const ss::socket_error&) {
    }
    EXPECT_FALSE(was_connection_error);
  }
}

TEST(ErrorHierarchy, StaticRelations) {
  static_assert(std::is_base_of_v<std::system_error, ss::socket_error>);
  static_assert(std::is_base_of_v<ss::socket_error, ss::timeout_error>);
  static_assert(std::is_base_of_v<ss::socket_error, ss::blocking_io_error>);
  static_assert(std::is_base_of_v<ss::socket_error, ss::connection_error>);
  static_assert(std::is_base_of_v<ss::connection_error, ss::connection_refused_error>);
  static_assert(std::is_base_of_v<ss::connection_error, ss::connection_reset_error>);
  static_assert(std::is_base_of_v<ss::connection_error, ss::connection_aborted_error>);
  static_assert(std::is_base_of_v<ss::connection_error, ss::broken_pipe_error>);
  static_assert(std::is_base_of_v<ss::socket_error, ss::address_in_use_error>);
  static_assert(!std::is_base_of_v<ss::connection_error, ss::address_in_use_error>);
  static_assert(std::is_base_of_v<ss::socket_error, ss::gai_error>);
  static_assert(std::is_base_of_v<std::length_error, ss::line_too_long_error>);
  static_assert(!std::is_base_of_v<ss::socket_error, ss::line_too_long_error>);
  SUCCEED();
}

// ---- messages ---------------------------------------------------------------------------------

TEST(ErrorMessage, WhatIsContextColonStrerror) {
  try {
    ss::throw_os_error(ECONNREFUSED, "connect to 127.0.0.1:21567");
    FAIL() << "no exception";
  } catch (const ss::socket_error& e) {
    EXPECT_STREQ(e.what(), "connect to 127.0.0.1:21567: Connection refused");
  }
}

TEST(ErrorMessage, WhatUsesStrerrorForEveryMappedErrno) {
  for (int err : {ECONNRESET, ECONNABORTED, EPIPE, EADDRINUSE, EAGAIN, EINPROGRESS, EBADF}) {
    SCOPED_TRACE(err);
    try {
      ss::throw_os_error(err, "send to [::1]:80");
      ADD_FAILURE() << "no exception";
    } catch (const ss::socket_error& e) {
      EXPECT_EQ(std::string(e.what()), std::string("send to [::1]:80: ") + std::strerror(err));
    }
  }
}

TEST(ErrorMessage, ExplicitReasonReplacesTheCodeMessage) {
  const ss::socket_error e(std::error_code(EINVAL, std::system_category()), "inet_pton",
                           "illegal IP address string");
  EXPECT_STREQ(e.what(), "inet_pton: illegal IP address string");
  EXPECT_EQ(e.errno_value(), EINVAL);
}

TEST(ErrorMessage, DirectConstructionKeepsCodeAndContext) {
  const ss::connection_reset_error e(std::error_code(ECONNRESET, std::system_category()),
                                     "recv from 127.0.0.1:5");
  EXPECT_EQ(e.errno_value(), ECONNRESET);
  EXPECT_EQ(e.code(), std::error_code(ECONNRESET, std::system_category()));
  EXPECT_EQ(std::string(e.what()), std::string("recv from 127.0.0.1:5: ") + std::strerror(ECONNRESET));
}

TEST(ErrorMessage, CopiesKeepTheMessage) {
  ss::socket_error copy(std::error_code(), "");
  try {
    ss::throw_os_error(EPIPE, "sendall to 127.0.0.1:1");
  } catch (const ss::socket_error& e) {
    copy = e;
  }
  EXPECT_EQ(std::string(copy.what()), std::string("sendall to 127.0.0.1:1: ") + std::strerror(EPIPE));
  EXPECT_EQ(copy.errno_value(), EPIPE);
}

// ---- timeout_error ----------------------------------------------------------------------------

TEST(TimeoutError, MessageEndsWithTimedOutAndErrnoIsEtimedout) {
  const ss::timeout_error e("recv from 127.0.0.1:21567");
  EXPECT_STREQ(e.what(), "recv from 127.0.0.1:21567: timed out");
  EXPECT_EQ(e.errno_value(), ETIMEDOUT);
  EXPECT_EQ(e.code().category(), std::system_category());
}

TEST(TimeoutError, FromThrowOsErrorSaysTimedOut) {
  try {
    ss::throw_os_error(ETIMEDOUT, "connect to 10.0.0.1:80");
    FAIL() << "no exception";
  } catch (const ss::timeout_error& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("connect to 10.0.0.1:80: ", 0), 0U) << what;
    ASSERT_GE(what.size(), 9U);
    EXPECT_EQ(what.substr(what.size() - 9), "timed out") << what;
  }
}

// ---- gai_error --------------------------------------------------------------------------------

TEST(GaiError, CarriesTheEaiCodeInGaiCategory) {
  const ss::gai_error e(EAI_NONAME, "getaddrinfo no.such.host");
  EXPECT_EQ(e.eai_code(), EAI_NONAME);
  EXPECT_EQ(e.errno_value(), EAI_NONAME);
  EXPECT_EQ(e.code().category(), ss::gai_category());
  EXPECT_NE(e.code().category(), std::system_category());
}

TEST(GaiError, MessageNamesTheContextAndGaiStrerror) {
  const ss::gai_error e(EAI_AGAIN, "getaddrinfo no.such.host");
  const std::string what = e.what();
  EXPECT_NE(what.find("no.such.host"), std::string::npos) << what;
  EXPECT_EQ(what, std::string("getaddrinfo no.such.host: ") + ::gai_strerror(EAI_AGAIN));
}

TEST(GaiError, IsASocketErrorAndASystemError) {
  EXPECT_THROW(throw ss::gai_error(EAI_NONAME, "x"), ss::socket_error);
  EXPECT_THROW(throw ss::gai_error(EAI_NONAME, "x"), std::system_error);
}

TEST(GaiCategory, IsASingletonWithGaiStrerrorMessages) {
  EXPECT_EQ(&ss::gai_category(), &ss::gai_category());
  EXPECT_NE(std::string(ss::gai_category().name()), "");
  EXPECT_EQ(ss::gai_category().message(EAI_NONAME), ::gai_strerror(EAI_NONAME));
  EXPECT_EQ(ss::gai_category().message(EAI_SERVICE), ::gai_strerror(EAI_SERVICE));
}

// ---- line_too_long_error ----------------------------------------------------------------------

TEST(LineTooLongError, CarriesTheLimitAndNamesTheContext) {
  const ss::line_too_long_error e("readline from 127.0.0.1:21567", 65536);
  EXPECT_EQ(e.limit(), 65536U);
  const std::string what = e.what();
  EXPECT_EQ(what.rfind("readline from 127.0.0.1:21567", 0), 0U) << what;
  EXPECT_NE(what.find("65536"), std::string::npos) << what;
}

TEST(LineTooLongError, IsALengthErrorNotASocketError) {
  bool as_length = false;
  try {
    throw ss::line_too_long_error("readline", 10);
  } catch (const ss::socket_error&) {
    ADD_FAILURE() << "caught as socket_error";
  } catch (const std::length_error& e) {
    as_length = true;
    EXPECT_EQ(dynamic_cast<const ss::line_too_long_error&>(e).limit(), 10U);
  }
  EXPECT_TRUE(as_length);
}
