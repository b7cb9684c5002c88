// asyncio.cpp — the task machinery of asyncio.hpp: waits, task cores, sleep, wait_for's
// deadline, TaskGroup and run.
#include "socketserver/asyncio.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <new>
#include <stdexcept>
#include <unordered_map>

// Frames are recycled unless the build says not to (CMake's SOCKETSERVER_RECYCLE_FRAMES=OFF)
// or AddressSanitizer is on: it must see a freed frame as freed.
#ifndef SOCKETSERVER_RECYCLE_FRAMES
#if defined(__SANITIZE_ADDRESS__)
#define SOCKETSERVER_RECYCLE_FRAMES 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SOCKETSERVER_RECYCLE_FRAMES 0
#endif
#endif
#endif
#ifndef SOCKETSERVER_RECYCLE_FRAMES
#define SOCKETSERVER_RECYCLE_FRAMES 1
#endif

namespace socketserver::asyncio {
namespace detail {

// ---- Frame recycling ------------------------------------------------------------------------

namespace {
struct FreeFrame {
  FreeFrame* next;
};
// Trivially destructible, so it is usable until its thread is gone; FrameCacheReaper empties
// it when the thread ends and marks it closed (frames freed after that go to operator delete).
struct FrameCache {
  FreeFrame* head[kFrameClasses];
  std::uint8_t depth[kFrameClasses];
  std::size_t bytes;     // held in all classes: at most kFrameCacheBytes
  std::uint64_t frames;  // frame_allocate calls on this thread
  bool reaper_armed;
  bool closed;
};
thread_local FrameCache frame_cache{};

static_assert(frame_class(frame_block(0)) == 0 && frame_class(frame_block(0) + 1) == 1 &&
              frame_class(frame_block(kFrameClasses - 1)) == kFrameClasses - 1);

struct FrameCacheReaper {
  FrameCacheReaper() = default;
  FrameCacheReaper(const FrameCacheReaper&) = delete;
  FrameCacheReaper& operator=(const FrameCacheReaper&) = delete;
  ~FrameCacheReaper() {
    frame_cache.closed = true;
    for (std::size_t c = 0; c < kFrameClasses; ++c) {
      while (FreeFrame* f = frame_cache.head[c]) {
        frame_cache.head[c] = f->next;
        ::operator delete(f);
      }
      frame_cache.depth[c] = 0;
    }
    frame_cache.bytes = 0;
  }
};

// Made on a thread's first frame from the heap (or its first free of a frame made elsewhere),
// so that it is there before anything that frees frames at the thread's (or the program's)
// end: its destructor then runs after theirs.
void arm_reaper() noexcept {
  thread_local FrameCacheReaper reaper;  // its constructor cannot throw
  (void)reaper;
  frame_cache.reaper_armed = true;
}
}  // namespace

bool frame_recycling_enabled() noexcept { return SOCKETSERVER_RECYCLE_FRAMES != 0; }

void* frame_allocate(std::size_t size) {
  FrameCache& cache = frame_cache;
  ++cache.frames;
  const std::size_t cls = frame_class(size);
  if (SOCKETSERVER_RECYCLE_FRAMES == 0 || cls >= kFrameClasses) return ::operator new(size);
  if (FreeFrame* f = cache.head[cls]) {
    cache.head[cls] = f->next;
    --cache.depth[cls];
    cache.bytes -= frame_block(cls);
    return f;
  }
  if (!cache.reaper_armed && !cache.closed) arm_reaper();
  return ::operator new(frame_block(cls));
}

void frame_free(void* frame, std::size_t size) noexcept {
  const std::size_t cls = frame_class(size);
  if (SOCKETSERVER_RECYCLE_FRAMES == 0 || cls >= kFrameClasses) {
    ::operator delete(frame);
    return;
  }
  FrameCache& cache = frame_cache;
  const std::size_t block = frame_block(cls);
  if (!cache.reaper_armed && !cache.closed) arm_reaper();  // a thread that made none itself
  if (cache.closed || cache.depth[cls] >= kFrameCacheDepth ||
      cache.bytes + block > kFrameCacheBytes) {
    ::operator delete(frame);
    return;
  }
  cache.head[cls] = new (frame) FreeFrame{cache.head[cls]};
  ++cache.depth[cls];
  cache.bytes += block;
}

std::size_t frame_cache_blocks() noexcept {
  std::size_t n = 0;
  for (std::size_t c = 0; c < kFrameClasses; ++c) n += frame_cache.depth[c];
  return n;
}

std::size_t frame_cache_bytes() noexcept { return frame_cache.bytes; }

std::uint64_t frames_allocated() noexcept { return frame_cache.frames; }

// ---- Task<>::finished()'s frame ----------------------------------------------------------------

namespace {
Task<> ended() { co_return; }
}  // namespace

void* finished_frame() {
  static void* const frame = [] {
    Task<> task = ended();
    std::coroutine_handle<Task<>::promise_type> h = std::exchange(task.handle_, {});
    h.promise().start = PromiseBase::Start::forever;
    h.resume();  // to its final suspension: done() from now on, and never destroyed
    return h.address();
  }();
  return frame;
}

// ---- WaitList and Wait ----------------------------------------------------------------------

WaitList::~WaitList() {
  for (Wait* w : waits_) w->list_ = nullptr;
}

void WaitList::wake_all() {
  if (waits_.empty()) return;
  if (waits_.size() == 1) {  // the common case: one task waits
    Wait* w = waits_.back();
    waits_.clear();
    w->list_ = nullptr;
    w->resume();  // may destroy this list: nothing of it is touched after
    return;
  }
  std::vector<Wait*> batch;
  batch.swap(waits_);
  for (Wait* w : batch) {
    w->list_ = nullptr;
    w->batch_ = &batch;
  }
  for (Wait*& w : batch) {
    if (w == nullptr) continue;  // its frame was destroyed by a task resumed before it
    Wait* next = std::exchange(w, nullptr);
    next->batch_ = nullptr;
    next->resume();
  }
}

Wait::~Wait() { unpark(); }

bool Wait::park(std::coroutine_handle<> h, TaskCore* core) {
  core_ = core;
  if (core != nullptr && core->cancel_requested) {  // a cancellation is pending: deliver it now
    core->cancel_requested = false;
    cancelled_ = true;
    return false;
  }
  if (list_ == nullptr) throw std::logic_error("asyncio: a wait on a list that is gone");
  handle_ = h;
  list_->waits_.push_back(this);
  parked_ = true;
  if (core != nullptr) core->parked = this;
  return true;
}

void Wait::unpark() noexcept {
  if (list_ != nullptr) {
    auto& v = list_->waits_;
    if (auto it = std::find(v.begin(), v.end(), this); it != v.end()) v.erase(it);
    list_ = nullptr;
  }
  if (batch_ != nullptr) {
    if (auto it = std::find(batch_->begin(), batch_->end(), this); it != batch_->end()) {
      *it = nullptr;
    }
    batch_ = nullptr;
  }
  if (core_ != nullptr && core_->parked == this) core_->parked = nullptr;
  parked_ = false;
}

void Wait::resume() {
  unpark();
  handle_.resume();
}

void Wait::cancel() {
  if (!parked_) return;
  cancelled_ = true;
  resume();
}

// ---- TaskCore and the thread's running tasks --------------------------------------------------

namespace {
// The tasks running on this thread (a reactor and its tasks belong to one thread).
std::unordered_map<TaskCore*, std::weak_ptr<TaskCore>>& registry() {
  thread_local std::unordered_map<TaskCore*, std::weak_ptr<TaskCore>> tasks;
  return tasks;
}
}  // namespace

void register_task(const std::shared_ptr<TaskCore>& core) { registry()[core.get()] = core; }

void unregister_task(TaskCore* core) noexcept { registry().erase(core); }

std::vector<std::shared_ptr<TaskCore>> live_tasks(Reactor& reactor) {
  std::vector<std::shared_ptr<TaskCore>> out;
  for (auto& [core, weak] : registry()) {
    if (core->reactor != &reactor || core->done) continue;
    if (auto strong = weak.lock()) out.push_back(std::move(strong));
  }
  return out;
}

TaskCore::TaskCore(Reactor& r) : reactor(&r) {}

TaskCore::~TaskCore() { unregister_task(this); }

bool TaskCore::cancel() {
  if (done) return false;
  if (parked != nullptr) {
    Wait* w = std::exchange(parked, nullptr);
    w->cancel();  // resumes the task: its await throws CancelledError
  } else {
    cancel_requested = true;
  }
  return true;
}

void TaskCore::destroy_frame() noexcept {
  if (done || !frame) return;
  std::coroutine_handle<> f = std::exchange(frame, {});
  parked = nullptr;
  f.destroy();  // its destructors run; every wait in it unparks
  error = std::make_exception_ptr(CancelledError());
  finish();
}

void TaskCore::finish() noexcept {
  if (done) return;
  done = true;
  frame = {};
  unregister_task(this);
  if (auto fn = std::exchange(on_done, {})) {
    try {
      fn(*this);
    } catch (...) {  // NOLINT(bugprone-empty-catch): an owner's bookkeeping must not throw
    }
  }
  done_waiters.wake_all();
}

bool TaskCore::cancelled() const noexcept { return is_cancellation(error); }

bool is_cancellation(const std::exception_ptr& error) noexcept {
  if (!error) return false;
  try {
    std::rethrow_exception(error);
  } catch (const CancelledError&) {
    return true;
  } catch (...) {
    return false;
  }
}

// ---- wait_for's deadline ----------------------------------------------------------------------

Deadline::Deadline(TaskCore& core, std::chrono::duration<double> timeout)
    : fired_(std::make_shared<bool>(false)) {
  if (std::isnan(timeout.count())) throw std::invalid_argument("wait_for: the timeout is NaN");
  call_ = core.reactor->call_later(timeout, [&core, fired = fired_] {
    *fired = true;
    core.cancel();
  });
}

Deadline::~Deadline() { call_.cancel(); }

void no_current_task(const char* what) {
  throw std::logic_error(std::string(what) +
                         ": must be awaited from a task (create_task, run or a server handler)");
}

// ---- run ----------------------------------------------------------------------------------------

void run_until_done(Reactor& reactor, TaskCore& core, bool install_signal_handlers) {
  if (!core.done) {
    core.on_done = [&reactor](TaskCore&) { reactor.stop(); };
    reactor.run(install_signal_handlers);
  }
  if (!core.done) core.cancel();         // the reactor stopped first: main hears CancelledError
  if (!core.done) core.destroy_frame();  // and it parked again: its frame is freed
}

void cancel_remaining(Reactor& reactor) noexcept {
  std::vector<std::shared_ptr<TaskCore>> tasks = live_tasks(reactor);
  for (auto& t : tasks) {
    try {
      t->cancel();
    } catch (...) {  // NOLINT(bugprone-empty-catch): the task's own exception ends it, stored
    }
  }
  for (auto& t : tasks) t->destroy_frame();
}

}  // namespace detail

// ---- sleep --------------------------------------------------------------------------------------

Task<> sleep(Reactor& reactor, std::chrono::duration<double> delay) {
  if (std::isnan(delay.count())) throw std::invalid_argument("sleep: the delay is NaN");
  detail::WaitList list;
  DelayedCall call = reactor.call_later(delay, [&list] { list.wake_all(); });
  struct CancelOnExit {
    DelayedCall& call;
    explicit CancelOnExit(DelayedCall& c) : call(c) {}
    CancelOnExit(const CancelOnExit&) = delete;
    CancelOnExit& operator=(const CancelOnExit&) = delete;
    ~CancelOnExit() { call.cancel(); }
  } guard(call);
  co_await detail::Wait(list);
}

// ---- TaskGroup ---------------------------------------------------------------------------------

TaskGroup::~TaskGroup() {
  closed_ = true;
  std::vector<std::shared_ptr<detail::TaskCore>> children;
  children.swap(children_);
  for (auto& c : children) c->on_done = nullptr;
  for (auto& c : children) c->destroy_frame();
}

void TaskGroup::adopt(const std::shared_ptr<detail::TaskCore>& child) {
  if (child->done) {  // it ended during create_task
    ++pending_;
    child_done(*child);
    return;
  }
  children_.push_back(child);
  ++pending_;
  child->on_done = [this](detail::TaskCore& c) { child_done(c); };
}

void TaskGroup::cancel_all() {
  std::vector<std::shared_ptr<detail::TaskCore>> children = children_;
  for (auto& c : children) c->cancel();
}

void TaskGroup::child_done(detail::TaskCore& child) {
  --pending_;
  const bool failed = child.error && !child.cancelled() && !first_error_;
  if (failed) {
    first_error_ = child.error;
    ++in_child_done_;
    cancel_all();  // siblings end here (their child_done only counts)
    --in_child_done_;
  }
  if (in_child_done_ > 0) return;
  // Last: either may resume the parent, which may end the group (this) before returning.
  if (failed && body_running_ && parent_ != nullptr) {
    parent_->cancel();
    return;
  }
  changed_.wake_all();
}

Task<> TaskGroup::join() {
  std::exception_ptr cancelled;
  while (pending_ > 0) {
    try {
      co_await detail::Wait(changed_);
    } catch (const CancelledError&) {
      cancelled = std::current_exception();
      cancel_all();
    }
  }
  closed_ = true;
  if (first_error_) std::rethrow_exception(first_error_);
  if (cancelled) std::rethrow_exception(cancelled);
}

}  // namespace socketserver::asyncio
