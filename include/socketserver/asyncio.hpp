// clang-format off
// asyncio.hpp — Python's asyncio on the reactor: C++20 coroutines that read top to bottom and
// run like Twisted (one loop, thousands of connections, no thread each).
//
//   Python                                          C++ (namespace socketserver::asyncio)
//   async def main():                               Task<> main_task(Reactor& reactor) {
//       await asyncio.sleep(0.5)                        co_await sleep(reactor, 0.5s);
//       x = await asyncio.wait_for(f(), 2)              int x = co_await wait_for(f(), 2s);
//       a, b = await asyncio.gather(f(), g())           auto [a, b] = co_await gather(f(), g());
//       async with asyncio.TaskGroup() as tg:           co_await task_group([&](TaskGroup& tg) -> Task<> {
//           tg.create_task(f())                             tg.create_task(f()); co_return; });
//   t = asyncio.create_task(f()); t.cancel()        auto t = create_task(reactor, f()); t.cancel();
//   asyncio.run(main())                             asyncio::run(reactor, main_task(reactor));
// clang-format on
//
// The pieces:
//   Task<T>        a coroutine (Python's coroutine object): lazy — nothing runs until it is
//                  awaited or handed to create_task/run; `co_await task` runs it and gives its
//                  value or rethrows its exception. Move-only; owns its frame
//                  (Task<>::finished(), a task that has already ended, shares one).
//   TaskHandle<T>  a running task (Python's asyncio.Task), from create_task: cancel(), done(),
//                  and co_await for its result.
//   CancelledError thrown at the await a task is parked on when it is cancelled, so the
//                  destructors of its frame (and any `catch`) run; as Python's, it is not a
//                  std::exception (Python's is not an Exception), so `catch (std::exception&)`
//                  does not swallow it.
//
// Built on these: streams (StreamReader, StreamWriter, start_server, open_connection) in
// asyncio_streams.hpp, and socketserver's names (AsyncTCPServer, AsyncStreamRequestHandler) in
// asyncio_server.hpp; docs/asyncio.md sets them beside Python's.
//
// The coroutines are one more face of the reactor, not a second loop: a task waiting for data,
// a timer or another task is parked, and the reactor callback that satisfies it (a read, a
// call_later) resumes it in place. Thread-safety: a task belongs to its reactor's thread; create,
// await and cancel it there only (muduo's rule, as everything of the reactor).
//
// Differences from Python, each deliberate:
//   - create_task starts the task at once, running it to its first suspension (Python 3.12's
//     eager_task_factory), rather than at the next loop iteration.
//   - gather cancels the other awaitables when one fails and waits for them before raising
//     (Python leaves them running); TaskGroup raises the first failure, not an ExceptionGroup.
//   - Cancelling a task resumes it at once (inside cancel()), where Python schedules it.
//   - A chain of awaits that complete at once runs in constant stack: the awaiter runs the
//     awaited task inline and continues without suspending when it finished (GCC does not make
//     symmetric transfer a tail call without optimisation, so this does not rely on it); a task
//     that completes later resumes its awaiter by symmetric transfer.
#pragma once

#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "socketserver/errors.hpp"
#include "socketserver/reactor.hpp"

namespace socketserver::asyncio {

/// Python's asyncio.CancelledError: thrown at the await where a cancelled task is parked. Not a
/// std::exception, as Python's is not an Exception: catch it by name (or `...`) and rethrow.
class CancelledError {
 public:
  [[nodiscard]] const char* what() const noexcept { return "task cancelled"; }
};

template <class T = void>
class Task;
template <class T = void>
class TaskHandle;

namespace detail {

struct TaskCore;
class Wait;

/// Coroutine frames come from here: a per-thread cache of recently freed frames, in 16-byte
/// size classes (the heap's own granularity, so a frame costs no more than from malloc) up to
/// about 1 KiB, at most kFrameCacheDepth blocks of a class and kFrameCacheBytes in all, so that a
/// connection's readline and drain (a frame each per call) reuse the same few blocks instead
/// of calling malloc and free (Asio recycles its frames the same way). Larger frames, and every
/// frame in a build under AddressSanitizer (which must see a freed frame as freed) or with
/// SOCKETSERVER_RECYCLE_FRAMES=0 (CMake option; for Valgrind), go to operator new/delete.
/// A frame may be freed on another thread than the one that made it: it then joins that
/// thread's cache. A thread's cache is released when the thread ends.
void* frame_allocate(std::size_t size);
void frame_free(void* frame, std::size_t size) noexcept;
inline constexpr std::size_t kFrameGrain = 16;
inline constexpr std::size_t kFrameClasses = 64;  // frames up to frame_block(63) = 1032 bytes
/// A frame of `size` bytes takes a block of its class: 24, 40, 56, ... bytes, the sizes glibc's
/// malloc hands out whole (a chunk of 16·k bytes less its 8-byte header), so a cached frame
/// holds no more memory than the heap would have given it.
constexpr std::size_t frame_class(std::size_t size) noexcept {
  return size <= 24 ? 0 : (size - 9) / kFrameGrain;
}
constexpr std::size_t frame_block(std::size_t cls) noexcept { return cls * kFrameGrain + 24; }
inline constexpr std::size_t kFrameCacheDepth = 16;     // blocks kept per class and thread
inline constexpr std::size_t kFrameCacheBytes = 16384;  // bytes kept per thread, all classes
/// This thread's cached blocks and their bytes (all classes), the frames it has allocated
/// (from the cache or the heap), and whether this build recycles frames at all.
std::size_t frame_cache_blocks() noexcept;
std::size_t frame_cache_bytes() noexcept;
std::uint64_t frames_allocated() noexcept;
bool frame_recycling_enabled() noexcept;

/// What every promise of this header carries: the running task it belongs to (for cancellation
/// and for the reactor), whom to resume when it ends, and how it was started.
struct PromiseBase {
  static void* operator new(std::size_t size) { return frame_allocate(size); }
  static void operator delete(void* frame, std::size_t size) noexcept { frame_free(frame, size); }
  TaskCore* core = nullptr;
  std::coroutine_handle<> continuation;
  enum class Start : std::uint8_t {
    idle,         // not started, or resumed by something other than an awaiter
    inline_run,   // the awaiter's await_suspend is running it now
    done_inline,  // it finished inside await_suspend: the awaiter goes on without suspending
    parked,       // it suspended: its end resumes `continuation`
    forever,      // the one shared frame of Task<>::finished(): ended, never destroyed
  };
  Start start = Start::idle;
};

/// The frame of Task<>::finished(): made on the first call, ended, shared by every such task
/// and never destroyed (read only, so any thread may await it).
void* finished_frame();

/// The running task of a coroutine handle whose promise is one of ours (else nullptr).
template <class P>
TaskCore* core_of(std::coroutine_handle<P> h) noexcept {
  if constexpr (std::is_base_of_v<PromiseBase, P>) {
    return h.promise().core;
  } else {
    (void)h;
    return nullptr;
  }
}

/// The waits parked on one condition (data arrived, a task ended, a buffer drained...).
/// Not thread-safe: the reactor thread's.
class WaitList {
 public:
  WaitList() = default;
  WaitList(const WaitList&) = delete;
  WaitList& operator=(const WaitList&) = delete;
  ~WaitList();
  /// Resumes every wait parked now (those that park again while this runs wait for the next
  /// wake). Touches nothing of the list after the last resume, so a resumed task may destroy it.
  void wake_all();
  [[nodiscard]] bool empty() const noexcept { return waits_.empty(); }

 private:
  friend class Wait;
  std::vector<Wait*> waits_;
};

/// The one leaf awaitable: parks the awaiting task on a WaitList until the list is woken (then
/// returns) or the task is cancelled (then throws CancelledError). A task with a cancellation
/// pending does not park: it throws at once. Destroying a parked wait (its frame destroyed)
/// unparks it.
class Wait {
 public:
  explicit Wait(WaitList& list) noexcept : list_(&list) {}
  Wait(const Wait&) = delete;
  Wait& operator=(const Wait&) = delete;
  ~Wait();
  [[nodiscard]] bool await_ready() const noexcept { return false; }
  template <class P>
  bool await_suspend(std::coroutine_handle<P> h) {
    return park(h, core_of(h));
  }
  void await_resume() const {
    if (cancelled_) throw CancelledError();
  }
  /// The task is cancelled: unparks and resumes it (its await throws CancelledError).
  void cancel();

 private:
  friend class WaitList;
  bool park(std::coroutine_handle<> h, TaskCore* core);
  void unpark() noexcept;
  void resume();
  WaitList* list_;
  std::vector<Wait*>* batch_ = nullptr;  // WaitList::wake_all's batch it is waiting in
  TaskCore* core_ = nullptr;
  std::coroutine_handle<> handle_;
  bool parked_ = false;
  bool cancelled_ = false;
};

/// A running task (Python's asyncio.Task, without its result): its root frame, its reactor, its
/// cancellation state and who waits for its end. Shared by TaskHandle and the root frame.
struct TaskCore {
  TaskCore(Reactor& reactor);
  TaskCore(const TaskCore&) = delete;
  TaskCore& operator=(const TaskCore&) = delete;
  ~TaskCore();

  /// Python's Task.cancel(): a parked task is resumed with CancelledError at once; a running
  /// one gets it at its next await. False when it already ended.
  bool cancel();
  /// Frees the frame of a task that has not ended (its destructors run; no catch block does):
  /// the last resort when a cancelled task will not end. The task then ends as cancelled. The
  /// caller must hold a reference to the core.
  void destroy_frame() noexcept;
  /// The root frame reached its end (result or error stored): wakes whoever waits.
  void finish() noexcept;
  /// True when `error` is a CancelledError.
  [[nodiscard]] bool cancelled() const noexcept;

  Reactor* reactor;
  std::coroutine_handle<> frame;  // the root frame while it runs
  Wait* parked = nullptr;         // the wait it is parked on, if any
  bool cancel_requested = false;  // delivered at the next await
  bool done = false;
  std::exception_ptr error;
  WaitList done_waiters;                   // co_await on a TaskHandle
  std::function<void(TaskCore&)> on_done;  // its owner's (a group, a server), called once
};

/// The running tasks of this thread, for asyncio::run and the servers to cancel at the end.
std::vector<std::shared_ptr<TaskCore>> live_tasks(Reactor& reactor);
void register_task(const std::shared_ptr<TaskCore>& core);
void unregister_task(TaskCore* core) noexcept;

/// True when `error` holds a CancelledError.
bool is_cancellation(const std::exception_ptr& error) noexcept;

/// An awaitable that gives the current task's core without suspending (nullptr outside one).
struct CurrentCore {
  TaskCore* core = nullptr;
  [[nodiscard]] bool await_ready() const noexcept { return false; }
  template <class P>
  bool await_suspend(std::coroutine_handle<P> h) noexcept {
    core = core_of(h);
    return false;
  }
  [[nodiscard]] TaskCore* await_resume() const noexcept { return core; }
};

/// The final suspension of every Task: hands control back to the awaiter (see Start).
struct FinalAwaiter {
  [[nodiscard]] bool await_ready() const noexcept { return false; }
  template <class P>
  std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
    PromiseBase& p = h.promise();
    if (p.start == PromiseBase::Start::inline_run) {
      p.start = PromiseBase::Start::done_inline;
      return std::noop_coroutine();
    }
    if (p.continuation) return p.continuation;
    return std::noop_coroutine();
  }
  void await_resume() const noexcept {}
};

/// The result slot of a Task<T>'s promise.
template <class T>
struct Result {
  std::optional<T> value;  // (an optional and a pointer: cheaper to fill than a variant)
  std::exception_ptr error;
  template <class U>
  void return_value(U&& v) {
    value.emplace(std::forward<U>(v));
  }
  void unhandled_exception() noexcept { error = std::current_exception(); }
  T get() {
    if (error) std::rethrow_exception(error);
    return std::move(*value);
  }
};
template <>
struct Result<void> {
  std::exception_ptr error;
  void return_void() noexcept {}
  void unhandled_exception() noexcept { error = std::current_exception(); }
  void get() const {
    if (error) std::rethrow_exception(error);
  }
};

/// The coroutine that owns a running task's frame: awaits the task, stores its result in the
/// state and ends (freeing itself).
struct Root {
  struct promise_type : PromiseBase {
    Root get_return_object() noexcept {
      return Root{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_always initial_suspend() const noexcept { return {}; }
    std::suspend_never final_suspend() const noexcept { return {}; }
    void return_void() const noexcept {}
    [[noreturn]] void unhandled_exception() const noexcept { std::terminate(); }
  };
  std::coroutine_handle<promise_type> handle;
};

/// The state of a TaskHandle<T>: the core and the value.
template <class T>
struct TaskState : TaskCore {
  using TaskCore::TaskCore;
  std::optional<std::conditional_t<std::is_void_v<T>, std::monostate, T>> value;
};

template <class T>
Root run_root(Task<T> task, std::shared_ptr<TaskState<T>> state);

}  // namespace detail

/// A coroutine returning T (Python's coroutine object). Lazy: its body starts when it is
/// awaited (`co_await std::move(task)`, or `co_await f()`) or handed to create_task or run.
/// Awaiting gives the value or rethrows what the body threw. Move-only; destroying it destroys
/// its frame (and with it every local of the body).
template <class T>
class [[nodiscard]] Task {
 public:
  struct promise_type : detail::PromiseBase, detail::Result<T> {
    Task get_return_object() noexcept {
      return Task(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    std::suspend_always initial_suspend() const noexcept { return {}; }
    detail::FinalAwaiter final_suspend() const noexcept { return {}; }
  };

  Task() noexcept = default;
  Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      drop();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  /// A task that has already ended, with no value: awaiting it goes on at once. What a
  /// coroutine function returns on its fast path (drain() when nothing waits): no frame of its
  /// own (every one shares a single ended frame, made once per program).
  static Task finished()
    requires std::is_void_v<T>
  {
    return Task(std::coroutine_handle<promise_type>::from_address(detail::finished_frame()));
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() { drop(); }
  /// False for a default-constructed or moved-from task.
  [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(handle_); }

  struct Awaiter {
    std::coroutine_handle<promise_type> h;
    [[nodiscard]] bool await_ready() const noexcept { return !h || h.done(); }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> parent) {
      promise_type& p = h.promise();
      p.continuation = parent;
      p.core = detail::core_of(parent);
      p.start = detail::PromiseBase::Start::inline_run;
      h.resume();
      if (p.start == detail::PromiseBase::Start::done_inline) return false;  // no suspension
      p.start = detail::PromiseBase::Start::parked;
      return true;
    }
    T await_resume() {
      if (!h) throw std::logic_error("co_await on an empty Task");
      return h.promise().get();
    }
  };
  /// Runs the body (in the awaiting task) and gives its value, or rethrows its exception.
  Awaiter operator co_await() && noexcept { return Awaiter{handle_}; }

 private:
  friend void* detail::finished_frame();
  explicit Task(std::coroutine_handle<promise_type> h) noexcept : handle_(h) {}
  void drop() noexcept {
    if (handle_ && handle_.promise().start != detail::PromiseBase::Start::forever) {
      handle_.destroy();
    }
  }
  std::coroutine_handle<promise_type> handle_;
};

/// A running task (Python's asyncio.Task), made by create_task. Copies refer to the same task.
/// Dropping every handle does not stop it: it runs to its end (asyncio::run cancels what is
/// left when main ends). Reactor thread only.
template <class T>
class TaskHandle {
 public:
  TaskHandle() = default;
  /// Python's cancel(): see detail::TaskCore::cancel. False when it already ended.
  bool cancel() const { return state_ && state_->cancel(); }
  /// Python's done() / cancelled().
  [[nodiscard]] bool done() const noexcept { return state_ && state_->done; }
  [[nodiscard]] bool cancelled() const noexcept { return done() && state_->cancelled(); }
  /// Python's result(): the value, or rethrows the task's exception. Throws std::logic_error
  /// when it has not ended (Python's InvalidStateError).
  T result() const {
    if (!done()) throw std::logic_error("TaskHandle::result(): the task has not ended");
    if (state_->error) std::rethrow_exception(state_->error);
    if constexpr (!std::is_void_v<T>) return *state_->value;
  }
  /// Python's exception(): the exception the task ended with (nullptr when none).
  [[nodiscard]] std::exception_ptr exception() const {
    if (!done()) throw std::logic_error("TaskHandle::exception(): the task has not ended");
    return state_->error;
  }

  struct Awaiter {
    std::shared_ptr<detail::TaskState<T>> state;
    detail::Wait wait;
    explicit Awaiter(std::shared_ptr<detail::TaskState<T>> s)
        : state(std::move(s)), wait(state->done_waiters) {}
    [[nodiscard]] bool await_ready() const noexcept { return state->done; }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) {
      return wait.await_suspend(h);
    }
    T await_resume() {
      if (!state->done) wait.await_resume();  // cancelled while waiting: throws
      if (state->error) std::rethrow_exception(state->error);
      if constexpr (!std::is_void_v<T>) return *state->value;
    }
  };
  /// Waits for the task's end: its value, or its exception rethrown. Cancelling the waiter does
  /// not cancel the task (Python would; use wait_for or cancel() for that).
  Awaiter operator co_await() const {
    if (!state_) throw std::logic_error("co_await on an empty TaskHandle");
    return Awaiter(state_);
  }

  /// The core (internal: groups and servers use it).
  [[nodiscard]] const std::shared_ptr<detail::TaskState<T>>& state() const noexcept {
    return state_;
  }

 private:
  template <class U>
  friend TaskHandle<U> create_task(Reactor& reactor, Task<U> task);
  explicit TaskHandle(std::shared_ptr<detail::TaskState<T>> s) : state_(std::move(s)) {}
  std::shared_ptr<detail::TaskState<T>> state_;
};

namespace detail {
template <class T>
Root run_root(Task<T> task, std::shared_ptr<TaskState<T>> state) {
  try {
    if constexpr (std::is_void_v<T>) {
      co_await std::move(task);
      state->value.emplace();
    } else {
      state->value.emplace(co_await std::move(task));
    }
  } catch (...) {
    state->error = std::current_exception();
  }
  state->finish();
}
}  // namespace detail

/// Python's asyncio.create_task(coro): runs `task` as a task of its own on `reactor`, starting
/// at once (until its first suspension). Reactor thread only.
template <class T>
TaskHandle<T> create_task(Reactor& reactor, Task<T> task) {
  auto state = std::make_shared<detail::TaskState<T>>(reactor);
  detail::Root root = detail::run_root(std::move(task), state);
  root.handle.promise().core = state.get();
  state->frame = root.handle;
  detail::register_task(state);
  root.handle.resume();
  return TaskHandle<T>(std::move(state));
}

/// Python's asyncio.sleep(delay): resumes after `delay` (a reactor timer). Cancellable.
/// Throws std::invalid_argument for a negative or NaN delay.
Task<> sleep(Reactor& reactor, std::chrono::duration<double> delay);

namespace detail {
/// wait_for's timer: cancels `core` when it fires; `fired` tells the timeout from a cancel.
class Deadline {
 public:
  Deadline(TaskCore& core, std::chrono::duration<double> timeout);
  ~Deadline();
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;
  [[nodiscard]] bool fired() const noexcept { return *fired_; }

 private:
  DelayedCall call_;
  std::shared_ptr<bool> fired_;
};
/// A wait_for outside a task: std::logic_error.
[[noreturn]] void no_current_task(const char* what);
}  // namespace detail

/// Python's asyncio.wait_for(aw, timeout): awaits `task`; when `timeout` runs out first, the
/// inner await is cancelled (CancelledError at its current await, so its cleanup runs) and
/// timeout_error ("wait_for: timed out after 0.5 s") is thrown. Must be awaited from a task.
template <class T>
Task<T> wait_for(Task<T> task, std::chrono::duration<double> timeout) {
  detail::TaskCore* core = co_await detail::CurrentCore{};
  if (core == nullptr) detail::no_current_task("wait_for");
  std::optional<detail::Deadline> deadline;
  deadline.emplace(*core, timeout);
  try {
    if constexpr (std::is_void_v<T>) {
      co_await std::move(task);
      co_return;
    } else {
      co_return co_await std::move(task);
    }
  } catch (const CancelledError&) {
    if (!deadline->fired()) throw;  // cancelled from outside: not our timeout
  }
  throw timeout_error("wait_for: timed out after " + std::to_string(timeout.count()) + " s");
}

/// Python's asyncio.TaskGroup: tasks created in it are its children; when one fails (with
/// anything but CancelledError) the others and the group's body are cancelled, and the group
/// ends by raising that first failure once every child has ended. Use it through task_group.
class TaskGroup {
 public:
  explicit TaskGroup(Reactor& reactor, detail::TaskCore* parent = nullptr)
      : reactor_(&reactor), parent_(parent) {}
  TaskGroup(const TaskGroup&) = delete;
  TaskGroup& operator=(const TaskGroup&) = delete;
  /// Frees the frame of every child that has not ended (join() normally leaves none).
  ~TaskGroup();

  /// Python's tg.create_task(coro): a child, started at once. Throws std::logic_error once the
  /// group has finished joining.
  template <class T>
  TaskHandle<T> create_task(Task<T> task) {
    if (closed_) throw std::logic_error("TaskGroup::create_task: the group has ended");
    TaskHandle<T> handle = asyncio::create_task(*reactor_, std::move(task));
    adopt(handle.state());
    return handle;
  }
  /// Cancels every child that has not ended.
  void cancel_all();
  /// Waits until every child has ended; cancelled meanwhile, it cancels them all and still
  /// waits. Rethrows the first child failure, else the cancellation if there was one.
  Task<> join();
  /// The first failure of a child (nullptr: none).
  [[nodiscard]] std::exception_ptr first_error() const noexcept { return first_error_; }
  /// Internal (task_group): the body is running, so a failure cancels the parent task too.
  void set_body_running(bool running) noexcept { body_running_ = running; }

 private:
  void adopt(const std::shared_ptr<detail::TaskCore>& child);
  void child_done(detail::TaskCore& child);
  Reactor* reactor_;
  detail::TaskCore* parent_;
  std::vector<std::shared_ptr<detail::TaskCore>> children_;
  std::size_t pending_ = 0;
  std::exception_ptr first_error_;
  detail::WaitList changed_;
  int in_child_done_ = 0;  // child_done calls on the stack (only the outermost wakes)
  bool body_running_ = false;
  bool closed_ = false;
};

/// `async with asyncio.TaskGroup() as tg: <body>`: runs `body(tg)` (a coroutine taking
/// TaskGroup&), then waits for every child; a failing child cancels its siblings and the body;
/// leaving waits for all and rethrows the first failure. Must be awaited from a task.
template <class Body>
Task<> task_group(Body body) {
  detail::TaskCore* core = co_await detail::CurrentCore{};
  if (core == nullptr) detail::no_current_task("task_group");
  TaskGroup group(*core->reactor, core);
  std::exception_ptr body_error;
  group.set_body_running(true);
  try {
    co_await body(group);
  } catch (...) {
    body_error = std::current_exception();
  }
  group.set_body_running(false);
  if (body_error) group.cancel_all();
  std::exception_ptr join_error;
  try {
    co_await group.join();
  } catch (...) {
    join_error = std::current_exception();
  }
  if (group.first_error()) {
    core->cancel_requested = false;  // the group's own cancellation of the body, if undelivered
    std::rethrow_exception(group.first_error());
  }
  if (body_error) std::rethrow_exception(body_error);
  if (join_error) std::rethrow_exception(join_error);
}

namespace detail {
template <class T>
using GatherValue = std::conditional_t<std::is_void_v<T>, std::monostate, T>;
}  // namespace detail

/// Python's asyncio.gather(*aws): runs every task at once, concurrently, and gives their
/// values in order (std::monostate for a Task<void>). When one fails the others are cancelled
/// and awaited, then the failure is rethrown. Must be awaited from a task.
template <class... Ts>
Task<std::tuple<detail::GatherValue<Ts>...>> gather(Task<Ts>... tasks) {
  detail::TaskCore* core = co_await detail::CurrentCore{};
  if (core == nullptr) detail::no_current_task("gather");
  TaskGroup group(*core->reactor);
  std::tuple<TaskHandle<Ts>...> handles{group.create_task(std::move(tasks))...};
  co_await group.join();
  co_return std::apply(
      [](auto&... h) {
        return std::tuple<detail::GatherValue<Ts>...>{[&h] {
          if constexpr (std::is_void_v<decltype(h.result())>) {
            h.result();
            return std::monostate{};
          } else {
            return h.result();
          }
        }()...};
      },
      handles);
}

/// gather over a vector of tasks of one type (void tasks: Task<> gather(std::vector<Task<>>)).
template <class T>
Task<std::vector<detail::GatherValue<T>>> gather(std::vector<Task<T>> tasks) {
  detail::TaskCore* core = co_await detail::CurrentCore{};
  if (core == nullptr) detail::no_current_task("gather");
  TaskGroup group(*core->reactor);
  std::vector<TaskHandle<T>> handles;
  handles.reserve(tasks.size());
  for (Task<T>& t : tasks) handles.push_back(group.create_task(std::move(t)));
  co_await group.join();
  std::vector<detail::GatherValue<T>> values;
  values.reserve(handles.size());
  for (TaskHandle<T>& h : handles) {
    if constexpr (std::is_void_v<T>) {
      h.result();
      values.emplace_back();
    } else {
      values.push_back(h.result());
    }
  }
  co_return values;
}

namespace detail {
/// run's ending: cancels (then frees) every task of `reactor` still running.
void cancel_remaining(Reactor& reactor) noexcept;
/// Runs the reactor until `core` ends (it stops the reactor when it does).
void run_until_done(Reactor& reactor, TaskCore& core, bool install_signal_handlers);
}  // namespace detail

/// Python's asyncio.run(main): runs `main` as a task on `reactor`, runs the reactor until it
/// ends, then cancels every other task still running on it (waiting for none: a cancelled task
/// that parks again has its frame freed), and returns main's value or rethrows its exception.
/// When the reactor stops first (stop(), or SIGINT/SIGTERM with install_signal_handlers), main
/// is cancelled and CancelledError is thrown. Throws std::logic_error when the reactor runs.
template <class T>
T run(Reactor& reactor, Task<T> main, bool install_signal_handlers = true) {
  TaskHandle<T> handle = create_task(reactor, std::move(main));
  detail::run_until_done(reactor, *handle.state(), install_signal_handlers);
  detail::cancel_remaining(reactor);
  return handle.result();
}

}  // namespace socketserver::asyncio
