// A Reactor is the native side of one JavaScript thread's event loop: an
// inbox that any thread may post to, and one thread-safe function (TSFN)
// that wakes the loop to drain it. Tests: test/reactor-*.ts, test/natural-exit.ts.
//
// Threads:
//   - Post(), SignalWork(), IsAlive(): any thread.
//   - Drain(), Ref(), Unref(), Close(): the owning JS thread only.
// Locking: mu_ guards every member below it. mu_ is held while the TSFN is
// called, and Close() marks the reactor dead under mu_ before the TSFN is
// released, so no thread can call a TSFN that Node has already deleted
// (an environment's cleanup deletes its TSFNs whatever their thread count).
// Lock order: Registry::mu_ -> Pool::mu_ -> Reactor::mu_ -> Node's TSFN lock.
#pragma once

#include <node_api.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>

#include "frame.h"

namespace rt {

enum class MessageKind : uint32_t {
  // A task of a pool this reactor owns has settled. id: the task id;
  // ref: the pool id; status: 0 fulfilled, 1 rejected.
  kTaskResult = 1,
  // A thread calls a function here. id: the reply slot's id (0 for
  // callFromThread: no reply); ref: an interned function id (status 0) or
  // a reactor callable's handle (status 1).
  kCall = 2,
  // A pool this reactor owns has queued work that no waiting thread took
  // (a thread parked in a blocking call handed tasks back). ref: the pool.
  kPoolDemand = 3,
  // To a pool thread: abort the task it holds. id: the task; ref: the pool.
  kCancelTask = 4,
};

// One item in a reactor's inbox. Posted by any thread, moved into the
// owner's drain batch, freed on the owner thread after delivery. One inbox
// per reactor, so what one thread posts arrives in the order it was posted.
// `sender` is the posting thread's reactor id for calls and task results
// (0 for signals from the pool itself): the serving side keeps one FIFO
// per sender when it must hold a call back (src/loop.ts).
struct Message {
  MessageKind kind;
  uint32_t status;
  uint32_t ref;
  double id;
  Frame frame;
  uint32_t sender = 0;
};

class Reactor {
 public:
  explicit Reactor(uint32_t id) : id_(id) {}
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;

  uint32_t id() const { return id_; }

  // Owning thread, once, right after the TSFN is created.
  void Open(napi_threadsafe_function tsfn) { tsfn_ = tsfn; }

  // Any thread. Queues `m` and wakes the loop unless a wake is already
  // pending (wake-ups coalesce). Returns false if the reactor is gone; `m`
  // is then dropped here.
  bool Post(Message&& m);

  // Any thread. Tells a pool thread that its pool has work (or is stopping).
  // Coalesces with other wakes.
  bool SignalWork();

  // Owning thread. Moves every queued message into `out` and reports
  // whether work was signalled since the last drain. Clears the pending
  // wake so the next Post() wakes the loop again.
  void Drain(std::deque<Message>* out, bool* work_signalled);

  // Owning thread. Whether the loop is kept alive by this reactor.
  void Ref(napi_env env);
  void Unref(napi_env env);

  // Owning thread, at environment teardown. After this, Post() fails.
  void Close();
  // Owning thread, from the TSFN's finalizer: Node has released it.
  void MarkClosed();

  bool IsAlive();

  // Owning thread. Spins up to `spin_ns` for a message to arrive; true if
  // one is waiting (the caller then drains it at once, without a wake-up).
  bool AwaitMessage(uint64_t spin_ns);

 private:
  bool WakeLocked();  // requires mu_

  const uint32_t id_;
  std::mutex mu_;
  std::deque<Message> inbox_;
  std::atomic<uint32_t> queued_{0};  // inbox_.size(), for AwaitMessage's lock-free polling
  bool wake_pending_ = false;
  bool work_signal_ = false;
  bool alive_ = true;
  napi_threadsafe_function tsfn_ = nullptr;
};

}  // namespace rt
