// ssl_selfsigned.cpp — certificates in memory (ssl.hpp): make_self_signed_certificate,
// certificate_fingerprint and SSLContext::load_cert_chain_pem, over OpenSSL 3. What lets a
// sample server run TLS with no files: it makes a certificate at start and prints its
// fingerprint, which a client can compare with the one it is shown.
#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <climits>
#include <cstdio>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "socketserver/ssl.hpp"
#include "ssl_internal.hpp"

namespace socketserver {

namespace {

// One owner per OpenSSL object: unique_ptr with the object's free function.
template <auto Free>
struct Deleter {
  template <class T>
  void operator()(T* p) const noexcept {
    Free(p);
  }
};
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using NamePtr = std::unique_ptr<X509_NAME, Deleter<X509_NAME_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using NamesPtr = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;

[[noreturn]] void throw_queued(const std::string& context) {
  auto [library, reason] = detail::take_ssl_error_queue();
  throw ssl_error(SSL_ERROR_SSL, context, std::move(library), std::move(reason));
}

BioPtr memory_bio(const std::string& text, const char* what) {
  BioPtr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  if (!bio) throw_queued(what);
  return bio;
}

// The first certificate of a PEM text; ssl_error when there is none.
X509Ptr first_certificate(const std::string& pem, const char* what, const char* source) {
  if (pem.size() > INT_MAX) throw std::invalid_argument(std::string(what) + ": PEM too large");
  ERR_clear_error();
  BioPtr bio = memory_bio(pem, what);
  X509Ptr cert(PEM_read_bio_X509_AUX(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) {
    ERR_clear_error();
    throw ssl_error(SSL_ERROR_SSL, what, "PEM routines",
                    std::string("no certificate in ") + source);
  }
  return cert;
}

std::string sha256_fingerprint(X509* cert, const char* what) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert, EVP_sha256(), md, &len) != 1) throw_queued(what);
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    char hex[4];
    std::snprintf(hex, sizeof hex, i == 0 ? "%02X" : ":%02X", md[i]);
    out += hex;
  }
  return out;
}

// ---- the host names of a certificate ------------------------------------------------------

bool is_dns_name(const std::string& host) {
  if (host.size() > 253) return false;
  std::size_t label = 0;  // length of the current label
  for (std::size_t i = 0; i < host.size(); ++i) {
    const char c = host[i];
    if (c == '.') {
      if (label == 0 || host[i - 1] == '-') return false;  // "a..b", ".a", "a-.b"
      label = 0;
      continue;
    }
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && !(c == '-' && label > 0)) return false;  // "-a" is not a label
    if (++label > 63) return false;
  }
  // The last label not all digits: "1.2.3.4.5" is a mistyped address, not a name.
  const std::size_t last = host.rfind('.') + 1;  // 0 when there is no dot
  return label > 0 && host.back() != '-' &&
         host.find_first_not_of("0123456789", last) != std::string::npos;
}

// subjectAltName: an IP entry for an address, a DNS entry for a name.
NamesPtr alt_names(const std::vector<std::string>& hosts) {
  constexpr const char* what = "make_self_signed_certificate";
  NamesPtr names(GENERAL_NAMES_new());
  if (!names) throw_queued(what);
  for (const std::string& host : hosts) {
    unsigned char ip[16];
    int ip_len = 0;
    if (::inet_pton(AF_INET, host.c_str(), ip) == 1) {
      ip_len = 4;
    } else if (::inet_pton(AF_INET6, host.c_str(), ip) == 1) {
      ip_len = 16;
    } else if (!is_dns_name(host)) {
      throw std::invalid_argument(std::string(what) + ": '" + host +
                                  "' is neither an IP address nor a host name (letters, digits, "
                                  "'-' and '.', at most 253 characters)");
    }
    GENERAL_NAME* name = GENERAL_NAME_new();
    if (name == nullptr) throw_queued(what);
    ASN1_STRING* value = ASN1_STRING_type_new(ip_len != 0 ? V_ASN1_OCTET_STRING : V_ASN1_IA5STRING);
    const bool ok =
        value != nullptr &&
        (ip_len != 0 ? ASN1_STRING_set(value, ip, ip_len)
                     : ASN1_STRING_set(value, host.data(), static_cast<int>(host.size()))) == 1;
    if (!ok) {
      ASN1_STRING_free(value);
      GENERAL_NAME_free(name);
      throw_queued(what);
    }
    GENERAL_NAME_set0_value(name, ip_len != 0 ? GEN_IPADD : GEN_DNS, value);  // name owns it
    if (sk_GENERAL_NAME_push(names.get(), name) == 0) {
      GENERAL_NAME_free(name);
      throw_queued(what);
    }
  }
  return names;
}

// One extension from OpenSSL's configuration syntax ("critical,CA:FALSE"), issuer = subject.
void add_extension(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    throw_queued(std::string("make_self_signed_certificate: extension ") + value);
  }
}

std::string pem_of(const char* what, const std::function<int(BIO*)>& write) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || write(bio.get()) != 1) throw_queued(what);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return {data, static_cast<std::size_t>(len)};
}

}  // namespace

SelfSigned make_self_signed_certificate(const std::vector<std::string>& hosts, int days) {
  constexpr const char* what = "make_self_signed_certificate";
  if (hosts.empty()) throw std::invalid_argument(std::string(what) + ": no host names");
  for (const std::string& host : hosts) {
    if (host.empty()) throw std::invalid_argument(std::string(what) + ": an empty host name");
  }
  if (days < 1 || days > 3650) {
    throw std::invalid_argument(std::string(what) + ": days must be 1-3650, not " +
                                std::to_string(days));
  }
  NamesPtr names = alt_names(hosts);  // checks every host before any key is made
  ERR_clear_error();

  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  X509Ptr cert(X509_new());
  if (!key || !cert) throw_queued(what);

  // A random positive 127-bit serial number (RFC 5280: unique per issuer, at most 20 bytes).
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) throw_queued(what);
  serial[0] &= 0x7f;
  serial[0] |= 0x40;  // never zero
  BnPtr bn(BN_bin2bn(serial, sizeof serial, nullptr));

  // subject = issuer: O=socketserver self-signed, CN=<the first host> (when it fits: 64).
  NamePtr subject(X509_NAME_new());
  if (!bn || !subject) throw_queued(what);
  const auto add_name = [&](const char* field, const std::string& value) {
    if (X509_NAME_add_entry_by_txt(subject.get(), field, MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.data()),
                                   static_cast<int>(value.size()), -1, 0) != 1) {
      throw_queued(what);
    }
  };
  add_name("O", "socketserver self-signed");
  if (hosts.front().size() <= 64) add_name("CN", hosts.front());

  // Valid from five minutes ago (a client's clock may be a little behind) for `days` days.
  const bool made = X509_set_version(cert.get(), X509_VERSION_3) == 1 &&
                    BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get())) != nullptr &&
                    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -300) != nullptr &&
                    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400L * days) != nullptr &&
                    X509_set_subject_name(cert.get(), subject.get()) == 1 &&
                    X509_set_issuer_name(cert.get(), subject.get()) == 1 &&
                    X509_set_pubkey(cert.get(), key.get()) == 1 &&
                    X509_add1_ext_i2d(cert.get(), NID_subject_alt_name, names.get(), 0, 0) == 1;
  if (!made) throw_queued(what);
  // A server's certificate (not a CA's) that is its own trust anchor, as a self-signed
  // certificate is; the key identifiers keep strict verifiers (X509_V_FLAG_X509_STRICT) happy.
  add_extension(cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert.get(), NID_key_usage, "critical,digitalSignature");
  add_extension(cert.get(), NID_ext_key_usage, "serverAuth,clientAuth");
  add_extension(cert.get(), NID_subject_key_identifier, "hash");
  add_extension(cert.get(), NID_authority_key_identifier, "keyid:always");
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) throw_queued(what);

  SelfSigned out;
  out.cert_pem = pem_of(what, [&](BIO* b) { return PEM_write_bio_X509(b, cert.get()); });
  out.key_pem = pem_of(what, [&](BIO* b) {
    return PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  });
  return out;
}

std::string certificate_fingerprint(const std::string& cert_pem) {
  X509Ptr cert = first_certificate(cert_pem, "certificate_fingerprint", "the PEM text");
  return sha256_fingerprint(cert.get(), "certificate_fingerprint");
}

std::string certificate_fingerprint_der(const std::string& cert_der) {
  const auto* p = reinterpret_cast<const unsigned char*>(cert_der.data());
  ERR_clear_error();
  X509Ptr cert(cert_der.size() <= INT_MAX
                   ? d2i_X509(nullptr, &p, static_cast<long>(cert_der.size()))
                   : nullptr);
  if (!cert) {
    ERR_clear_error();
    throw ssl_error(SSL_ERROR_SSL, "certificate_fingerprint_der", "ASN1 routines",
                    "not a DER certificate");
  }
  return sha256_fingerprint(cert.get(), "certificate_fingerprint_der");
}

void SSLContext::load_cert_chain_pem(const std::string& cert_pem, const std::string& key_pem,
                                     const std::optional<std::string>& password) {
  constexpr const char* what = "load_cert_chain_pem";
  if (cert_pem.empty()) throw std::invalid_argument("load_cert_chain_pem: cert_pem is empty");
  // The certificate, then the rest of the chain (intermediates), as use_certificate_chain_file.
  X509Ptr leaf = first_certificate(cert_pem, what, "cert_pem");
  std::vector<X509Ptr> chain;
  {
    BioPtr bio = memory_bio(cert_pem, what);
    X509Ptr skipped(PEM_read_bio_X509_AUX(bio.get(), nullptr, nullptr, nullptr));  // the leaf
    while (X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) chain.emplace_back(c);
    ERR_clear_error();  // the end of the text reads as an error
  }
  const std::string& key_text = key_pem.empty() ? cert_pem : key_pem;
  if (key_text.size() > INT_MAX) throw std::invalid_argument("load_cert_chain_pem: key too large");
  std::string pass = password.value_or("");
  PkeyPtr key;
  {
    BioPtr bio = memory_bio(key_text, what);
    key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, detail::pem_password, &pass));
  }
  if (!key) throw_queued("load_cert_chain_pem: private key");

  SSL_CTX* ctx = ctx_.get();
  bool ok = SSL_CTX_use_certificate(ctx, leaf.get()) == 1 && SSL_CTX_clear_chain_certs(ctx) == 1;
  for (std::size_t i = 0; ok && i < chain.size(); ++i) {
    ok = SSL_CTX_add1_chain_cert(ctx, chain[i].get()) == 1;
  }
  ok = ok && SSL_CTX_use_PrivateKey(ctx, key.get()) == 1 && SSL_CTX_check_private_key(ctx) == 1;
  if (!ok) throw_queued(what);
}

}  // namespace socketserver
