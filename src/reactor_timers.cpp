// reactor_timers.cpp — time on the reactor: the timer heap and its DelayedCall handles
// (call_later), calls from other threads (call_from_thread), call_when_running, and
// LoopingCall (Twisted's task.LoopingCall), which is made of call_later.
#include <climits>
#include <cmath>
#include <mutex>
#include <stdexcept>

#include "reactor_impl.hpp"
#include "timeout.hpp"

namespace socketserver {

// ---- the timer heap -------------------------------------------------------------------------

std::shared_ptr<DelayedCall::State> Timers::add(ReactorImpl* impl, steady::time_point when,
                                                std::function<void()> fn) {
  auto state = std::make_shared<DelayedCall::State>();
  state->impl = impl;
  state->fn = std::move(fn);
  state->when = when;
  push(state);
  return state;
}

void Timers::note_stale() {
  if (++stale_ <= 64 || stale_ <= heap_.size() / 2) return;
  std::erase_if(heap_, [](const TimerEntry& e) { return !live(e); });
  std::make_heap(heap_.begin(), heap_.end(), TimerLater{});
  stale_ = 0;
}

std::optional<steady::time_point> Timers::next_due() {
  while (!heap_.empty() && !live(heap_.front())) pop_stale();  // they must not shorten a wait
  if (heap_.empty()) return std::nullopt;
  return heap_.front().when;
}

std::optional<std::function<void()>> Timers::pop_due(steady::time_point now) {
  while (!heap_.empty() && heap_.front().when <= now) {
    if (!live(heap_.front())) {  // cancelled or moved
      pop_stale();
      continue;
    }
    const std::shared_ptr<DelayedCall::State> state = heap_.front().state;  // may be the last
    pop();
    state->active = false;
    return std::move(state->fn);
  }
  return std::nullopt;
}

void Timers::detach_all() noexcept {
  for (TimerEntry& e : heap_) e.state->impl = nullptr;
  heap_.clear();
  stale_ = 0;
}

// ---- the loop's timers and calls ------------------------------------------------------------

DelayedCall ReactorImpl::schedule(std::chrono::duration<double> delay, std::function<void()> fn) {
  return DelayedCall(timers.add(this, steady::now() + detail::to_steady(delay), std::move(fn)));
}

void ReactorImpl::run_timers() {
  const auto now = steady::now();
  while (auto fn = timers.pop_due(now)) {
    try {
      (*fn)();
    } catch (...) {
      report_exception("call_later", "");
    }
    process_pending_closes();
  }
}

void ReactorImpl::run_calls() {
  for (auto& fn : thread_calls.take()) {
    try {
      fn();
    } catch (...) {
      report_exception("call_from_thread", "");
    }
    process_pending_closes();
  }
}

int ReactorImpl::next_wait_ms() {
  if (!always_ready.empty() || !pending_closes.empty()) return 0;
  if (thread_calls.pending()) return 0;
  const auto due = timers.next_due();
  if (!due) return -1;
  const auto left = *due - steady::now();
  if (left <= steady::duration::zero()) return 0;
  // Rounded up: a wait never ends just before its timer is due (no spinning).
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
  return ms >= INT_MAX ? INT_MAX : static_cast<int>(ms);
}

// ---- DelayedCall ---------------------------------------------------------------------------

void DelayedCall::cancel() {
  if (state_ && state_->active) {
    state_->active = false;
    state_->fn = nullptr;  // release what the call captured now
    if (state_->impl != nullptr) state_->impl->timers.note_stale();
  }
}

void DelayedCall::reset(std::chrono::duration<double> delay) {
  if (!active())
    throw std::logic_error("DelayedCall::reset: the call already ran or was cancelled");
  detail::check_seconds(delay.count(), "DelayedCall::reset: delay");
  state_->when = steady::now() + detail::to_steady(delay);
  ++state_->generation;
  if (state_->impl != nullptr) {
    state_->impl->timers.push(state_);
    state_->impl->timers.note_stale();
  }
}

void DelayedCall::delay(std::chrono::duration<double> delay) {
  if (!active())
    throw std::logic_error("DelayedCall::delay: the call already ran or was cancelled");
  detail::check_seconds(delay.count(), "DelayedCall::delay: delay");
  state_->when += detail::to_steady(delay);
  ++state_->generation;
  if (state_->impl != nullptr) {
    state_->impl->timers.push(state_);
    state_->impl->timers.note_stale();
  }
}

bool DelayedCall::active() const noexcept { return state_ && state_->active; }

double DelayedCall::get_time() const {
  if (!active()) return 0;
  return std::chrono::duration<double>(state_->when - steady::now()).count();
}

// ---- calls from the reactor's API ------------------------------------------------------------

DelayedCall Reactor::call_later(std::chrono::duration<double> delay, std::function<void()> fn) {
  impl_->check_loop_thread("call_later");
  detail::check_seconds(delay.count(), "call_later: delay");
  return impl_->schedule(delay, std::move(fn));
}

void Reactor::call_from_thread(std::function<void()> fn) {
  impl_->thread_calls.push(std::move(fn));
  impl_->waker.wake();
}

void Reactor::call_when_running(std::function<void()> fn) {
  impl_->check_loop_thread("call_when_running");
  if (impl_->running.load()) {
    fn();
  } else {
    impl_->startup_calls.push_back(std::move(fn));
  }
}

// ---- LoopingCall ---------------------------------------------------------------------------

LoopingCall::LoopingCall(Reactor& reactor, std::function<void()> fn)
    : reactor_(reactor), fn_(std::move(fn)) {
  if (!fn_) throw std::invalid_argument("LoopingCall: no function");
}

LoopingCall::~LoopingCall() { next_.cancel(); }

void LoopingCall::start(std::chrono::duration<double> interval, bool now,
                        std::function<void(std::exception_ptr)> done) {
  if (running_) throw std::logic_error("LoopingCall::start: already running");
  detail::check_seconds(interval.count(), "LoopingCall::start: interval");
  running_ = true;
  interval_ = interval.count();
  done_ = std::move(done);
  start_time_ = reactor_.seconds();
  if (now) {
    call();
  } else {
    schedule_from(start_time_);
  }
}

void LoopingCall::stop() {
  if (!running_) throw std::logic_error("LoopingCall::stop: not running");
  running_ = false;
  next_.cancel();
  finish(nullptr);
}

void LoopingCall::call() {
  try {
    fn_();
  } catch (...) {
    running_ = false;
    next_.cancel();
    if (!done_) {  // nobody asked: reported as Twisted logs an unhandled Deferred failure
      ReactorImpl::of(reactor_).report_exception("LoopingCall", "");
      return;
    }
    finish(std::current_exception());
    return;
  }
  // fn may have stopped it, or stopped and started it again (which scheduled its own call).
  if (running_ && !next_.active()) schedule_from(reactor_.seconds());
}

void LoopingCall::schedule_from(double now) {
  double delay = 0;
  if (interval_ > 0) {  // the next point of the grid start_time_ + k * interval_
    delay = interval_ - std::fmod(now - start_time_, interval_);
    if (now + delay == now) delay = interval_;  // too small to move the clock: a whole step
  }
  next_ = reactor_.call_later(std::chrono::duration<double>(delay), [this] { call(); });
}

void LoopingCall::finish(std::exception_ptr error) {
  std::function<void(std::exception_ptr)> done = std::move(done_);
  done_ = nullptr;
  if (done) done(error);
}

}  // namespace socketserver
