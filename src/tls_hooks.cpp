// tls_hooks.cpp — the core's side of tls_hooks.hpp: where the TLS objects publish their table.
// No OpenSSL here: this object is in every program.
#include "tls_hooks.hpp"

#include <atomic>
#include <stdexcept>

namespace socketserver::detail {

namespace {
// Written by every SSLContext's constructor (always the same table), read once per TLS
// connection, from any thread: an atomic pointer, no lock.
std::atomic<const TlsHooks*> installed{nullptr};
}  // namespace

const TlsHooks& tls_hooks() {
  const TlsHooks* hooks = installed.load(std::memory_order_acquire);
  if (hooks == nullptr) {
    throw std::logic_error("TLS reached without an SSLContext (socketserver: tls_hooks)");
  }
  return *hooks;
}

void set_tls_hooks(const TlsHooks& hooks) noexcept {
  installed.store(&hooks, std::memory_order_release);
}

}  // namespace socketserver::detail
