// detail/peer_wait.hpp (internal; public only because ThreadPoolMixIn is a template) — how a
// thread learns that its socket calls are about to sleep until a peer acts.
//
// A thread may install a PeerWaitObserver. While one is installed, every Socket call on that
// thread that is about to sleep until its peer acts (a receive with nothing to read, a send with
// the peer's window full, the wait of a call with a timeout, an SSLSocket's wait) tells it first.
// A call whose data is there at once tells it nothing and costs nothing more; one that does
// sleep costs one more system call (the first try is made without waiting).
//
// ThreadPoolMixIn installs one in each worker while it serves a request, so that a worker whose
// client is slow can hand its place to another thread (thread_pool.hpp).
#pragma once

namespace socketserver::detail {

class PeerWaitObserver {
 public:
  /// The calling thread is about to sleep until its peer acts. noexcept: it must not stop the
  /// socket call that reports it.
  virtual void peer_wait_begins() noexcept = 0;

 protected:
  PeerWaitObserver() = default;
  PeerWaitObserver(const PeerWaitObserver&) = default;
  PeerWaitObserver& operator=(const PeerWaitObserver&) = default;
  ~PeerWaitObserver() = default;
};

/// The calling thread's observer (none: nullptr).
[[nodiscard]] PeerWaitObserver* peer_wait_observer() noexcept;

/// Tells the calling thread's observer, if any, that it is about to sleep for its peer.
inline void announce_peer_wait() noexcept {
  if (PeerWaitObserver* observer = peer_wait_observer()) observer->peer_wait_begins();
}

/// Installs `observer` for the calling thread for the scope's life, then restores the one before.
class PeerWaitScope {
 public:
  explicit PeerWaitScope(PeerWaitObserver* observer) noexcept;
  ~PeerWaitScope();
  PeerWaitScope(const PeerWaitScope&) = delete;
  PeerWaitScope& operator=(const PeerWaitScope&) = delete;

 private:
  PeerWaitObserver* saved_;
};

}  // namespace socketserver::detail
