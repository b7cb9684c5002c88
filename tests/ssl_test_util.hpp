// ssl_test_util.hpp — a throwaway PKI for the TLS tests, made once per test program with
// Debian's `openssl` tool in a temporary directory: a CA, a server certificate for "localhost"
// and 127.0.0.1 (and ::1), a client certificate, a second CA nobody trusts, an expired
// certificate, and an encrypted copy of the server key. Tests whose tool is missing say so and skip (scripts/ensure-deps.sh
// installs it for `make test`).
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace ssltest {

struct Pki {
  bool ok = false;
  std::string why;  // when not ok
  std::string dir;
  std::string ca_cert;      // the trusted CA
  std::string server_cert;  // CN=localhost, SAN DNS:localhost, IP:127.0.0.1, IP:::1
  std::string server_key;
  std::string server_key_encrypted;  // the same key, password "secret"
  std::string client_cert;  // CN=test client, signed by the CA
  std::string client_key;
  std::string other_cert;  // CN=other.example, signed by a CA nobody trusts
  std::string other_key;
  std::string expired_cert;  // CN=localhost from the trusted CA, valid only on 1 Jan 2020
  std::string expired_key;

  [[nodiscard]] std::string read(const std::string& path) const {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
};

inline bool run_quiet(const std::string& command) {
  return std::system((command + " >/dev/null 2>&1").c_str()) == 0;
}

inline const Pki& pki() {
  static const Pki made = [] {
    Pki p;
    if (!run_quiet("command -v openssl")) {
      p.why = "the openssl tool is missing (apt-get install openssl)";
      return p;
    }
    char dir[] = "/tmp/socketserver-pki-XXXXXX";
    if (::mkdtemp(dir) == nullptr) {
      p.why = "mkdtemp failed";
      return p;
    }
    p.dir = dir;
    // Removed when the test program ends.
    static struct Remover {
      std::string dir;
      ~Remover() {
        if (!dir.empty()) run_quiet("rm -rf '" + dir + "'");
      }
    } remover;
    remover.dir = p.dir;
    const std::string d = p.dir + "/";
    p.ca_cert = d + "ca.pem";
    p.server_cert = d + "server.pem";
    p.server_key = d + "server.key";
    p.server_key_encrypted = d + "server-enc.key";
    p.client_cert = d + "client.pem";
    p.client_key = d + "client.key";
    p.other_cert = d + "other.pem";
    p.other_key = d + "other.key";
    p.expired_cert = d + "expired.pem";
    p.expired_key = d + "expired.key";
    {
      std::ofstream ext(d + "server.ext");
      ext << "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n"
             "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n"
             "extendedKeyUsage=serverAuth\n";
      // `openssl ca` sets any validity period (x509 -days cannot go back in time).
      std::ofstream cnf(d + "ca.cnf");
      cnf << "[ca]\ndefault_ca = test\n[test]\ndatabase = " << d << "index.txt\n"
          << "new_certs_dir = " << d << "\nserial = " << d << "serial\n"
          << "default_md = sha256\npolicy = any\nemail_in_dn = no\n[any]\n"
          << "commonName = supplied\n[ext]\nsubjectAltName = DNS:localhost,IP:127.0.0.1\n";
      std::ofstream(d + "index.txt");
      std::ofstream(d + "serial") << "1000\n";
      std::ofstream cext(d + "client.ext");
      cext << "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n"
              "extendedKeyUsage=clientAuth\n";
    }
    const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    const std::string steps[] = {
        // The CA, and the one nobody trusts.
        "openssl req -x509" + ec + " -days 2 -subj '/CN=socketserver test CA' -keyout " + d +
            "ca.key -out " + p.ca_cert,
        "openssl req -x509" + ec + " -days 2 -subj '/CN=untrusted CA' -keyout " + d +
            "uca.key -out " + d + "uca.pem",
        // The server.
        "openssl req" + ec + " -subj '/CN=localhost' -keyout " + p.server_key + " -out " + d +
            "server.csr",
        "openssl x509 -req -in " + d + "server.csr -CA " + p.ca_cert + " -CAkey " + d +
            "ca.key -CAcreateserial -days 2 -extfile " + d + "server.ext -out " + p.server_cert,
        "openssl pkey -in " + p.server_key + " -aes256 -passout pass:secret -out " +
            p.server_key_encrypted,
        // A client.
        "openssl req" + ec + " -subj '/CN=test client' -keyout " + p.client_key + " -out " + d +
            "client.csr",
        "openssl x509 -req -in " + d + "client.csr -CA " + p.ca_cert + " -CAkey " + d +
            "ca.key -CAcreateserial -days 2 -extfile " + d + "client.ext -out " + p.client_cert,
        // A server certificate from the untrusted CA.
        "openssl req" + ec + " -subj '/CN=other.example' -keyout " + p.other_key + " -out " + d +
            "other.csr",
        "openssl x509 -req -in " + d + "other.csr -CA " + d + "uca.pem -CAkey " + d +
            "uca.key -CAcreateserial -days 2 -extfile " + d + "server.ext -out " + p.other_cert,
        // An expired one (1 Jan 2020), from the trusted CA.
        "openssl req" + ec + " -subj '/CN=localhost' -keyout " + p.expired_key + " -out " + d +
            "expired.csr",
        "openssl ca -batch -config " + d + "ca.cnf -cert " + p.ca_cert + " -keyfile " + d +
            "ca.key -in " + d + "expired.csr -out " + p.expired_cert +
            " -startdate 20200101000000Z -enddate 20200102000000Z -extensions ext -notext",
    };
    for (const std::string& step : steps) {
      if (!run_quiet(step)) {
        p.why = "openssl failed: " + step;
        return p;
      }
    }
    p.ok = true;
    return p;
  }();
  return made;
}

}  // namespace ssltest

/// Skips the test when the PKI could not be made (the openssl tool is missing).
#define SSLTEST_NEED_PKI()                                                  \
  do {                                                                      \
    if (!ssltest::pki().ok) GTEST_SKIP() << ssltest::pki().why;             \
  } while (0)
