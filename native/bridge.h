// The reactor bridge: a thread calls a function on a reactor (another JS
// thread's loop) and either waits for the answer (blockingCallFromThread)
// or not (callFromThread). The request travels through the target's inbox
// (reactor.h); the answer comes back in a ReplySlot that the caller parks
// on. Tests: test/blocking-call-from-thread.ts, test/bridge-*.ts.
//
// Threads:
//   - ReplySlot::Wait(): the calling thread only (it parks there).
//   - ReplySlot::Resolve(): any thread (the reactor replying, or anyone
//     waking the caller with an error: shutdown, pool stop, teardown).
//   - ReplySlot::TakeReply(): the calling thread, once Wait() returned.
//   - SpinBudget: the calling thread only (thread_local, bridge_bindings.cc).
// Locking: ReplySlot::mu_ guards reply_ and pairs with cv_; state_ and
// resolved_ns_ are atomic so a spinning caller can poll them without the
// lock; the ids never change, but for target_ (atomic, set by the
// Registry under its mu_ when a pool thread takes a blockingCallInThread
// task). ReplySlot::mu_ is a leaf: Wait() calls
// alive() with it released (lock order in reactor.h).
// Ownership: a slot is owned by shared_ptr: by the caller while it waits,
// by the Registry while it is listed (OpenCall to CloseCall), and by
// whoever resolves it for that call, so a late reply to an abandoned call
// touches live memory. The reply Frame belongs to the slot once Resolve()
// accepted it, then to the caller (TakeReply); a Resolve() that comes too
// late frees its frame on the resolving thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>

#include "frame.h"

namespace rt {

// How a blocking call ended. Values are shared with src/bridge/caller.ts.
enum class CallStatus : uint32_t {
  kPending = 0,
  kFulfilled = 1,
  kRejected = 2,
  kReactorGone = 3,   // the target's thread exited, or the process is exiting
  kPoolStopped = 4,   // the caller's pool was stopped
  kTimedOut = 5,      // the per-call deadline passed
  kTerminating = 6,   // the caller's own thread is being terminated
  kWouldDeadlock = 7, // the target waits (transitively) on the caller
  kStarved = 8,       // every thread of the caller's pool waits on its owner
  kThreadsLost = 9,   // blockingCallInThread: every thread of the pool that
                      // could run the task is gone, and none can start while
                      // its owner waits
  kAttention = 10,    // not an end (the call stays pending): the caller's pool
                      // threads sent it something it must read before it
                      // waits again (ReplySlot::Attend)
};

class ReplySlot {
 public:
  ReplySlot(uint64_t id, uint32_t caller, uint32_t target, uint32_t pool,
            uint64_t opened_ns = 0)
      : id_(id), caller_(caller), pool_(pool), opened_ns_(opened_ns), target_(target) {}

  uint64_t id() const { return id_; }
  uint32_t caller() const { return caller_; }
  // The reactor that will answer. A blockingCallInThread slot opens with
  // none (0): the pool thread that takes its task becomes its target
  // (Registry::Retarget), so that the thread's death wakes the caller and
  // the wait graph sees who waits on whom.
  uint32_t target() const { return target_.load(std::memory_order_acquire); }
  void Retarget(uint32_t target) { target_.store(target, std::memory_order_release); }
  uint32_t pool() const { return pool_; }  // caller's pool, 0 if none
  // A blockingCallInThread caller that is a pool thread: its own pool,
  // whose stop() ends the wait as it ends a bridgeCall's (0: none). Not
  // pool(): that counts the pool's threads parked on their owner, which a
  // blockingCallInThread's caller is not. Written and read under the
  // Registry's mu_ (Registry::StopsWithPool, WakeCallsOfStoppedPool).
  uint32_t stops_with_pool() const { return stops_with_pool_.load(std::memory_order_relaxed); }
  void set_stops_with_pool(uint32_t pool) { stops_with_pool_.store(pool, std::memory_order_relaxed); }
  uint64_t opened_ns() const { return opened_ns_; }  // when the call began

  // Any thread. Sets the outcome once; later calls return false and drop
  // `frame` (the caller already left).
  bool Resolve(CallStatus status, Frame&& frame);

  // Caller thread. Spins up to `spin_ns`, then parks in slices of
  // `slice_ns`, calling `alive()` after each slice (false: the caller's
  // thread is terminating). `deadline_ns` 0 = none. Returns the outcome;
  // the reply is in TakeReply() when fulfilled or rejected. With `attend`,
  // it also returns kAttention, the call still pending, once Attend() ran.
  CallStatus Wait(uint64_t spin_ns, uint64_t deadline_ns, uint64_t slice_ns,
                  const std::function<bool()>& alive, bool attend = false);
  // Any thread. A blockingCallInThread's pool thread posted to the caller's
  // port (it asks for a task's moved buffers, or sends them back): the
  // caller, parked, reads no port, so its Wait(attend) returns kAttention
  // for it to read them and wait again. Kept until a Wait(attend) sees it.
  void Attend();
  Frame TakeReply();
  // Any thread. The outcome so far (kPending while there is none).
  CallStatus State() const { return static_cast<CallStatus>(state_.load(std::memory_order_acquire)); }
  // When Resolve() ran (ns), so the caller can learn how fast the reactor
  // answered, apart from what its own wake-up cost.
  uint64_t resolved_ns() const { return resolved_ns_.load(std::memory_order_acquire); }

 private:
  const uint64_t id_;
  const uint32_t caller_, pool_;
  const uint64_t opened_ns_;
  std::atomic<uint32_t> target_;  // written under the Registry's mu_ (Retarget)
  std::atomic<uint32_t> stops_with_pool_{0};
  std::atomic<uint32_t> state_{static_cast<uint32_t>(CallStatus::kPending)};
  std::atomic<uint64_t> resolved_ns_{0};
  std::atomic<bool> attention_{false};  // set under mu_ (Attend), so a parked Wait() cannot miss it
  std::mutex mu_;
  std::condition_variable cv_;
  Frame reply_;
};

// Per calling thread: how long to spin before parking. Spinning wins when
// the reactor answers within the spin and a core is free for it; it loses
// when the spinner slows the core the reactor runs on (two vCPUs sharing a
// physical core), or when the answer comes later than the spin. Which is
// true depends on the machine and the load, so both are measured: the
// round trip of spinning calls and of parking ones, each a moving average.
// A machine behaves differently in each regime (an idle vCPU halts; one
// call's mode says little), so modes are compared over runs of calls: the
// better one for 2,048 calls (8,192 when it is twice as fast), then the
// other for 8; a run's first calls (32, or half a short run) are not
// counted, and a call counts at most 4x the mean (a preempted call is not
// a new regime). When the counted calls show the run's mode is no longer the
// better one (the calls changed: back-to-back, then isolated), a run in
// the other mode starts at once. Parking wins unless spinning is clearly faster. Caller thread only
// (thread_local). Test: spin_budget (native/test/core_test.cc).
class SpinBudget {
 public:
  // The spin for the next call (0: park at once).
  uint64_t Next();
  // The round trip of the call that Next() was asked for, in ns.
  void Record(uint64_t round_trip_ns);

 private:
  bool BestIsSpin() const;

  double spin_rtt_ns_ = 0;  // 0 = not measured yet
  double park_rtt_ns_ = 0;
  bool spin_ = false;       // the mode of the current run
  bool exploring_ = false;  // the current run tries the other mode
  uint32_t run_ = 64;       // the current run's length
  uint32_t left_ = 64;      // calls left in it
};

// The spin that REACTOR_THREADS_BRIDGE_SPIN_NS fixes for every blocking
// wait of this process (for measuring, and for machines where the
// measured choice is wrong), in ns; -1 when unset. Read once; any thread.
int64_t FixedSpinNs();

class Reactor;

// Backpressure (reactor.h): before a thread posts a call to `target`'s
// full inbox, it waits until the target drains it; unless the target
// waits itself (Registry::BeginRoomWait), the process exits, or
// `sender_alive()` (asked once a millisecond) says the sender's own thread
// is being terminated. The sender's thread (bridgePost).
void AwaitRoom(uint32_t sender, Reactor& target,
               const std::function<bool()>& sender_alive);

struct Message;

// callFromThread's post: `call` from reactor `sender` to reactor
// `target_id`, first waiting for room (AwaitRoom) when `may_wait` and
// that inbox is full for `sender`. Queued, the inbox owns the message;
// when the target is gone (false), `call` still holds it, and the
// caller's object frees it on this thread. The sender's thread
// (bridgePost; poolReleasePost, for a call its pool held back).
bool PostCall(uint32_t sender, uint32_t target_id, bool may_wait, Message&& call,
              const std::function<bool()>& sender_alive);

}  // namespace rt
