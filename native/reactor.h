// A Reactor is the native side of one JavaScript thread's event loop: an
// inbox that any thread may post to, and one thread-safe function (TSFN)
// that wakes the loop to drain it. Owned by shared_ptr: by its
// environment's EnvState and by the Registry while it lives, by the pools
// it owns or serves, by the TSFN until Node finalizes it (env_state.h
// says which pointer keeps the TSFN's context alive), and by any thread
// for the length of a call it looked it up for.
// Tests: test/reactor-*.ts, test/natural-exit.ts.
//
// Threads:
//   - Post(), SignalWork(), IsAlive(), id(), Full(sender), BusySinceNs():
//     any thread.
//   - SetPolling(), SetUnwatched(): the owning JS thread (its LoopWatch,
//     CallJs).
//   - SetHeld(), EndBatch(): the owning JS thread.
//   - WaitForRoom(): any thread but the owning one (a sender).
//   - Open(), Drain(), AwaitMessage(), Ref(), Unref(), Close(),
//     MarkClosed(): the owning JS thread only.
// Locking: mu_ guards every member below it; queued_ and queued_bytes_
// are atomic copies of the inbox's size for lock-free polling (written
// under mu_); id_ never changes; tsfn_ is
// written once, by Open(), before the reactor is shared (the Registry's
// mutex publishes it). A wake-up is claimed under mu_ (ClaimWakeLocked:
// the reactor alive, no wake pending, counted in waking_) and the TSFN is
// called after mu_ is released (Wake()), so that the woken thread, which
// drains under mu_ at once, does not block on it. Close() marks the
// reactor dead under mu_, then waits for waking_ to reach 0, before the
// TSFN is released, so no thread can call a TSFN that Node has already
// deleted (an environment's cleanup deletes its TSFNs whatever their
// thread count).
//
// Backpressure (DESIGN.md section 4: unbounded native queues, own
// backpressure). Nothing bounds the inbox itself: a task result, a
// blocking call or a pool signal is always queued, since each is bounded
// by what the owner asked for. But a thread that calls callFromThread in a
// loop can post faster than the reactor serves; its calls would pile up
// without limit (memory), and every batch would take longer to serve than
// the last, so the reactor's own work (its pool's tasks, its timers) would
// wait ever longer. So bridgePost waits, before it posts, while the inbox
// is past its high-water mark (Full()), until the reactor drains it
// (WaitForRoom()). The wait is skipped when the reactor cannot drain for
// now because it waits itself (Registry::BeginRoomWait), so no chain of
// waits closes a cycle.
//
// Lock order, for the whole native core (stated here only; the other
// headers refer to it). The mutexes: Registry::mu_, Pool::mu_,
// ReplySlot::mu_, Reactor::mu_, and Node's own mutex inside each TSFN
// (taken by napi_call_threadsafe_function and
// napi_release_threadsafe_function). Every one is a leaf, never held while
// another is taken (Post() and SignalWork() call the TSFN after releasing
// Reactor::mu_, see above; they called it under mu_ until 0.1.1):
//   - Registry::mu_: the Registry resolves ReplySlots after releasing it,
//     and never calls into a Pool or Reactor under it.
//   - Pool::mu_: a Pool collects the reactors to wake or post to under
//     mu_, then calls SignalWork() / Post() after releasing it.
//   - ReplySlot::mu_: Wait() calls its alive() check with mu_ released,
//     as Reactor::WaitForRoom() calls its keep_waiting().
//   - Reactor::mu_ is also held around napi_ref/unref_threadsafe_function
//     (which take no lock); Close() releases the TSFN after releasing it.
//   - Destructors that run under a lock (a Pool or Reactor dropped from a
//     map, Messages cleared from an inbox, Tasks from a queue) take none.
//   - Node takes none of ours under its TSFN mutex: CallJs and the TSFN's
//     finalizer run on the loop thread with it released.
// (Each JS thread also holds its isolate's v8::Locker while it runs JS,
// so all of these nest inside that one; no thread ever waits for another
// isolate's Locker.) Keep it so: release your own mutex before calling
// into another object. Checked by reading every lock site, and by
// recording, with an LD_PRELOAD pthread_mutex_lock wrapper, every lock
// taken while another was held during a full ava run: only
// Reactor::mu_ -> the TSFN mutex appeared, which is gone since.
#pragma once

#include <node_api.h>

#include <atomic>
#include <cstdint>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <unordered_map>

#include "clock.h"
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
// owner's drain batch, freed on the owner thread after delivery (or by
// whoever drops it: a refused Post() on the posting thread, Close() and a
// CallJs that cannot run JS on the owner thread). One inbox per reactor,
// so what one thread posts arrives in the order it was posted.
// `sender` is the posting thread's reactor id for calls and task results
// (0 for signals from the pool itself): the serving side keeps one FIFO
// per sender when it must hold a call back (src/reactor/core.ts).
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

  // Owning JS thread, once, right after the TSFN is created and before
  // the reactor is shared. The TSFN's context is this Reactor.
  void Open(napi_threadsafe_function tsfn) { tsfn_ = tsfn; }

  // Any thread. Queues `m` (the inbox owns it) and wakes the loop unless a
  // wake is already pending (wake-ups coalesce) or the owner spins for it
  // in AwaitMessage(), which then reports it. Returns false if the
  // reactor is gone; `m` is then dropped here, freed on the calling
  // thread. With `wake` false it only queues: the caller wakes the loop
  // another way, whose handler drains the inbox (a pool thread's result
  // whose buffers follow by port: their message wakes the owner).
  bool Post(Message&& m, bool wake = true);

  // Any thread. Tells a pool thread that its pool has work (or is stopping).
  // Coalesces with other wakes.
  bool SignalWork();

  // Owning JS thread. Moves every queued message into `out` (the caller
  // owns them now) and reports whether work was signalled since the last
  // drain. Clears the pending wake so the next Post() wakes the loop
  // again.
  void Drain(std::deque<Message>* out, bool* work_signalled);

  // Owning JS thread. Whether the loop is kept alive by this reactor.
  void Ref(napi_env env);
  void Unref(napi_env env);

  // Owning JS thread, at environment teardown (CleanupEnv). Frees what is
  // queued and releases the TSFN. After this, Post() fails.
  void Close();
  // Owning JS thread, from the TSFN's finalizer: Node has released it.
  void MarkClosed();

  // Any thread. False once closed (or once Node refused a wake-up).
  bool IsAlive();

  // Owning JS thread, lock-free. Whether messages wait in the inbox: a
  // pool thread that runs batch after batch of tasks without returning to
  // its loop steps back to it to serve them (src/thread/worker.ts pull()).
  // Work signals are not messages.
  bool HasMail() const { return queued_.load(std::memory_order_acquire) != 0; }

  // Backpressure (see the top of this file): the inbox is past its
  // high-water mark while it holds this many messages, or this many bytes
  // (a single bigger message still gets in).
  static constexpr uint32_t kHighWaterMessages = 16 * 1024;
  static constexpr uint64_t kHighWaterBytes = 64 * 1024 * 1024;

  // Any thread. Whether the inbox is past its high-water mark for what
  // `sender` posts: the messages queued, plus those of `sender` that the
  // owner holds back in JS (SetHeld()) or has drained and not yet handled
  // (EndBatch()), as if they were still in it. Only the sender's own
  // are counted that way, so a sender whose call loads for long never
  // blocks the others. Lock-free unless the owner holds or handles such
  // messages.
  bool Full(uint32_t sender);

  // Owning JS thread. How many drained messages (and bytes) of `sender` it
  // still holds back, unserved, behind a call of its whose function loads
  // (src/reactor/core.ts). Wakes the waiting senders when that drops.
  // While it is not 0, Drain() adds what it drains from `sender` (it will
  // join them), until the owner reports again.
  void SetHeld(uint32_t sender, uint32_t messages, uint64_t bytes);

  // Owning JS thread: it handled what it drained, having reported what it
  // holds back (SetHeld()). Until then, the calls it drained count toward
  // their senders' marks as if still in the inbox: handling a batch of
  // 16,384 takes milliseconds, and a sender whose calls the owner will
  // hold back behind one of theirs that loads (known only once that call
  // is handled) could meanwhile post a second inbox-full. Wakes the
  // senders waiting for room.
  void EndBatch();

  // A sender's thread (never the owning one: it would wait for itself).
  // Parks until the inbox is below its high-water mark (Drain() wakes it),
  // the reactor is closed, or `keep_waiting()`, asked after each slice of
  // `slice_ns` with mu_ released, says to stop.
  void WaitForRoom(uint32_t sender, uint64_t slice_ns,
                   const std::function<bool()>& keep_waiting);

  // Owning JS thread: its loop blocks in its poll for events (true), or
  // has left it to run callbacks (false: the time it left is kept, once).
  // Only pool threads' loops are watched (loop_watch.h).
  // (Stored only when it changes: the loop sets it twice an iteration,
  // and other threads read the line it sits on.)
  void SetPolling(bool polling) {
    uint64_t busy_since = busy_since_ns_.load(std::memory_order_relaxed);
    if (polling) {
      if (busy_since != 0) busy_since_ns_.store(0, std::memory_order_relaxed);
    } else if (busy_since == 0) {
      busy_since_ns_.store(MonotonicNs(), std::memory_order_relaxed);
    }
  }
  // Any thread, as a hint (Pool's choice of a waiter to wake; nothing is
  // ordered by it): 0 while the loop polls, else since when (MonotonicNs)
  // it has run callbacks; 1 (long ago) until a LoopWatch starts.
  uint64_t BusySinceNs() const { return busy_since_ns_.load(std::memory_order_relaxed); }
  // Owning JS thread, as its watch closes at teardown: long busy again
  // (BusySinceNs 1), as before the watch began.
  void SetUnwatched() { busy_since_ns_.store(1, std::memory_order_relaxed); }

  // Owning JS thread. Spins up to `spin_ns` for a message to arrive; true
  // if one is waiting (the caller then drains it at once). A message
  // posted meanwhile wakes nobody: the spin is the wake-up.
  bool AwaitMessage(uint64_t spin_ns);

  // Owning JS thread, as it answers a blocking call: the CPU it runs on,
  // and when (for the caller's next call: LeaveCpuOfAnswerer in
  // bridge_bindings.cc).
  void NoteAnswered() {
    answered_cpu_.store(CurrentCpu(), std::memory_order_relaxed);
    answered_ns_.store(MonotonicNs(), std::memory_order_relaxed);
  }
  // Any thread, as a hint: the CPU this reactor answered its last
  // blocking call on, if it did so within `within_ns` before `now_ns`;
  // else -1. (The two fields are read apart: a torn pair costs at most
  // one wrong guess.)
  int AnsweredOnRecently(uint64_t now_ns, uint64_t within_ns) const {
    uint64_t at = answered_ns_.load(std::memory_order_relaxed);
    if (at == 0 || now_ns < at || now_ns - at > within_ns) return -1;
    return answered_cpu_.load(std::memory_order_relaxed);
  }

 private:
  // Requires mu_: claims the one wake-up the inbox needs (false: one is
  // pending already), counting it in waking_; the caller then calls Wake()
  // with mu_ released.
  bool ClaimWakeLocked();
  // Any thread, mu_ released, after ClaimWakeLocked(): calls the TSFN.
  bool Wake();
  bool FullLocked(uint32_t sender);  // requires mu_
  void SumHeldLocked();  // requires mu_: held_ and held_bytes_ from the maps

  const uint32_t id_;
  // Written under mu_, read without it (AwaitMessage's polling, Full()):
  // inbox_.size(), and the bytes its messages hold.
  std::atomic<uint32_t> queued_{0};
  std::atomic<uint64_t> queued_bytes_{0};
  // Written under mu_ (SetHeld, Drain, EndBatch), read lock-free by
  // Full(): the totals of held_by_sender_ and handling_by_sender_, so that
  // Full() takes no lock while nothing is held or being handled.
  std::atomic<uint32_t> held_{0};
  std::atomic<uint64_t> held_bytes_{0};

  // Wakes claimed and not yet returned from the TSFN call (Wake(), which
  // runs with mu_ released): Close() waits for 0 before releasing the TSFN.
  std::atomic<uint32_t> waking_{0};

  // SetPolling()'s state: written by the owning JS thread, read anywhere.
  // On a cache line of its own, apart from the inbox's lock and counts
  // that posting threads write.
  alignas(64) std::atomic<uint64_t> busy_since_ns_{1};
  // NoteAnswered()'s: written by the owning JS thread, read anywhere.
  std::atomic<int> answered_cpu_{-1};
  std::atomic<uint64_t> answered_ns_{0};

  alignas(64) std::mutex mu_;
  // Guarded by mu_:
  std::deque<Message> inbox_;
  bool wake_pending_ = false;  // a TSFN call is queued, not yet drained
  // The owner spins in AwaitMessage(): Post() queues without waking, and
  // AwaitMessage() checks the inbox under mu_ as it stops.
  bool awaiting_ = false;
  bool work_signal_ = false;   // SignalWork() since the last Drain()
  bool alive_ = true;          // false once closed, or refused by Node
  struct Held {
    uint32_t messages = 0;
    uint64_t bytes = 0;
  };
  std::unordered_map<uint32_t, Held> held_by_sender_;  // SetHeld, by sender
  // Calls drained and not yet handled (Drain() to EndBatch()), by sender;
  // a held sender's are counted in held_by_sender_ instead.
  std::unordered_map<uint32_t, Held> handling_by_sender_;
  uint32_t room_waiters_ = 0;  // senders parked in WaitForRoom()
  std::condition_variable room_;  // with mu_: a Drain() or Close()
  napi_threadsafe_function tsfn_ = nullptr;  // set once by Open()
  // Owning JS thread only (Drain() and EndBatch() run there): whether
  // handling_by_sender_ may hold counts, so that EndBatch() after a batch
  // of results alone takes no lock.
  bool handling_any_ = false;
};

}  // namespace rt
