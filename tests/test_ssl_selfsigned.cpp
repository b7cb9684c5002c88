// test_ssl_selfsigned.cpp — certificates made in memory (ssl.hpp): make_self_signed_certificate
// (what it holds, that it verifies for each of its hosts with itself as the only trust anchor
// and for no other name), certificate_fingerprint against the openssl tool's, load_cert_chain_pem
// (a TLS server with no files), and the clear error of each bad argument.
#include <gtest/gtest.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "server_test_util.hpp"
#include "socketserver/mixins.hpp"
#include "socketserver/ssl.hpp"
#include "ssl_test_util.hpp"

namespace ss = socketserver;
using namespace std::chrono_literals;
using ssltest::pki;
using stu::EchoStream;
using stu::ServerThread;

namespace {

// One certificate for the tests that only read it (making one takes about a millisecond, but
// there is no reason to make it twice).
const ss::SelfSigned& cert() {
  static const ss::SelfSigned made = ss::make_self_signed_certificate();
  return made;
}

// A threading TLS server with `ctx`, or with `certificate` (PEM in memory), echoing one line per
// connection.
struct TlsEchoServer {
  explicit TlsEchoServer(std::shared_ptr<const ss::SSLContext> ctx)
      : server(stu::local0(), ss::handler<EchoStream>(), options(std::move(ctx))), thread(server) {}
  explicit TlsEchoServer(const ss::SelfSigned& certificate) : TlsEchoServer(context(certificate)) {}
  ~TlsEchoServer() {
    thread.stop();
    server.server_close();
  }
  static std::shared_ptr<const ss::SSLContext> context(const ss::SelfSigned& certificate) {
    auto ctx = std::make_shared<ss::SSLContext>(ss::PROTOCOL_TLS_SERVER);
    ctx->load_cert_chain_pem(certificate.cert_pem, certificate.key_pem);
    return ctx;
  }
  static ss::ServerOptions options(std::shared_ptr<const ss::SSLContext> ctx) {
    ss::ServerOptions o;
    o.ssl_context = std::move(ctx);
    return o;
  }
  [[nodiscard]] int port() const { return server.server_address.port(); }
  ss::ThreadingTCPServer server;
  ServerThread thread;
};

// A client trusting only `ca_pem` connects to `port` on 127.0.0.1 as `hostname`, sends a line
// and returns the echo.
std::string echo_as(int port, const std::string& ca_pem, const std::string& hostname,
                    std::optional<ss::PeerCertificate>* seen = nullptr) {
  ss::SSLContext ctx(ss::PROTOCOL_TLS_CLIENT);
  ctx.load_verify_locations("", "", ca_pem);
  ss::SSLSocket c = ctx.wrap_socket(stu::stream_client({"127.0.0.1", port}), false, hostname);
  if (seen != nullptr) *seen = c.getpeercert();
  c.sendall("hello " + hostname + "\n");
  std::string got;
  for (int i = 0; i < 100 && got.find('\n') == std::string::npos; ++i) {
    const std::string part = c.recv(1024);
    if (part.empty()) break;
    got += part;
  }
  return got;
}

// What the openssl tool prints for `openssl <command> <args> FILE`, FILE holding `pem`
// (trailing newlines cut); `status` receives its exit status.
std::string openssl(const std::string& pem, const std::string& command_args,
                    int* status = nullptr) {
  testutil::TempDir dir;
  std::ofstream(dir.file("cert.pem")) << pem;
  const std::string command = "openssl " + command_args + " '" + dir.file("cert.pem") + "' 2>&1";
  FILE* p = ::popen(command.c_str(), "r");
  std::string out;
  char buf[512];
  while (p != nullptr && std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
  const int st = p != nullptr ? ::pclose(p) : -1;
  if (status != nullptr) *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::unique_ptr<X509, void (*)(X509*)> parse(const std::string& pem) {
  std::unique_ptr<BIO, int (*)(BIO*)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())),
                                          BIO_free);
  return {PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), X509_free};
}

// ---- what the certificate is ------------------------------------------------------------------

TEST(SelfSigned, AnEcdsaP256KeyAndAPemCertificateForTheDefaultHosts) {
  const ss::SelfSigned& c = cert();
  EXPECT_TRUE(c.cert_pem.starts_with("-----BEGIN CERTIFICATE-----\n")) << c.cert_pem;
  EXPECT_TRUE(c.key_pem.starts_with("-----BEGIN PRIVATE KEY-----\n")) << "PKCS#8, not encrypted";
  auto x = parse(c.cert_pem);
  ASSERT_TRUE(x);
  EVP_PKEY* key = X509_get0_pubkey(x.get());
  ASSERT_NE(key, nullptr);
  char group[64] = {};
  ASSERT_EQ(EVP_PKEY_get_group_name(key, group, sizeof group, nullptr), 1);
  EXPECT_STREQ(group, "prime256v1");
  EXPECT_EQ(X509_get_signature_nid(x.get()), NID_ecdsa_with_SHA256);
  EXPECT_EQ(X509_NAME_cmp(X509_get_issuer_name(x.get()), X509_get_subject_name(x.get())), 0);
  EXPECT_EQ(X509_verify(x.get(), key), 1) << "signed with its own key";
  EXPECT_EQ(X509_get_version(x.get()), X509_VERSION_3);

  // Valid now, for 30 days from (a few minutes before) now.
  int days = 0, secs = 0;
  ASSERT_EQ(ASN1_TIME_diff(&days, &secs, nullptr, X509_get0_notBefore(x.get())), 1);
  EXPECT_TRUE(days == 0 && secs < 0 && secs >= -3600) << days << " d " << secs << " s";
  ASSERT_EQ(ASN1_TIME_diff(&days, &secs, nullptr, X509_get0_notAfter(x.get())), 1);
  EXPECT_TRUE(days == 30 || (days == 29 && secs > 80000)) << days << " d " << secs << " s";
}

TEST(SelfSigned, ItsNamesAreTheHostsAsPythonsGetpeercertShowsThem) {
  TlsEchoServer srv(cert());
  std::optional<ss::PeerCertificate> seen;
  ASSERT_EQ(echo_as(srv.port(), cert().cert_pem, "localhost", &seen), "hello localhost\n");
  ASSERT_TRUE(seen);
  const std::vector<std::pair<std::string, std::string>> san = {
      {"DNS", "localhost"}, {"IP Address", "127.0.0.1"}, {"IP Address", "::1"}};
  EXPECT_EQ(seen->subject_alt_name, san);
  EXPECT_EQ(seen->subject.back(), (std::pair<std::string, std::string>{"commonName", "localhost"}));
  EXPECT_EQ(seen->issuer, seen->subject);
}

TEST(SelfSigned, EachCallMakesANewKeyAndSerialNumber) {
  const ss::SelfSigned other = ss::make_self_signed_certificate();
  EXPECT_NE(other.key_pem, cert().key_pem);
  EXPECT_NE(ss::certificate_fingerprint(other.cert_pem),
            ss::certificate_fingerprint(cert().cert_pem));
  auto a = parse(cert().cert_pem);
  auto b = parse(other.cert_pem);
  ASSERT_TRUE(a && b);
  EXPECT_NE(ASN1_INTEGER_cmp(X509_get0_serialNumber(a.get()), X509_get0_serialNumber(b.get())), 0);
  std::unique_ptr<BIGNUM, void (*)(BIGNUM*)> serial(
      ASN1_INTEGER_to_BN(X509_get0_serialNumber(a.get()), nullptr), BN_free);
  ASSERT_TRUE(serial);
  EXPECT_FALSE(BN_is_negative(serial.get()) || BN_is_zero(serial.get())) << "positive";
  EXPECT_LE(BN_num_bytes(serial.get()), 20) << "RFC 5280's bound";
}

TEST(SelfSigned, TheOpensslToolReadsTheSameNamesAndExtensions) {
  SSLTEST_NEED_PKI();  // the tool
  const ss::SelfSigned c = ss::make_self_signed_certificate({"box.example", "10.1.2.3"}, 7);
  const std::string text = openssl(c.cert_pem, "x509 -noout -text -in");
  EXPECT_NE(text.find("DNS:box.example, IP Address:10.1.2.3"), std::string::npos) << text;
  EXPECT_NE(text.find("CA:FALSE"), std::string::npos) << text;
  EXPECT_NE(text.find("TLS Web Server Authentication"), std::string::npos) << text;
  EXPECT_NE(text.find("Subject Key Identifier"), std::string::npos) << text;
  EXPECT_NE(text.find("Subject: O = socketserver self-signed, CN = box.example"), std::string::npos)
      << text;
}

// ---- it verifies for its hosts, and only for them ------------------------------------------

TEST(SelfSigned, TheOpensslToolVerifiesItStrictlyAgainstItselfForItsHostsOnly) {
  SSLTEST_NEED_PKI();  // the tool
  const std::string& pem = cert().cert_pem;
  testutil::TempDir dir;
  std::ofstream(dir.file("ca.pem")) << pem;
  const std::string strict =
      "verify -x509_strict -check_ss_sig -purpose sslserver -CAfile '" + dir.file("ca.pem") + "' ";
  for (const std::string& check :
       {std::string("-verify_hostname localhost"), std::string("-verify_ip 127.0.0.1"),
        std::string("-verify_ip ::1")}) {
    int status = -1;
    const std::string out = openssl(pem, strict + check, &status);
    EXPECT_EQ(status, 0) << check << ": " << out;
    EXPECT_TRUE(out.ends_with(": OK")) << check << ": " << out;
  }
  for (const std::string& check :
       {std::string("-verify_hostname other.example"), std::string("-verify_ip 127.0.0.2")}) {
    int status = -1;
    const std::string out = openssl(pem, strict + check, &status);
    EXPECT_NE(status, 0) << check << ": " << out;
    EXPECT_NE(out.find("mismatch"), std::string::npos) << check << ": " << out;
  }
}

TEST(SelfSigned, VerifiesForEachHostWithItselfAsTheOnlyTrustAnchor) {
  TlsEchoServer srv(cert());
  const int port = srv.port();
  for (const std::string host : {"localhost", "127.0.0.1", "::1"}) {
    EXPECT_EQ(echo_as(port, cert().cert_pem, host), "hello " + host + "\n");
  }
}

TEST(SelfSigned, OtherHostsAreNamedAsAsked) {
  const ss::SelfSigned c =
      ss::make_self_signed_certificate({"My-Box.example", "192.0.2.7", "2001:db8::1"});
  TlsEchoServer srv(c);
  const int port = srv.port();
  for (const std::string host : {"my-box.example", "192.0.2.7", "2001:db8::1"}) {
    EXPECT_EQ(echo_as(port, c.cert_pem, host), "hello " + host + "\n");
  }
  EXPECT_THROW(echo_as(port, c.cert_pem, "localhost"), ss::cert_verification_error);
}

TEST(SelfSigned, AnotherNameFailsWithTheHostnameMismatch) {
  TlsEchoServer srv(cert());
  const int port = srv.port();
  for (const std::string host : {"other.example", "127.0.0.2", "::2", "localhost.example"}) {
    try {
      echo_as(port, cert().cert_pem, host);
      ADD_FAILURE() << host << " verified";
    } catch (const ss::cert_verification_error& e) {
      const bool ip = host.find_first_not_of("0123456789.:") == std::string::npos;
      EXPECT_EQ(e.verify_code(), ip ? X509_V_ERR_IP_ADDRESS_MISMATCH : X509_V_ERR_HOSTNAME_MISMATCH)
          << host << ": " << e.what();
      EXPECT_NE(std::string(e.what()).find("mismatch"), std::string::npos) << e.what();
    }
  }
}

TEST(SelfSigned, AnotherSelfSignedCertificateIsNotTrusted) {
  TlsEchoServer srv(cert());
  const ss::SelfSigned stranger = ss::make_self_signed_certificate();
  try {
    echo_as(srv.port(), stranger.cert_pem, "localhost");
    ADD_FAILURE() << "a certificate verified against another one";
  } catch (const ss::cert_verification_error& e) {
    EXPECT_EQ(e.verify_code(), X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT) << e.what();
    EXPECT_NE(std::string(e.what()).find("certificate verify failed: self-signed certificate"),
              std::string::npos)
        << e.what();
  }
}

// ---- the fingerprint --------------------------------------------------------------------------

TEST(SelfSigned, FingerprintIsWhatTheOpensslToolPrints) {
  SSLTEST_NEED_PKI();  // the tool
  for (const std::string& pem : {cert().cert_pem, pki().read(pki().server_cert)}) {
    const std::string fp = ss::certificate_fingerprint(pem);
    EXPECT_TRUE(std::regex_match(fp, std::regex("([0-9A-F]{2}:){31}[0-9A-F]{2}"))) << fp;
    const std::string printed = openssl(pem, "x509 -noout -fingerprint -sha256 -in");
    // "sha256 Fingerprint=AB:..." (OpenSSL 3.0), "SHA256 Fingerprint=AB:..." (1.1 and 3.2+).
    const auto eq = printed.find("Fingerprint=");
    ASSERT_NE(eq, std::string::npos) << printed;
    EXPECT_EQ(fp, printed.substr(eq + 12));
  }
}

TEST(SelfSigned, TheFingerprintOfWhatTheClientSeesIsTheServers) {
  TlsEchoServer srv(cert());
  std::optional<ss::PeerCertificate> seen;
  echo_as(srv.port(), cert().cert_pem, "localhost", &seen);
  ASSERT_TRUE(seen);
  EXPECT_EQ(ss::certificate_fingerprint_der(seen->der),
            ss::certificate_fingerprint(cert().cert_pem));
}

TEST(SelfSigned, FingerprintOfTheFirstCertificateOfAChain) {
  SSLTEST_NEED_PKI();
  const std::string server = pki().read(pki().server_cert);
  EXPECT_EQ(ss::certificate_fingerprint(server + pki().read(pki().ca_cert)),
            ss::certificate_fingerprint(server));
  EXPECT_EQ(ss::certificate_fingerprint("some text before\n" + server),
            ss::certificate_fingerprint(server))
      << "PEM allows text before the block";
}

TEST(SelfSigned, FingerprintOfNoCertificateIsAClearError) {
  for (const std::string bad : {"", "not a certificate",
                                "-----BEGIN CERTIFICATE-----\nAAAA\n"
                                "-----END CERTIFICATE-----\n"}) {
    try {
      ss::certificate_fingerprint(bad);
      ADD_FAILURE() << "no error for '" << bad << "'";
    } catch (const ss::ssl_error& e) {
      EXPECT_NE(std::string(e.what()).find("certificate_fingerprint: [PEM routines] no "
                                           "certificate in the PEM text"),
                std::string::npos)
          << e.what();
    }
  }
  EXPECT_THROW(ss::certificate_fingerprint(cert().key_pem), ss::ssl_error) << "a key is not one";
  EXPECT_THROW(ss::certificate_fingerprint_der("garbage"), ss::ssl_error);
  EXPECT_THROW(ss::certificate_fingerprint_der(""), ss::ssl_error);
}

// ---- bad arguments ----------------------------------------------------------------------------

void expect_invalid(const std::vector<std::string>& hosts, int days, const std::string& says) {
  try {
    ss::make_self_signed_certificate(hosts, days);
    ADD_FAILURE() << "no error; expected: " << says;
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
    EXPECT_TRUE(std::string(e.what()).starts_with("make_self_signed_certificate: ")) << e.what();
  }
}

TEST(SelfSigned, BadArgumentsAreClearErrors) {
  expect_invalid({}, 30, "no host names");
  expect_invalid({"localhost", ""}, 30, "an empty host name");
  for (const std::string& bad : std::vector<std::string>{
           "two words", "a..b", ".a", "a.", "-a", "a-", "a_b", "a,DNS:evil", "*.example",
           "1.2.3.4.5", "::1::2", std::string(64, 'a') + ".b", std::string(254, 'a')}) {
    expect_invalid({bad}, 30, "'" + bad + "' is neither an IP address nor a host name");
  }
  expect_invalid({"localhost"}, 0, "days must be 1-3650, not 0");
  expect_invalid({"localhost"}, -5, "days must be 1-3650, not -5");
  expect_invalid({"localhost"}, 3651, "days must be 1-3650, not 3651");
}

TEST(SelfSigned, TheLimitsThemselvesAreAccepted) {
  EXPECT_NO_THROW(ss::make_self_signed_certificate({"localhost"}, 1));
  EXPECT_NO_THROW(ss::make_self_signed_certificate({"localhost"}, 3650));
  // 253 characters: four labels of 63 and a dot each, then one more character.
  std::string longest = std::string(63, 'a') + "." + std::string(63, 'b') + "." +
                        std::string(63, 'c') + "." + std::string(61, 'd');
  ASSERT_EQ(longest.size(), 253u);
  const ss::SelfSigned c = ss::make_self_signed_certificate({longest});
  auto x = parse(c.cert_pem);
  ASSERT_TRUE(x);
  EXPECT_EQ(X509_check_host(x.get(), longest.c_str(), longest.size(), 0, nullptr), 1);
  // No commonName (64 characters at most): the organisation names it.
  char cn[300] = {};
  EXPECT_EQ(
      X509_NAME_get_text_by_NID(X509_get_subject_name(x.get()), NID_commonName, cn, sizeof cn), -1);
}

// ---- load_cert_chain_pem ----------------------------------------------------------------------

TEST(LoadCertChainPem, KeyAndCertificateInOneText) {
  const ss::SelfSigned& c = cert();
  auto ctx = std::make_shared<ss::SSLContext>(ss::PROTOCOL_TLS_SERVER);
  ctx->load_cert_chain_pem(c.key_pem + c.cert_pem);  // the key first: still found
  TlsEchoServer srv(ctx);
  EXPECT_EQ(echo_as(srv.port(), c.cert_pem, "localhost"), "hello localhost\n");
}

TEST(LoadCertChainPem, AnEncryptedKeyWithItsPasswordAndTheChainIsSent) {
  SSLTEST_NEED_PKI();
  const std::string chain = pki().read(pki().server_cert) + pki().read(pki().ca_cert);
  const std::string key = pki().read(pki().server_key_encrypted);
  ss::SSLContext ctx(ss::PROTOCOL_TLS_SERVER);
  EXPECT_THROW(ctx.load_cert_chain_pem(chain, key), ss::ssl_error) << "no password";
  EXPECT_THROW(ctx.load_cert_chain_pem(chain, key, "wrong"), ss::ssl_error);
  auto good = std::make_shared<ss::SSLContext>(ss::PROTOCOL_TLS_SERVER);
  good->load_cert_chain_pem(chain, key, "secret");
  TlsEchoServer srv(good);
  ss::SSLSocket c =
      ss::create_default_context(ss::Purpose::SERVER_AUTH, pki().ca_cert)
          .wrap_socket(stu::stream_client({"127.0.0.1", srv.port()}), false, "localhost");
  STACK_OF(X509)* sent = SSL_get_peer_cert_chain(c.native_handle());
  ASSERT_NE(sent, nullptr);
  EXPECT_EQ(sk_X509_num(sent), 2) << "the server certificate and the CA after it";
}

TEST(LoadCertChainPem, BadArgumentsAreClearErrors) {
  ss::SSLContext ctx(ss::PROTOCOL_TLS_SERVER);
  try {
    ctx.load_cert_chain_pem("", cert().key_pem);
    ADD_FAILURE() << "an empty cert_pem loaded";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "load_cert_chain_pem: cert_pem is empty");
  }
  try {
    ctx.load_cert_chain_pem("garbage", cert().key_pem);
    ADD_FAILURE() << "garbage loaded";
  } catch (const ss::ssl_error& e) {
    EXPECT_STREQ(e.what(), "load_cert_chain_pem: [PEM routines] no certificate in cert_pem");
  }
  try {
    ctx.load_cert_chain_pem(cert().cert_pem);  // no key anywhere
    ADD_FAILURE() << "a certificate without a key loaded";
  } catch (const ss::ssl_error& e) {
    EXPECT_TRUE(std::string(e.what()).starts_with("load_cert_chain_pem: private key: ["))
        << e.what();
  }
  EXPECT_THROW(ctx.load_cert_chain_pem(cert().cert_pem, "garbage"), ss::ssl_error);
  // Another certificate's key: OpenSSL says the two do not match.
  const ss::SelfSigned other = ss::make_self_signed_certificate();
  try {
    ctx.load_cert_chain_pem(cert().cert_pem, other.key_pem);
    ADD_FAILURE() << "a key that does not match loaded";
  } catch (const ss::ssl_error& e) {
    EXPECT_NE(std::string(e.what()).find("mismatch"), std::string::npos) << e.what();
  }
  // The context still loads a good pair after all that.
  EXPECT_NO_THROW(ctx.load_cert_chain_pem(other.cert_pem, other.key_pem));
}

}  // namespace
