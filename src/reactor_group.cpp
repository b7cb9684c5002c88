// reactor_group.cpp — ReactorGroup: N reactors, one per thread, on one SO_REUSEPORT port.
#include <condition_variable>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "posix_util.hpp"
#include "socketserver/reactor.hpp"

namespace socketserver {

// ---- ReactorGroup --------------------------------------------------------------------------

ReactorGroup::ReactorGroup(std::size_t threads) {
  if (threads == 0) throw std::invalid_argument("ReactorGroup: at least one thread");
  for (std::size_t i = 0; i < threads; ++i) reactors_.push_back(std::make_unique<Reactor>());
}

ReactorGroup::~ReactorGroup() { stop(); }

void ReactorGroup::start(std::function<void(Reactor&, std::size_t)> setup) {
  if (!threads_.empty()) throw std::logic_error("ReactorGroup::start: already started");
  std::mutex mu;
  std::condition_variable cv;
  std::size_t ready = 0;
  std::exception_ptr first_error;
  for (std::size_t i = 0; i < reactors_.size(); ++i) {
    threads_.emplace_back([&, i] {
      Reactor& r = *reactors_[i];
      bool ok = true;
      try {
        setup(r, i);
      } catch (...) {
        ok = false;
        std::lock_guard<std::mutex> lock(mu);
        if (!first_error) first_error = std::current_exception();
      }
      {
        // Notify under the lock: once it is released, start() may return and these locals
        // (mu, cv, ready) are gone; this thread touches none of them afterwards.
        std::lock_guard<std::mutex> lock(mu);
        ++ready;
        cv.notify_all();
      }
      if (ok) r.run(false);
    });
  }
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return ready == reactors_.size(); });
  if (first_error) {
    lock.unlock();
    stop();
    std::rethrow_exception(first_error);
  }
}

void ReactorGroup::stop() {
  std::lock_guard<std::mutex> control(control_);
  for (auto& r : reactors_) {
    // run() may not have started yet in a thread: ask until it has returned.
    r->call_from_thread([rp = r.get()] { rp->stop(); });
    r->stop();
  }
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void ReactorGroup::call_in_each(const std::function<void(Reactor&, std::size_t)>& fn) {
  std::lock_guard<std::mutex> control(control_);
  for (const std::thread& t : threads_) {
    if (t.get_id() == std::this_thread::get_id()) {
      throw std::logic_error("ReactorGroup::call_in_each: called from one of the group's threads");
    }
  }
  std::exception_ptr first_error;
  if (threads_.empty()) {  // no loop runs: here, one after the other
    for (std::size_t i = 0; i < reactors_.size(); ++i) {
      try {
        fn(*reactors_[i], i);
      } catch (...) {
        if (!first_error) first_error = std::current_exception();
      }
    }
  } else {
    // Each loop runs its call; stop() waits for control_, so every loop is still running
    // until the last call has returned and been counted.
    std::mutex mu;
    std::condition_variable cv;
    std::size_t done = 0;
    for (std::size_t i = 0; i < reactors_.size(); ++i) {
      reactors_[i]->call_from_thread([&, i] {
        std::exception_ptr error;
        try {
          fn(*reactors_[i], i);
        } catch (...) {
          error = std::current_exception();
        }
        std::lock_guard<std::mutex> lock(mu);  // notify under the lock: the locals may go
        if (error && !first_error) first_error = error;
        ++done;
        cv.notify_all();
      });
    }
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return done == reactors_.size(); });
  }
  if (first_error) std::rethrow_exception(first_error);
}

void ReactorGroup::run_until_signal() {
  Waker wake;
  {
    detail::StopSignalTarget signals;
    const auto on_signal = [](void* waker, int) noexcept { static_cast<Waker*>(waker)->wake(); };
    if (!signals.claim(on_signal, &wake)) {
      throw std::logic_error(
          "ReactorGroup::run_until_signal: SIGINT/SIGTERM already stop another loop in this "
          "process");
    }
    Selector selector;  // waits for the waker only
    selector.register_(wake.fileno(), EVENT_READ);
    while (selector.select(std::nullopt).empty()) {
    }
  }
  stop();
}

}  // namespace socketserver
