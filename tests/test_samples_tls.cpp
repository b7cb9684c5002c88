// test_samples_tls.cpp — the TLS samples run as the reader runs them: tsTservTLS / tsTclntTLS
// (Examples 2-1 and 2-2 over TLS), tsTservSS / tsTclntSS --tls (Examples 2-8, 2-9) and the
// reactor's tsTservTW / tsTclntTW --tls (Examples 2-10, 2-11: listen_ssl, connect_ssl).
//
// As in test_samples.cpp (sample_util.hpp): the programs run as children on --port 0 and
// 127.0.0.1; the tests talk to them with the other sample, raw sockets, the library's TLS client,
// and Python's ssl module (tests/clients/ts_client_tls.py) when python3 is there. The tests that
// use certificate files take them from the throwaway PKI of ssl_test_util.hpp. Every wait is
// bounded; every child is killed and reaped when its test ends.
#include <functional>
#include <regex>

#include "sample_util.hpp"
#include "socketserver/ssl.hpp"
#include "ssl_test_util.hpp"

namespace {

using namespace sample_test;
namespace ss = socketserver;
using ssltest::pki;

// The rest of the line after `key` in `text` ("" when there is no such complete line).
std::string line_after(const std::string& text, const std::string& key) {
  const auto at = text.find(key);
  if (at == std::string::npos) return "";
  const auto end = text.find('\n', at);
  if (end == std::string::npos) return "";
  return text.substr(at + key.size(), end - at - key.size());
}

// The fingerprint a server printed for the certificate it made ("" if it printed none).
std::string printed_fingerprint(Child& server) {
  const std::string key = "its SHA-256 fingerprint: ";
  server.wait_until([&] { return !line_after(server.err(), key).empty(); });
  return line_after(server.err(), key);
}

const std::regex kFingerprint("([0-9A-F]{2}:){31}[0-9A-F]{2}");

// The fingerprint a server printed for the certificate it made for localhost (both checked).
std::string made_fingerprint(Child& server) {
  const std::string fingerprint = printed_fingerprint(server);
  EXPECT_TRUE(std::regex_match(fingerprint, kFingerprint)) << server.err();
  EXPECT_NE(server.err().find("self-signed certificate for localhost, 127.0.0.1, ::1"),
            std::string::npos)
      << server.err();
  return fingerprint;
}

// An --insecure client's stderr: loud about what it skips, then what it saw over TLS 1.3: the
// certificate whose fingerprint is `fingerprint`.
void expect_insecure_saw(const Child& client, const std::string& fingerprint) {
  EXPECT_NE(client.err().find("WARNING: --insecure: the server's certificate is NOT verified"),
            std::string::npos)
      << client.err();
  EXPECT_EQ(line_after(client.err(), ": TLSv1.3, server certificate SHA-256 fingerprint "),
            fingerprint)
      << client.err();
}

// A client sample talking to `port`: types `lines` (each ended by '\n'), then the end of input.
struct ClientRun {
  ClientRun(const std::string& name, int port, std::vector<std::string> extra,
            const std::string& lines)
      : child([&] {
          std::vector<std::string> argv{sample(name), "--port", std::to_string(port)};
          if (std::find(extra.begin(), extra.end(), "--host") == extra.end()) {
            argv.insert(argv.end(), {"--host", "127.0.0.1"});
          }
          argv.insert(argv.end(), extra.begin(), extra.end());
          return argv;
        }()) {
    child.write(lines);
    child.close_stdin();
    code = child.exit_code();
  }
  Child child;
  int code = -1;
};

// tsTclnt's console after typing "hello" and ending: "> [time] hello\n> \n".
void expect_one_hello(const ClientRun& c) {
  EXPECT_EQ(c.code, 0) << c.child.err();
  const std::vector<std::string> lines = reply_lines(c.child.out());
  ASSERT_EQ(lines.size(), 2u) << c.child.out();
  EXPECT_TRUE(std::regex_match(lines[0], kHelloReply)) << lines[0];
  EXPECT_EQ(lines[1], "") << "the last prompt ('> ', removed), then the end of input";
}

// The library's TLS client, verifying nothing (what --insecure does), connected to `port`.
ss::SSLSocket insecure_client(int port) {
  ss::SSLContext ctx(ss::PROTOCOL_TLS_CLIENT);
  ctx.check_hostname = false;
  ctx.verify_mode = ss::CERT_NONE;
  ss::Socket s(AF_INET, SOCK_STREAM);
  s.settimeout(10.0);
  s.connect({"127.0.0.1", port});
  return ctx.wrap_socket(std::move(s), false, "localhost");
}

// ---- tsTservTLS and tsTclntTLS -----------------------------------------------------------

TEST(SampleTlsPair, ExchangeTimestampedLinesWithInsecureAndTheSameFingerprint) {
  Server srv("tsTservTLS", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  const std::string fingerprint = made_fingerprint(srv.child);

  ClientRun c("tsTclntTLS", srv.port, {"--insecure"}, "hello\n");
  expect_one_hello(c);
  expect_insecure_saw(c.child, fingerprint);  // the certificate the server made
  ASSERT_TRUE(srv.child.wait_stdout("waiting for connection...\n", 2));
  EXPECT_NE(srv.child.out().find("...connected from: ('127.0.0.1', "), std::string::npos);
  // The client ended TLS properly (close_notify): nothing to report on the server (stopped,
  // so that all it wrote has been read: certificate, fingerprint, listening, stop).
  EXPECT_TRUE(exited_zero_after(srv.child, SIGTERM));
  EXPECT_EQ(count(srv.child.err(), "\n"), 4u) << srv.child.err();
}

TEST(SampleTlsPair, EveryStartMakesANewCertificate) {
  Server a("tsTservTLS", "127.0.0.1");
  Server b("tsTservTLS", "127.0.0.1");
  ASSERT_GT(a.port, 0);
  ASSERT_GT(b.port, 0);
  EXPECT_NE(printed_fingerprint(a.child), printed_fingerprint(b.child));
}

TEST(SampleTlsPair, VerifiedWithCafileAgainstTheServersCertAndKey) {
  SSLTEST_NEED_PKI();
  Server srv("tsTservTLS", "127.0.0.1", {"--cert", pki().server_cert, "--key", pki().server_key});
  ASSERT_GT(srv.port, 0);
  EXPECT_EQ(srv.child.err().find("fingerprint"), std::string::npos) << "no certificate made";
  EXPECT_NE(srv.child.err().find("certificate " + pki().server_cert), std::string::npos);
  for (const char* host : {"127.0.0.1", "localhost"}) {  // an IP entry, a DNS entry
    ClientRun c("tsTclntTLS", srv.port, {"--cafile", pki().ca_cert, "--host", host}, "hello\n");
    expect_one_hello(c);
    EXPECT_EQ(c.child.err().find("WARNING"), std::string::npos) << c.child.err();
    EXPECT_NE(c.child.err().find("server certificate SHA-256 fingerprint "), std::string::npos);
  }
}

TEST(SampleTlsPair, ACertificateAndKeyInOneFile) {
  SSLTEST_NEED_PKI();
  const std::string both = pki().dir + "/both-" + std::to_string(::getpid()) + ".pem";
  std::ofstream(both) << pki().read(pki().server_cert) << pki().read(pki().server_key);
  Server srv("tsTservTLS", "127.0.0.1", {"--cert", both});
  ASSERT_GT(srv.port, 0);
  ClientRun c("tsTclntTLS", srv.port, {"--cafile", pki().ca_cert}, "hello\n");
  expect_one_hello(c);
  std::remove(both.c_str());
}

TEST(SampleTlsPair, WithoutInsecureASelfSignedServerFailsVerification) {
  Server srv("tsTservTLS", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  // The system's CA store knows nothing of a certificate made a moment ago.
  ClientRun c("tsTclntTLS", srv.port, {}, "hello\n");
  EXPECT_EQ(c.code, 1);
  EXPECT_NE(c.child.err().find("certificate verify failed: self-signed certificate"),
            std::string::npos)
      << c.child.err();
  EXPECT_NE(c.child.err().find("--cafile FILE with that certificate, or --insecure"),
            std::string::npos)
      << c.child.err();
  EXPECT_EQ(c.child.out(), "") << "no prompt: it never got that far";
  // The server said one line about it (the client's alert) and goes on.
  ASSERT_TRUE(srv.child.wait_stderr("unknown ca"));
  ClientRun ok("tsTclntTLS", srv.port, {"--insecure"}, "hello\n");
  expect_one_hello(ok);
}

TEST(SampleTlsPair, AnotherCaDoesNotVerifyIt) {
  SSLTEST_NEED_PKI();
  Server srv("tsTservTLS", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  ClientRun c("tsTclntTLS", srv.port, {"--cafile", pki().ca_cert}, "hello\n");
  EXPECT_EQ(c.code, 1);
  EXPECT_NE(c.child.err().find("certificate verify failed"), std::string::npos) << c.child.err();
}

// Runs `bad` (a client the server cannot serve) against `srv`, then `good` (a client sample
// with its options) typing "hello": the server reports the bad one in exactly one line on
// stderr, returned, and goes on to serve the good one (its console checked by `expect`). With
// `stop`, the server is then stopped (SIGTERM) so that the count of its lines is final.
std::string one_line_then_serves(
    Server& srv, const std::function<void()>& bad, const std::string& good,
    const std::vector<std::string>& args, bool stop = true,
    const std::function<void(const ClientRun&)>& expect = expect_one_hello) {
  EXPECT_TRUE(srv.child.wait_stderr("listening on "));
  const std::size_t lines_before = count(srv.child.err(), "\n");
  bad();
  EXPECT_TRUE(srv.child.wait_until([&] { return count(srv.child.err(), "\n") > lines_before; }));
  const std::string& err = srv.child.err();
  const std::string report = err.substr(err.rfind('\n', err.size() - 2) + 1);
  ClientRun ok(good, srv.port, args, "hello\n");
  expect(ok);
  if (!stop) {
    EXPECT_EQ(count(srv.child.err(), "\n"), lines_before + 1) << srv.child.err();
    return report;
  }
  // Stopped, so that all it wrote has been read: nothing more than that line and the last.
  EXPECT_TRUE(exited_zero_after(srv.child, SIGTERM));
  EXPECT_EQ(count(srv.child.err(), "\n"), lines_before + 2) << srv.child.err();
  EXPECT_NE(srv.child.err().find("SIGTERM received, server closed"), std::string::npos);
  return report;
}

TEST(SampleTlsServer, APlainTextClientGetsOneLineAndTheServerGoesOn) {
  Server srv("tsTservTLS", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  const std::string report = one_line_then_serves(
      srv,
      [&] {
        Fd c = tcp_connect(AF_INET, srv.port);
        ASSERT_TRUE(c);
        ASSERT_TRUE(send_all(c.get(), "hello\r\n"));  // what tsTclntSS would send
        EXPECT_TRUE(sees_eof(c.get())) << "the server drops it";
      },
      "tsTclntTLS", {"--insecure"});
  EXPECT_TRUE(report.starts_with("tsTservTLS: do_handshake with 127.0.0.1:")) << report;
  EXPECT_NE(report.find("[SSL routines]"), std::string::npos) << report;
}

TEST(SampleTlsServer, AClientThatResetsMidHandshakeIsOneLine) {
  Server srv("tsTservTLS", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  const std::string report = one_line_then_serves(
      srv,
      [&] {
        Fd c = tcp_connect(AF_INET, srv.port);
        ASSERT_TRUE(c);
        // The first bytes of a TLS 1.x ClientHello record, then a reset.
        ASSERT_TRUE(send_all(c.get(), std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc", 9)));
        ASSERT_TRUE(srv.child.wait_stdout("...connected from: "));
        reset_close(c);
      },
      "tsTclntTLS", {"--insecure"});
  EXPECT_TRUE(report.starts_with("tsTservTLS: do_handshake with ")) << report;
}

TEST(SampleTlsServer, ASilentClientIsDroppedAfterTheTimeout) {
  Server srv("tsTservTLS", "127.0.0.1", {"--timeout", "1"});  // the good client: well within
  ASSERT_GT(srv.port, 0);
  const std::string report = one_line_then_serves(
      srv,
      [&] {
        Fd silent = tcp_connect(AF_INET, srv.port);  // connects, never says hello
        ASSERT_TRUE(silent);
        EXPECT_TRUE(sees_eof(silent.get())) << "dropped: the handshake has --timeout too";
      },
      "tsTclntTLS", {"--insecure"});
  EXPECT_NE(report.find("timed out"), std::string::npos) << report;
}

TEST(SampleTlsServer, AMessageLongerThanOneRecvIsAnsweredWhole) {
  // recv(1024) leaves the rest of a 3000-byte record decrypted inside TLS, where poll() does not
  // see it: the server must answer it without waiting for more from the network.
  Server srv("tsTservTLS", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  ss::SSLSocket c = insecure_client(srv.port);
  const std::string message = std::string(2999, 'x') + "!";
  c.sendall(message);  // one TLS record
  std::string got;
  for (int i = 0; i < 100 && got.find('!') == std::string::npos; ++i) {
    const std::string part = c.recv(4096);  // the timeout (10 s) bounds each wait
    if (part.empty()) break;
    got += part;
  }
  const std::string payload = std::regex_replace(got, kReplyPrefix, "");
  EXPECT_EQ(payload, message) << "three replies, each '[time] ' and a piece";
  EXPECT_EQ(count(got, "] "), 3u);
}

TEST(SampleTlsServer, SigtermEndsItWithAClientConnected) {
  Server srv("tsTservTLS", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  ss::SSLSocket c = insecure_client(srv.port);
  c.sendall("hello");
  EXPECT_TRUE(std::regex_search(c.recv(1024), kReplyPrefix));
  EXPECT_TRUE(exited_zero_after(srv.child, SIGTERM)) << srv.child.err();
  EXPECT_NE(srv.child.err().find("SIGTERM received, server closed"), std::string::npos);
}

TEST(SampleTlsClient, APlainServerIsNotTls) {
  Server srv("tsTserv", "127.0.0.1");  // echoes the ClientHello back with a timestamp
  ASSERT_GT(srv.port, 0);
  ClientRun c("tsTclntTLS", srv.port, {"--insecure"}, "hello\n");
  EXPECT_EQ(c.code, 1);
  EXPECT_NE(c.child.err().find("tsTclntTLS: do_handshake with 127.0.0.1:"), std::string::npos)
      << c.child.err();
  EXPECT_NE(c.child.err().find("[SSL routines]"), std::string::npos) << c.child.err();
}

TEST(SampleTlsClient, NoServerIsOneLine) {
  Fd taken = bound_socket(AF_INET, SOCK_STREAM);  // bound, not listening: nobody answers
  ASSERT_TRUE(taken);
  ClientRun c("tsTclntTLS", local_port(taken.get()), {"--insecure"}, "");
  EXPECT_EQ(c.code, 1);
  EXPECT_NE(c.child.err().find("Connection refused"), std::string::npos) << c.child.err();
}

// ---- Python's ssl module as the client ---------------------------------------------------

std::string clients_py(const std::string& name) {
  return std::string(SOCKETSERVER_TESTS_DIR) + "/clients/" + name;
}

TEST(SampleTlsServer, PythonsSslClientWithTheServersCertAndKey) {
  if (python3().empty()) GTEST_SKIP() << "python3 not found";
  SSLTEST_NEED_PKI();
  Server srv("tsTservTLS", "127.0.0.1", {"--cert", pki().server_cert, "--key", pki().server_key});
  ASSERT_GT(srv.port, 0);
  Child py({python3(), clients_py("ts_client_tls.py"), "127.0.0.1", std::to_string(srv.port),
            pki().ca_cert, "localhost", "hello"});
  ASSERT_EQ(py.exit_code(), 0) << py.err();
  EXPECT_TRUE(std::regex_match(line_after(py.out(), "reply: "), std::regex(R"(\[.{24}\] hello)")))
      << py.out();
  EXPECT_EQ(line_after(py.out(), "version: "), "TLSv1.3");
}

TEST(SampleTlsServer, PythonsSslClientSeesTheFingerprintPrintedAndMayCloseWithoutGoodbye) {
  if (python3().empty()) GTEST_SKIP() << "python3 not found";
  Server srv("tsTservTLS", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  const std::string fingerprint = printed_fingerprint(srv.child);
  for (int i = 0; i < 2; ++i) {  // the server goes on after the first
    Child py({python3(), clients_py("ts_client_tls.py"), "127.0.0.1", std::to_string(srv.port),
              "insecure", "localhost", "hello"});
    ASSERT_EQ(py.exit_code(), 0) << py.err();
    EXPECT_TRUE(std::regex_match(line_after(py.out(), "reply: "), kHelloReply)) << py.out();
    EXPECT_EQ(line_after(py.out(), "fingerprint: "), fingerprint) << py.out();
  }
  ASSERT_TRUE(srv.child.wait_stdout("waiting for connection...\n", 3));
  // Python's close() sends no close_notify: the server takes that as the end, not an error.
  EXPECT_TRUE(exited_zero_after(srv.child, SIGTERM));
  EXPECT_EQ(count(srv.child.err(), "\n"), 4u) << srv.child.err();
}

TEST(SampleTlsServer, PythonVerifiesTheCertificateMadeInMemoryStrictly) {
  // Trust on first use: Python fetches the certificate, then verifies the server against it
  // with VERIFY_X509_STRICT (Python 3.13's default) and the name "localhost".
  if (python3().empty()) GTEST_SKIP() << "python3 not found";
  Server srv("tsTservTLS", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  const std::string fingerprint = printed_fingerprint(srv.child);
  Child py({python3(), clients_py("ts_client_tls.py"), "127.0.0.1", std::to_string(srv.port),
            "fetch", "localhost", "hello"});
  ASSERT_EQ(py.exit_code(), 0) << py.err();
  EXPECT_TRUE(std::regex_match(line_after(py.out(), "reply: "), kHelloReply)) << py.out();
  EXPECT_EQ(line_after(py.out(), "fingerprint: "), fingerprint) << py.out();
}

// ---- tsTservSS and tsTclntSS with --tls ------------------------------------------------------

TEST(SampleSSTls, ServerAndClientWithTls) {
  Server srv("tsTservSS", "127.0.0.1", {"--tls"});
  ASSERT_GT(srv.port, 0);
  const std::string fingerprint = printed_fingerprint(srv.child);
  ClientRun c("tsTclntSS", srv.port, {"--tls", "--insecure"}, "hello\nhello\n");
  EXPECT_EQ(c.code, 0) << c.child.err();
  const std::vector<std::string> lines = reply_lines(c.child.out());
  ASSERT_EQ(lines.size(), 3u) << c.child.out();
  EXPECT_TRUE(std::regex_match(lines[0], kHelloReply)) << lines[0];
  EXPECT_TRUE(std::regex_match(lines[1], kHelloReply)) << lines[1];
  EXPECT_EQ(line_after(c.child.err(), "server certificate SHA-256 fingerprint "), fingerprint)
      << c.child.err();
  EXPECT_EQ(count(c.child.err(), "SHA-256 fingerprint"), 1u) << "once, not per connection";
  ASSERT_TRUE(srv.child.wait_stdout("...connected from: ", 3));  // two lines and the last prompt's
}

TEST(SampleSSTls, VerifiedWithCafile) {
  SSLTEST_NEED_PKI();
  Server srv("tsTservSS", "127.0.0.1",
             {"--tls", "--cert", pki().server_cert, "--key", pki().server_key});
  ASSERT_GT(srv.port, 0);
  ClientRun c("tsTclntSS", srv.port, {"--tls", "--cafile", pki().ca_cert}, "hello\n");
  EXPECT_EQ(c.code, 0) << c.child.err();
  const std::vector<std::string> lines = reply_lines(c.child.out());
  ASSERT_EQ(lines.size(), 2u) << c.child.out();
  EXPECT_TRUE(std::regex_match(lines[0], kHelloReply)) << lines[0];
  ClientRun strict("tsTclntSS", srv.port, {"--tls"}, "hello\n");  // the system's store
  EXPECT_EQ(strict.code, 1);
  EXPECT_NE(strict.child.err().find("certificate verify failed"), std::string::npos)
      << strict.child.err();
}

TEST(SampleSSTls, APlainClientGetsOneLineAndTheServerGoesOn) {
  Server srv("tsTservSS", "127.0.0.1", {"--tls"});
  ASSERT_GT(srv.port, 0);
  const std::string report = one_line_then_serves(
      srv,
      [&] {
        ClientRun plain("tsTclntSS", srv.port, {}, "hello\n");
        EXPECT_EQ(plain.child.out(), "> ")
            << "no reply: the server closed (the book's client ends)";
      },
      "tsTclntSS", {"--tls", "--insecure"},
      /*stop=*/!kUnderTsan);  // tsTservSS's signals under TSan: see sample_util.hpp
  EXPECT_NE(report.find("do_handshake with 127.0.0.1:"), std::string::npos) << report;
  EXPECT_NE(report.find("[SSL routines]"), std::string::npos) << report;
}

TEST(SampleSSTls, WithoutTlsNothingChanges) {
  Server srv("tsTservSS", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  EXPECT_EQ(srv.child.err().find("certificate"), std::string::npos) << srv.child.err();
  ClientRun c("tsTclntSS", srv.port, {}, "hello\n");
  EXPECT_EQ(c.code, 0) << c.child.err();
  EXPECT_TRUE(std::regex_match(reply_lines(c.child.out()).at(0), kHelloReply)) << c.child.out();
  EXPECT_EQ(c.child.err(), "");
}

// ---- the command lines -----------------------------------------------------------------------

TEST(SampleTlsArgs, HelpNamesTheTlsOptions) {
  struct Case {
    const char* name;
    std::vector<const char*> says;
  };
  const Case cases[] = {
      {"tsTservTLS",
       {"--cert FILE", "--key FILE", "self-signed", "SHA-256 fingerprint", "every interface",
        "21567"}},
      {"tsTclntTLS", {"--cafile FILE", "--insecure", "verify nothing", "localhost", "21567"}},
      {"tsTservSS", {"--tls", "--cert FILE", "--key FILE", "self-signed"}},
      {"tsTclntSS", {"--tls", "--cafile FILE", "--insecure"}},
      {"tsTservTW", {"--tls", "--cert FILE", "--key FILE", "self-signed"}},
      {"tsTclntTW", {"--tls", "--cafile FILE", "--insecure", "verify nothing"}},
  };
  for (const Case& k : cases) {
    Child c({sample(k.name), "--help"});
    EXPECT_EQ(c.exit_code(), 0) << k.name;
    for (const char* s : k.says)
      EXPECT_NE(c.out().find(s), std::string::npos) << k.name << ": " << s;
    EXPECT_EQ(c.err(), "") << k.name;
  }
  Child tls({sample("tsTservTLS"), "--help"});
  EXPECT_EQ(tls.exit_code(), 0);
  EXPECT_EQ(tls.out().find("--tls"), std::string::npos) << "always TLS: no --tls to give";
  Child plain({sample("tsTserv"), "--help"});
  EXPECT_EQ(plain.exit_code(), 0);
  EXPECT_EQ(plain.out().find("--cert"), std::string::npos) << "no TLS options where none work";
}

TEST(SampleTlsArgs, BadOptionsAreOneLineAndExitTwo) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> bad = {
      {{"tsTclntTLS", "--insecure", "--cafile", "ca.pem"}, "makes no sense with --cafile"},
      {{"tsTclntTLS", "--insecure=yes"}, "--insecure takes no value"},
      {{"tsTclntTLS", "--cafile"}, "--cafile needs a value"},
      {{"tsTclntTLS", "--cafile="}, "--cafile needs a file name"},
      {{"tsTclntTLS", "--cert", "x.pem"}, "unknown argument '--cert'"},
      {{"tsTclntTLS", "--tls"}, "unknown argument '--tls'"},
      {{"tsTservTLS", "--insecure"}, "unknown argument '--insecure'"},
      {{"tsTservTLS", "--cafile", "ca.pem"}, "unknown argument '--cafile'"},
      {{"tsTservTLS", "--key", "k.pem"}, "--key needs --cert"},
      {{"tsTservTLS", "--cert"}, "--cert needs a value"},
      {{"tsTservTLS", "--cert", ""}, "--cert needs a file name"},
      {{"tsTservSS", "--cert", "c.pem"}, "--cert needs --tls"},
      {{"tsTservSS", "--tls=1"}, "--tls takes no value"},
      {{"tsTclntSS", "--insecure"}, "--insecure needs --tls"},
      {{"tsTclntSS", "--cafile", "ca.pem"}, "--cafile needs --tls"},
      {{"tsTservTW", "--cert", "c.pem"}, "--cert needs --tls"},
      {{"tsTservTW", "--tls", "--key", "k.pem"}, "--key needs --cert"},
      {{"tsTservTW", "--tls", "--cert"}, "--cert needs a value"},
      {{"tsTservTW", "--tls", "--insecure"}, "unknown argument '--insecure'"},
      {{"tsTclntTW", "--insecure"}, "--insecure needs --tls"},
      {{"tsTclntTW", "--tls", "--insecure", "--cafile", "ca.pem"}, "makes no sense with --cafile"},
      {{"tsTclntTW", "--tls", "--cert", "c.pem"}, "unknown argument '--cert'"},
      {{"tsTserv", "--tls"}, "unknown argument '--tls'"},
      {{"tsTclnt", "--insecure"}, "unknown argument '--insecure'"},
  };
  for (const auto& [args, says] : bad) {
    std::vector<std::string> argv{sample(args[0])};
    argv.insert(argv.end(), args.begin() + 1, args.end());
    Child c(argv);
    EXPECT_EQ(c.exit_code(), 2) << args[0] << " " << says;
    EXPECT_EQ(count(c.err(), "\n"), 1u) << c.err();
    EXPECT_TRUE(c.err().starts_with(args[0] + ": ")) << c.err();
    EXPECT_NE(c.err().find(says), std::string::npos) << c.err();
    EXPECT_EQ(c.out(), "");
  }
}

TEST(SampleTlsArgs, MissingFilesAreOneLineAndExitOne) {
  const std::string nowhere = "/nonexistent-" + std::to_string(::getpid()) + "/x.pem";
  {
    Child c({sample("tsTservTLS"), "--host", "127.0.0.1", "--port", "0", "--cert", nowhere});
    EXPECT_EQ(c.exit_code(), 1);
    EXPECT_EQ(c.err(), "tsTservTLS: load_cert_chain " + nowhere + ": No such file or directory\n");
  }
  {
    Child c({sample("tsTclntTLS"), "--port", "1", "--cafile", nowhere});
    EXPECT_EQ(c.exit_code(), 1);
    EXPECT_EQ(c.err(),
              "tsTclntTLS: load_verify_locations " + nowhere + ": No such file or directory\n");
  }
  SSLTEST_NEED_PKI();
  {  // not a certificate
    Child c({sample("tsTservTLS"), "--host", "127.0.0.1", "--port", "0", "--cert", pki().server_key,
             "--key", pki().server_key});
    EXPECT_EQ(c.exit_code(), 1);
    EXPECT_TRUE(c.err().starts_with("tsTservTLS: load_cert_chain ")) << c.err();
    EXPECT_EQ(count(c.err(), "\n"), 1u) << c.err();
  }
}

// ---- tsTservTW and tsTclntTW with --tls (the reactor's listen_ssl and connect_ssl) ---------

// tsTclntTW's console after typing "hello" and ending: "> ...sending hello...\n[time] hello\n> \n".
void expect_tw_hello(const ClientRun& c) {
  EXPECT_EQ(c.code, 0) << c.child.err();
  const std::vector<std::string> lines = reply_lines(c.child.out());
  ASSERT_EQ(lines.size(), 3u) << c.child.out();
  EXPECT_EQ(lines[0], "...sending hello...");
  EXPECT_TRUE(std::regex_match(lines[1], kHelloReply)) << lines[1];
  EXPECT_EQ(lines[2], "") << "the last prompt ('> ', removed), then the end of input";
}

TEST(SampleTwTls, ExchangeTimestampsWithInsecureAndTheSameFingerprint) {
  Server srv("tsTservTW", "127.0.0.1", {"--tls"});
  ASSERT_GT(srv.port, 0);
  const std::string fingerprint = made_fingerprint(srv.child);

  ClientRun c("tsTclntTW", srv.port, {"--tls", "--insecure"}, "hello\n");
  expect_tw_hello(c);
  expect_insecure_saw(c.child, fingerprint);  // printed once the handshake has completed
  // The book's console: the protocol sees plaintext, after the handshake.
  ASSERT_TRUE(srv.child.wait_stdout("...connected from: 127.0.0.1\n"));
  EXPECT_EQ(srv.child.out(), "waiting for connection...\n...connected from: 127.0.0.1\n");
  // Nothing to report (certificate, fingerprint, listening, then the stop).
  EXPECT_TRUE(exited_zero_after(srv.child, SIGTERM));
  EXPECT_EQ(count(srv.child.err(), "\n"), 4u) << srv.child.err();
}

TEST(SampleTwTls, WithoutInsecureASelfSignedServerFailsVerification) {
  Server srv("tsTservTW", "127.0.0.1", {"--tls"});
  ASSERT_GT(srv.port, 0);
  // The system's CA store knows nothing of a certificate made a moment ago.
  ClientRun c("tsTclntTW", srv.port, {"--tls"}, "hello\n");
  EXPECT_EQ(c.code, 1);
  const std::string at = "127.0.0.1:" + std::to_string(srv.port);
  EXPECT_EQ(c.child.err(),
            "tsTclntTW: connect to " + at + ": do_handshake with " + at +
                ": [SSL routines] certificate verify failed: self-signed certificate\n"
                "tsTclntTW: (a server with a self-signed certificate: --cafile FILE with that "
                "certificate, or --insecure to skip the check)\n");
  EXPECT_EQ(c.child.out(), "") << "no protocol without a handshake: no prompt, nothing sent";
  // The server hears the client's alert, in one line, and goes on.
  EXPECT_TRUE(srv.child.wait_stderr("TLS handshake failed: do_handshake with 127.0.0.1:"));
  ClientRun ok("tsTclntTW", srv.port, {"--tls", "--insecure"}, "hello\n");
  expect_tw_hello(ok);
}

TEST(SampleTwTls, VerifiedWithCafileAgainstTheServersCertAndKey) {
  SSLTEST_NEED_PKI();
  Server srv("tsTservTW", "127.0.0.1",
             {"--tls", "--cert", pki().server_cert, "--key", pki().server_key});
  ASSERT_GT(srv.port, 0);
  EXPECT_EQ(srv.child.err().find("fingerprint"), std::string::npos) << "no certificate made";
  EXPECT_NE(srv.child.err().find("tsTservTW: certificate " + pki().server_cert), std::string::npos);
  const std::string fingerprint = ss::certificate_fingerprint(pki().read(pki().server_cert));
  for (const char* host : {"127.0.0.1", "localhost"}) {  // an IP entry, a DNS entry
    ClientRun c("tsTclntTW", srv.port, {"--tls", "--cafile", pki().ca_cert, "--host", host},
                "hello\n");
    expect_tw_hello(c);
    EXPECT_EQ(c.child.err().find("WARNING"), std::string::npos) << c.child.err();
    EXPECT_EQ(line_after(c.child.err(), "server certificate SHA-256 fingerprint "), fingerprint)
        << c.child.err();
  }
  // Another CA's certificate does not verify it.
  ClientRun other("tsTclntTW", srv.port, {"--tls", "--cafile", pki().other_cert}, "hello\n");
  EXPECT_EQ(other.code, 1);
  EXPECT_NE(other.child.err().find("certificate verify failed"), std::string::npos)
      << other.child.err();
}

TEST(SampleTwTls, OpensslSClientGetsTheTimestamp) {
  if (!ssltest::run_quiet("command -v openssl")) GTEST_SKIP() << "the openssl tool is missing";
  Server srv("tsTservTW", "127.0.0.1", {"--tls"});
  ASSERT_GT(srv.port, 0);
  Child s({"/bin/sh", "-c",
           "exec openssl s_client -brief -servername localhost -connect 127.0.0.1:" +
               std::to_string(srv.port)});
  ASSERT_TRUE(s.write("hello\n"));
  ASSERT_TRUE(s.wait_stdout("] hello\n")) << s.err();
  EXPECT_TRUE(std::regex_match(s.out(), std::regex(R"(\[.{24}\] hello\n)"))) << s.out();
  s.close_stdin();  // s_client ends TLS (close_notify) and exits
  EXPECT_EQ(s.exit_code(), 0) << s.err();
  EXPECT_NE(s.err().find("Protocol version: TLSv1.3"), std::string::npos) << s.err();
  ASSERT_TRUE(srv.child.wait_stdout("...connected from: 127.0.0.1\n"));
  EXPECT_TRUE(exited_zero_after(srv.child, SIGTERM));
  EXPECT_EQ(count(srv.child.err(), "\n"), 4u) << "no error: " << srv.child.err();
}

TEST(SampleTwTls, APlainTextClientIsClosedInOneLineAndTheServerGoesOn) {
  Server srv("tsTservTW", "127.0.0.1", {"--tls"});
  ASSERT_GT(srv.port, 0);
  const std::string report = one_line_then_serves(
      srv,
      [&] {
        Fd c = tcp_connect(AF_INET, srv.port);
        ASSERT_TRUE(c);
        ASSERT_TRUE(send_all(c.get(), "hello"));  // what tsTclntTW without --tls sends
        EXPECT_TRUE(sees_eof(c.get())) << "the server drops it";
      },
      "tsTclntTW", {"--tls", "--insecure"}, /*stop=*/true, expect_tw_hello);
  EXPECT_TRUE(report.starts_with("TLS handshake failed: do_handshake with 127.0.0.1:")) << report;
  EXPECT_NE(report.find("[SSL routines]"), std::string::npos) << report;
  // The protocol never saw the plain client: one "connected", the TLS client's.
  EXPECT_EQ(srv.child.out(), "waiting for connection...\n...connected from: 127.0.0.1\n");
}

TEST(SampleTwTls, ASilentClientIsDroppedAfterTheTimeout) {
  // --timeout counts from the connection, handshake included: a client that never says hello
  // is let go as quietly as an idle one of the plain server; the server goes on.
  Server srv("tsTservTW", "127.0.0.1", {"--tls", "--timeout", "1"});
  ASSERT_GT(srv.port, 0);
  ASSERT_TRUE(srv.child.wait_stderr("listening on "));
  Fd silent = tcp_connect(AF_INET, srv.port);  // connects, never says hello
  ASSERT_TRUE(silent);
  EXPECT_TRUE(sees_eof(silent.get())) << "dropped";
  ClientRun ok("tsTclntTW", srv.port, {"--tls", "--insecure"}, "hello\n");
  expect_tw_hello(ok);
  EXPECT_TRUE(exited_zero_after(srv.child, SIGTERM));
  EXPECT_EQ(count(srv.child.err(), "\n"), 4u) << srv.child.err();
  EXPECT_EQ(srv.child.out(), "waiting for connection...\n...connected from: 127.0.0.1\n");
}

TEST(SampleTwTls, WithoutTlsNothingChanges) {
  Server srv("tsTservTW", "127.0.0.1");
  ASSERT_GT(srv.port, 0);
  ClientRun c("tsTclntTW", srv.port, {}, "hello\n");
  expect_tw_hello(c);
  EXPECT_EQ(c.child.err(), "");
  // Plaintext on the wire: a raw socket gets the reply as it is.
  Fd raw = tcp_connect(AF_INET, srv.port);
  ASSERT_TRUE(raw);
  ASSERT_TRUE(send_all(raw.get(), "hello"));
  EXPECT_TRUE(std::regex_match(recv_reply(raw.get(), "hello"), kHelloReply));
  EXPECT_TRUE(exited_zero_after(srv.child, SIGTERM));
  EXPECT_EQ(srv.child.err().find("certificate"), std::string::npos) << srv.child.err();
  EXPECT_EQ(count(srv.child.err(), "\n"), 2u) << srv.child.err();
}

TEST(SampleTwTls, BadCertificateFilesAreOneLineAndExitOne) {
  const std::string nowhere = "/nonexistent-" + std::to_string(::getpid()) + "/x.pem";
  {
    Child c(
        {sample("tsTservTW"), "--host", "127.0.0.1", "--port", "0", "--tls", "--cert", nowhere});
    EXPECT_EQ(c.exit_code(), 1);
    EXPECT_EQ(c.err(), "tsTservTW: load_cert_chain " + nowhere + ": No such file or directory\n");
    EXPECT_EQ(c.out(), "");
  }
  {
    Child c({sample("tsTclntTW"), "--port", "1", "--tls", "--cafile", nowhere});
    EXPECT_EQ(c.exit_code(), 1);
    EXPECT_EQ(c.err(),
              "tsTclntTW: load_verify_locations " + nowhere + ": No such file or directory\n");
  }
  SSLTEST_NEED_PKI();
  {  // --cert without --key: the key is looked for in the certificate's file, which has none
    Child c({sample("tsTservTW"), "--host", "127.0.0.1", "--port", "0", "--tls", "--cert",
             pki().server_cert});
    EXPECT_EQ(c.exit_code(), 1);
    EXPECT_TRUE(c.err().starts_with("tsTservTW: load_cert_chain " + pki().server_cert + ": "))
        << c.err();
    EXPECT_NE(c.err().find("(with no --key, " + pki().server_cert +
                           " must hold the certificate and its private key)"),
              std::string::npos)
        << c.err();
    EXPECT_EQ(count(c.err(), "\n"), 1u) << c.err();
  }
  {  // a key that is not the certificate's
    Child c({sample("tsTservTW"), "--host", "127.0.0.1", "--port", "0", "--tls", "--cert",
             pki().server_cert, "--key", pki().other_key});
    EXPECT_EQ(c.exit_code(), 1);
    EXPECT_TRUE(c.err().starts_with("tsTservTW: load_cert_chain " + pki().server_cert + ": "))
        << c.err();
    EXPECT_EQ(c.err().find("with no --key"), std::string::npos) << c.err();
    EXPECT_EQ(count(c.err(), "\n"), 1u) << c.err();
  }
}

}  // namespace
