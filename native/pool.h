// The native side of one ThreadPool: its task queue, its threads, the
// functions its tasks name, and its counters. Process-wide (pool threads in
// other isolates reach it through the Registry), owned by shared_ptr: by
// the Registry until poolDestroy (or its owner's environment teardown),
// and by any thread for the length of a call it looked it up for. A Pool
// holds its owner's reactor and its attached threads' reactors; a Reactor
// never holds a Pool, so there is no cycle.
// Tests: test/threadpool-*.ts, native/test/core_test.cc.
//
// Threads. "Owner thread": the JS thread whose reactor created the pool
// (owner_; src/pool/threadpool.ts). "Pool thread": one of the pool's Workers,
// calling about itself (its thread id; src/thread/worker.ts). Each declaration
// below says which one calls it, or "any thread". Every method locks mu_,
// so the names are the JS side's contract, which the bookkeeping relies
// on (the owner orders AddThread/RemoveThread; a thread reports only its
// own tasks), not what keeps the data race-free.
// Locking: mu_ guards every member below it; id_ and owner_ never change;
// queued_approx_ is an atomic that spinners read without the lock.
// Pool::mu_ is a leaf: the reactors to wake or post to are collected under
// it and signalled only after it is released, so no other lock is ever
// taken while it is held (lock order: reactor.h).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "frame.h"
#include "histogram.h"
#include "reactor.h"
#include "spinning_mutex.h"

namespace rt {

// A task's affinity key, or null: behind a pointer, since most tasks have
// none, and every byte of a Task is paid once per queued task.
using AffinityKey = std::unique_ptr<const std::string>;

// A task: the call a pool thread runs. Moved, never shared: exactly one
// owner at a time, which frees it (its bytes and its copies of the moved
// ArrayBuffers) if it never runs:
//   - The owner thread's poolPush binding builds it. Push() and
//     PushPinned() take it, except when they return -2 (queue full): the
//     binding still owns it then and frees it on return (the sender's
//     buffers were copied, not detached, so they stay whole).
//   - Queued (queue_, or a thread's pinned deque), the Pool owns it, under
//     mu_. ClearQueue(), Cancel() and Stop(false) free it there, on the
//     owner thread; a Pool destroyed with tasks queued frees them with
//     itself, on whichever thread drops the last reference.
//   - Take() moves it into the pool thread's batch: that thread owns it,
//     and frees it once poolTake has written it to JS (its moved blocks
//     become that thread's ArrayBuffers). The Pool keeps only a Held
//     record (with a copy of the bytes when it can re-run the task) until
//     Complete() or RemoveThread().
//   - Requeue(): a pool thread hands back the tasks it took but has not
//     started (rebuilt by poolRequeue from what its JS still holds); the
//     Pool owns them again, back at the queue's head, by push order (or
//     at the front of the thread's pinned queue); except one whose caller
//     cancelled it meanwhile: Requeue() frees that on that thread.
//   - RemoveThread(): the thread is gone, and with it every Task it took.
//     From the Held records the Pool rebuilds (bytes only) each task that
//     never started and can re-run, back at the queue's head; the
//     others died with the thread, and their ids go back to the owner to
//     settle.
//     The tasks pinned to it (affinity) move to the shared queue.

struct Task {
  double id;
  uint32_t fn_id;
  // Threads that died while this task waited for its function to load
  // (it never ran there): it is re-run once, then counts as died.
  uint8_t lost_while_loading;
  // Its large moved buffers travel beside it, by a MessagePort from the
  // owner to the thread that takes it (src/pool/moved-buffers.ts), not in
  // frame.transfers: like a task with transfers, it cannot be re-run.
  bool moves_by_port;
  // Set by Take() on the taken copy: its buffers were sent ahead to the
  // thread that took it (it was chosen for them: Push()'s `target`), so
  // that thread waits for them rather than asking (src/thread/moved-buffers.ts).
  bool sent_to_taker = false;
  // Back in the queue after a thread took it (ReturnToQueueLocked): such
  // tasks lead the queue, ahead of every task no thread took yet.
  bool returned = false;
  Frame frame;
  uint64_t enqueued_ns;
  // The affinity key whose binding this task holds (Pool::affinity_),
  // null for none. Set by the pool, under its lock.
  AffinityKey affinity = {};
};
// Every byte here is paid once per queued task (bench: queue).
static_assert(sizeof(Task) <= 88, "a queued task stays within 88 bytes");


struct PoolCounts {
  uint32_t threads;   // attached or starting
  uint32_t busy;      // holding at least one task
  uint32_t idle;      // attached, holding nothing
  uint32_t queued;
  double submitted;
  double completed;
  double failed;
  uint32_t functions;      // distinct function descriptors defined
  uint32_t affinity_keys;  // affinity keys in use: bound to a thread, or waiting for one
};

// Queue wait (enqueue -> taken) and run time (taken -> completed).
struct PoolTimes {
  Histogram queue_wait;
  Histogram run;
};

// kLeft: none taken, queued work left to a sibling about to take
// (FairShareLocked); the thread looks again soon, in case that sibling
// turns busy before it takes.
enum class TakeResult { kTasks, kNone, kStopping, kRetire, kLeft };

// The status of a kTaskResult message for a task that ends unrun: its
// caller cancelled it and its thread handed it back (0 and 1 are a task's
// own outcome: fulfilled, rejected). src/base/wire.ts TaskStatus.
constexpr uint32_t kTaskDropped = 2;
// The status of a blockingCallInThread task's result: its outcome went to
// its caller's reply slot (bridge.h), and this message only ends the task
// for the owner's table; 3 when it was fulfilled, 4 rejected.
constexpr uint32_t kTaskAnsweredFulfilled = 3;
constexpr uint32_t kTaskAnsweredRejected = 4;
// Whether a task status counts as completed (else as failed).
constexpr bool CountsAsCompleted(uint32_t status) {
  return status == 0 || status == kTaskAnsweredFulfilled;
}

// What can still run a task, as a blockingCallInThread caller parked on
// it must know: its owner is parked, so its pool starts no thread and
// sees no thread's exit until the wait ends (Pool::Outlook).
enum class TaskOutlook {
  kServed,   // held by a live thread, or no longer in the pool (its
             // result is on its way)
  kQueued,   // queued, with a live or starting thread in the pool
  kHolderGone,   // held by a thread whose environment is gone
  kNoThread,     // queued, and every thread of the pool is gone
};

class Pool {
 public:
  static constexpr uint64_t kQuickTaskNs = 100 * 1000;
  // How long a waiting thread's loop may run callbacks, or a thread back
  // on the waiting list take to reach its loop's poll, and still count as
  // about to run a wake-up (WakesSoonLocked): a continuation or our own
  // code's way back takes microseconds, a timer that computes longer.
  static constexpr uint64_t kBusyLoopNs = 1000 * 1000;
  // The rule of WakesSoonLocked (below), pure: a waiter whose loop has
  // been out of its poll since `busy_since_ns` (Reactor::BusySinceNs: 0
  // while it polls) and that went back to waiting at `waiting_since_ns`
  // runs a wake-up soon, at `now_ns`. (Never subtracts: a busy_since
  // stored after now_ns was read counts as just busy.)
  static bool WakesSoon(uint64_t busy_since_ns, uint64_t waiting_since_ns, uint64_t now_ns) {
    return busy_since_ns == 0 ||
           now_ns < (busy_since_ns > waiting_since_ns ? busy_since_ns : waiting_since_ns) + kBusyLoopNs;
  }

  // `quick_task_ns`: below this mean run time a function's tasks are
  // taken in batches (FnTiming); tests pass their own.
  Pool(uint32_t id, std::shared_ptr<Reactor> owner, uint32_t min, uint32_t max,
       uint64_t quick_task_ns = kQuickTaskNs)
      : id_(id), owner_(std::move(owner)), quick_task_ns_(quick_task_ns), min_(min), max_(max) {}

  uint32_t id() const { return id_; }

  // Owner thread. Queues a task and wakes one waiting thread if any, but
  // none while a thread spins for work (the spinner takes it, and wakes a
  // waiter for what it leaves).
  // Returns -1 when a thread was woken for it, -2 when the queue already
  // holds `max_queue` tasks (the task is refused, not queued), else the
  // demand no thread will meet soon: queued tasks minus threads starting,
  // spinning or waiting for work (the owner starts a thread when this is
  // positive, below max).
  // With `target` (a task whose buffers move by port), a thread that
  // holds no task is chosen for it, if any: when the queue held nothing
  // else, one about to take without a wake-up (spinning for work, or on
  // its way back to Take(): it takes the task first), else a waiting one,
  // taken off the waiting list but NOT signalled. *target gets its id
  // (0: none), and the caller sends the buffers ahead, then must call
  // WakeThread(*target), which wakes a waiter chosen so, after its
  // buffers are in its port. With none idle, a waiter is woken as usual.
  int64_t Push(Task&& task, uint32_t max_queue, uint32_t* target = nullptr);
  // Owner thread. Queues `tasks` in order, as many as the queue has room
  // for under `max_queue` (*accepted; the rest stay in `tasks`, refused,
  // and are freed by the caller), under one lock, and wakes at most one
  // waiting thread (one that holds nothing first), none if one is
  // spinning for work: each thread that takes and leaves work queued
  // wakes the next (Take()), so the wake-ups are paid by the pool
  // threads, not the owner. Returns the demand that the waiting, spinning
  // and starting threads leave when it is positive (also when a thread
  // was woken: the owner starts threads for it), else -1 when a thread
  // was woken, else 0.
  int64_t PushBatch(std::vector<Task>& tasks, uint32_t max_queue, uint32_t* accepted);
  // Owner thread. Queues a task for the thread that `key` is bound to
  // (binding it first to the attached thread with the least work), so
  // that related calls share a thread while it lives; returns -1, or -2
  // when the queue is full. A thread that retires (or died, its exit not
  // handled yet) keeps its key's new calls too: they go back to the
  // queue with the ones before them when it is removed, in order. With
  // no attached thread to bind the key to (a pool not started or still
  // starting its threads, or every thread retiring), the task waits in
  // the shared queue, with its key (and the return is Push's demand);
  // while a call of the key waits there unbound, the key's later calls
  // wait behind it on its Binding: the first thread that takes one of
  // the key's calls binds the key and gathers the rest (AdoptKeyLocked),
  // so that they run on one thread in submission order
  // (changed after 0.1.1: a cold pool's keyed calls went to any thread,
  // two at once, and out of order). A binding lasts while a task that
  // carries the key is queued or held (counted in affinity_); the next
  // call after that binds the key anew.
  // With `target`, as Push(): *target gets the thread it is queued for
  // (0: none; never a thread that retires or is gone, which would take
  // the buffers sent ahead to it along), which the caller wakes with
  // WakeThread().
  int64_t PushPinned(Task&& task, const std::string& key, uint32_t max_queue,
                     uint32_t* target = nullptr);
  // Owner thread: signals the thread a Push() or PushPinned() with
  // `target` chose, if it was chosen asleep (if it is gone, the next
  // waiting thread, or the owner hears of the demand); a spinning or busy
  // one needs no wake-up.
  void WakeThread(uint32_t thread_id);
  // Owner thread. Removes every queued task (no thread could start to run
  // them) and returns their ids.
  std::vector<double> ClearQueue();
  // Owner thread. Removes a task that is still queued (returns 1), or
  // tells the thread that took it to abort it (returns its thread id + 1,
  // so the owner can terminate that thread if the task ignores it), or
  // finds nothing (0: it completed).
  // With `queued_only`, a task a thread holds is left alone (returns 0).
  uint32_t Cancel(double task_id, bool queued_only);
  // Owner thread. When the task was taken (ns since the monotonic epoch),
  // 0 while it is queued or once it completed.
  uint64_t TakenAt(double task_id);
  // Owner thread. The id of `descriptor`: equal bytes get the id they
  // got first, so a thread loads (compiles) each distinct function once,
  // however many function objects share its source. Ids start at 1.
  uint32_t DefineFunction(std::vector<uint8_t>&& descriptor);
  // Any thread. The bytes DefineFunction() gave `fn_id`; empty if unknown.
  std::vector<uint8_t> GetFunction(uint32_t fn_id);

  // Owner thread: a thread is about to be started / has exited (RemoveThread
  // only once its OS thread has been joined: the Worker's 'exit' event, or a
  // Worker that was never created; Take() writes Held::bytes without the lock,
  // relying on it). RemoveThread puts the tasks it took but never started back
  // in the queue, ahead of every task no thread took yet (ReturnToQueueLocked),
  // and returns the ids of those it had started, which died with it and which
  // the caller must settle. A thread starts its tasks in the order it took them
  // (src/thread/task-runner.ts), marks the ones that go async (MarkStarted), and
  // marks the one that waits for its function to load (MarkLoading): the oldest
  // unmarked one was running, unless a loading one comes first, in which case
  // none was; the rest had not started. A task that moved buffers, or whose
  // bytes were too big to keep a copy of, cannot be re-run and counts as died;
  // so does a task whose load was cut short by a death twice (its module may be
  // what kills threads), and a task whose caller cancelled it. *attached: false
  // if the thread died while starting. *reactor (if asked): the id of the
  // thread's reactor, which is the sender of its messages to the owner (0 if it
  // never attached).
  uint32_t AddThread();
  std::vector<double> RemoveThread(uint32_t thread_id, bool* attached, uint32_t* requeued,
                                   uint32_t* reactor = nullptr);
  // Pool thread: a task it took is now running asynchronously.
  void MarkStarted(uint32_t thread_id, double task_id);
  // Pool thread: the task it starts next waits for its function to load
  // (true), or has it and runs now (false).
  void MarkLoading(uint32_t thread_id, double task_id, bool loading);
  // The hand-over of a task's buffers that a thread asked for by port
  // (src/pool/moved-buffers.ts): a thread that asked may park in a
  // blocking call (and so stop reading its port) before they come, and
  // must then know whether they are on their way, to wait for them and
  // send them back with the task it hands back; else a sibling that
  // takes the task would wait for buffers stuck in a parked thread's
  // port. Exactly one of ClaimWant and DropWant wins.
  // Pool thread: it asks for task_id's buffers.
  void WantBuffers(uint32_t thread_id, double task_id);
  // Owner thread, about to send them: false if the thread no longer
  // wants them (then they stay with the owner).
  bool ClaimWant(uint32_t thread_id, double task_id);
  // Pool thread: the ask is over (they came, or it gives the task up);
  // returns whether the owner had claimed it (they are on their way).
  bool DropWant(uint32_t thread_id, double task_id);

  // Pool thread, once started: binds its own reactor for wake-ups.
  void AttachThread(uint32_t thread_id, std::shared_ptr<Reactor> reactor);
  // Pool thread, at its environment's teardown (EnvState::pool_thread):
  // it is gone, though the owner has not seen its exit yet (RemoveThread
  // comes later, on the owner's loop).
  void MarkGone(uint32_t thread_id);
  // Owner thread: how many threads are gone, or retiring, whose exit it
  // has not seen (RemoveThread): a blockingCallInThread caller replaces
  // them at once, since it will not see those exits while it waits.
  uint32_t GoneCount();
  // Any thread (a blockingCallInThread caller, between slices of its
  // wait): whether anything can still run task `task_id`.
  TaskOutlook Outlook(double task_id);
  // Any thread: the reactors of the pool's live threads, or nothing when
  // one is still starting and has not made a blocking call (it may take a
  // queued task). A starting thread counts by the reactor its blocking
  // call named (NoteStartingCaller): one in onThreadStart, or in a preload,
  // that waits on the pool's owner while the owner waits on this pool's
  // queue would otherwise hold both for ever, unseen.
  std::vector<uint32_t> LiveThreadReactors();
  // A pool thread's blocking call, about to wait (bridgeCall): its reactor,
  // kept for LiveThreadReactors while the thread is not attached yet.
  void NoteStartingCaller(uint32_t thread_id, uint32_t reactor_id);
  // Owner thread: whether the thread attached (false while it starts, and
  // once it is removed). A thread that attaches right after this said
  // false takes nothing from a stopped pool.
  bool IsAttached(uint32_t thread_id);
  // Any thread: whether the thread's environment is gone (MarkGone) or the
  // thread is removed; what it sent before has all arrived by then.
  bool IsGone(uint32_t thread_id);

  // Pool thread. Takes up to `max` tasks (fewer when siblings should share
  // the queue). Only tasks of functions known to be quick are taken
  // together: a task of a slow function, or of one that has not run twice
  // yet, is taken alone, since the tasks a thread took wait for it while a
  // sibling that frees up (or starts) meanwhile could run them (a thread
  // cannot hand back tasks while it runs one). Tasks pinned to it
  // (affinity) come first, all of them. When it leaves work queued
  // and no thread spins for it, it wakes one waiting thread. When none is
  // queued it spins up to `spin_ns` for one (if no sibling spins, and if
  // this thread's spin has paid lately: SpinPaysLocked), then registers
  // the thread as waiting so the next Push() wakes it. kRetire:
  // the pool has more threads than its max and this one holds nothing, or
  // it recycles or retires (Recycle, TryRetire), so it must exit;
  // kStopping: the pool stopped and nothing is left for it. Once stop()
  // without drain began, it takes only the tasks it handed back itself
  // since (Requeue), and takes them even if it recycles or retires.
  // `pays_within_ns` (at most spin_ns): how soon after the idle period
  // began a push must come for the spin to count as paying (SpinPaysLocked).
  // A long spin kept for a caller preempted between back-to-back calls
  // (after a blockingCallInThread answer, src/thread/worker.ts) must not
  // count as paying for a caller that is merely paced at that interval: it
  // would burn a core between that caller's calls.
  TakeResult Take(uint32_t thread_id, uint32_t max, uint64_t spin_ns,
                  uint64_t pays_within_ns, std::vector<Task>* out);
  TakeResult Take(uint32_t thread_id, uint32_t max, uint64_t spin_ns,
                  std::vector<Task>* out) {
    return Take(thread_id, max, spin_ns, spin_ns, out);
  }
  // Pool thread. Records the end of a task and posts its result to the
  // owner. With `hold_result` the pool keeps the result instead, until
  // ReleaseResult() posts it (the thread holds it back behind its console
  // output), or RemoveThread() does, if the thread dies first; meanwhile
  // the task is finished: never blamed for a death, re-run or cancelled.
  // Returns false if the owner reactor is gone.
  // With `quiet` the result is posted without waking the owner: the
  // thread wakes it by port right after (Reactor::Post).
  bool Complete(uint32_t thread_id, double task_id, uint32_t status,
                Frame&& result, bool hold_result = false, bool quiet = false);
  // Pool thread. Posts a result that Complete() held.
  bool ReleaseResult(uint32_t thread_id, double task_id);
  // Pool thread. A call it posts (callFromThread) while results of its
  // are held: kept here, in order with them, until ReleasePost() hands
  // it back to be posted, or RemoveThread() posts it with them if the
  // thread goes first. A thread terminated (worker.terminate(), by the
  // pool's runTimeout or cancelGrace) runs no more JavaScript, so a call
  // held there was lost while the results made after it arrived (found
  // by a chaos run). `message` is whole (its sender set), to reactor
  // `target`; `may_wait`: its post waits for room (BridgePost). False
  // when the thread is not in the pool: the caller posts it now.
  bool HoldPost(uint32_t thread_id, uint32_t target, bool may_wait, Message&& message);
  // Pool thread. The oldest call HoldPost() kept, for its caller to post
  // now (false: none is held).
  bool ReleasePost(uint32_t thread_id, uint32_t* target, bool* may_wait, Message* message);
  // Pool thread: gives back the tasks it took but has not started, in
  // the order it took them, as it is about to park in a blocking call
  // (`parking`) or when a batch of them ran long. They go back to the
  // queue ahead of every task no thread took yet, and by push order among
  // those other threads handed back (ReturnToQueueLocked); and a waiting
  // thread is woken for them; except any whose caller cancelled it
  // meanwhile: that one is dropped, and the owner gets a kTaskDropped
  // result for it, so that nothing runs or frees it twice. Unless it
  // parks, a task pinned to this thread (affinity) goes back to the front
  // of its own pinned queue instead: the key keeps it here. And once
  // stop() without drain began, every task goes there: no thread takes
  // from the queue then, and stop() lets tasks that threads took run
  // (this thread takes them again, parked or not: Take()).
  void Requeue(uint32_t thread_id, std::vector<Task>&& tasks, bool parking);
  // Pool thread, whose batch runs long: whether it may hand back what it
  // has not started of it (Requeue, not parking), and to whom. kNo while
  // the pool stops (stop() lets taken tasks run, and rejects queued ones;
  // Requeue keeps them on this thread should stop() come after this
  // answer), and once this thread retires or recycles (it takes no more
  // work, but for what it hands back once stop() began: pinned tasks would
  // wait for its exit). kToItself when a task it holds unstarted is pinned
  // to it (affinity): Requeue queues such tasks for it again, ahead of the
  // rest of its queue, and it takes them anew: a cancel that came meanwhile
  // drops its task, each one's runTimeout counts from that take, and its
  // loop turns first if mail waits and the batch ran from pull() (a thread
  // takes every task pinned to it at once, whatever the function: one
  // round trip per 2 ms of such a batch). kToSiblings for the rest.
  enum class HandBack : uint32_t { kNo = 0, kToSiblings = 1, kToItself = 2 };
  HandBack MayHandBack(uint32_t thread_id);
  // Pool thread, about to park in a blocking call: a parked thread takes
  // nothing, so it leaves the waiting list (Push() must not count on it).
  // Returns whether it was waiting. If a push chose it for a task (its
  // buffers sent ahead), a waiting sibling is woken for that task instead;
  // else, when work is queued and no thread is left waiting, the owner
  // gets a kPoolDemand. (The park itself is the bridge's.)
  bool LeaveWaitingList(uint32_t thread_id);
  // Pool thread, back to its event loop between two batches (worker.ts
  // MAX_ROUNDS) with work perhaps still queued: its loop may first run
  // users' timers for any time, so until its next Take() it is no taker a
  // push may count on. If a push counted on it as on its way back, a
  // waiting sibling is woken for that work (or the owner hears of the
  // demand), as when it parks; a task whose buffers were sent ahead to it
  // stays its own (a sibling would wait for this loop to send them back).
  void StepAway(uint32_t thread_id);
  // Pool thread: it will exit once its tasks in flight are done (it ran
  // its maxTasksPerThread, or its heap passed maxHeapPerThread), so it
  // takes no more work, but for the tasks it hands back itself once stop()
  // without drain began (Take). Called as a task ends: if a push counted
  // on it as on its way back, a waiting sibling is woken for what is queued.
  void Recycle(uint32_t thread_id);
  // Pool thread: it has taken the last task its maxTasksPerThread allows
  // (it will recycle once its tasks end). PushPinned() binds no new
  // affinity key to it: the key's calls would wait there behind its last
  // tasks, then go back to the queue, while a sibling had room.
  void BudgetSpent(uint32_t thread_id);
  // Pool thread, idle past its timeout: may it exit? Yes only while more
  // than `min` threads live and it holds nothing; it is then removed from
  // the waiting list so no task is handed to it.
  bool TryRetire(uint32_t thread_id);

  // Owner thread. Stops taking new work. When `drain` is false the queued
  // tasks are removed and their ids returned for rejection. Every thread is
  // woken so it can see the stop.
  std::vector<double> Stop(bool drain);
  // Owner thread. New bounds; waiting threads are woken so that surplus
  // ones see kRetire from Take().
  void SetBounds(uint32_t min, uint32_t max);
  // Any thread. Whether Stop() was called.
  bool IsStopping();
  // Any thread (the owner's poolCounts). The live counts.
  PoolCounts Counts();
  // Pool thread `thread_id` that answered a blockingCallInThread, before
  // it takes again (poolTake), mu_ not held: if it runs on the CPU the
  // owner last pushed from, while calls come back to back, it moves to
  // another (MoveOffCpu), at most once per kLeaveOwnerCpuEveryNs.
  // Returns whether it moved. Why: when the other cores are busy for a while
  // (V8 compiling the caller's code, on 2 cores), the caller woken by
  // this thread's answer is placed on this thread's core and preempts it.
  // Once the other core is idle again, Linux keeps waking each of the two
  // onto the core the other runs on (the waker's, and the wakee's last),
  // so they take turns on one core, the caller spinning for an answer
  // this thread cannot give while it waits for that core: a call that
  // takes 5 us took 60-90 us, for runs of 100-300 calls (perf sched,
  // bench/sync.mjs: p99 67-86 us, 16-24 with this). The first take on the
  // shared core ends that. Not for ordinary tasks: a caller that sleeps in
  // its loop until the result comes runs beside the thread without a spin,
  // and a wake-up on the same core costs less than one on an idle core
  // (bench seq's p99 rose 10-20% when every take moved). Only where the
  // machine has a core left beside the owner and the pool's threads that
  // are not waiting.
  bool LeaveOwnerCpu(uint32_t thread_id);
  static constexpr uint64_t kLeaveOwnerCpuEveryNs = 1000 * 1000;
  // Any thread: how many threads spin in Take() for work now (at most one).
  uint32_t SpinningThreads();
  // The owner's reactor id. Any thread (owner_ never changes).
  uint32_t OwnerReactor() const { return owner_->id(); }
  // Any thread (the owner's poolTimes). A copy of the time histograms
  // (read on demand: recording costs a few instructions under the lock
  // already held).
  PoolTimes Times();
  // Any thread, without the lock: about how many tasks the shared queue
  // holds.
  uint32_t QueuedApprox() const {
    return queued_approx_.load(std::memory_order_relaxed);
  }

 private:
  // A task a thread took and has not completed.
  struct Held {
    uint64_t taken_ns;
    uint64_t seq;                // take order
    uint32_t fn_id;
    bool started = false;        // went async (MarkStarted)
    bool loading = false;        // waits for its function (MarkLoading)
    bool cancelled = false;      // its caller gave up on it: never re-run
    bool finished = false;       // ended; its result held (Complete)
    uint32_t status = 0;         // when finished
    Frame result;                // when finished, until posted
    uint64_t finish_seq = 0;     // when finished: the order results leave
    uint8_t lost_while_loading = 0;
    bool rerunnable = false;     // its bytes are kept below
    // A copy, to re-queue it if its thread dies. The one field written
    // without mu_: Take() fills it on the pool thread after releasing
    // the lock (the copy is the costliest step of a take, and the owner's
    // Push() and the siblings wait on that lock). Safe because nothing
    // else reads it while the thread lives: only RemoveThread() does, once
    // the thread has exited; the owner's other calls read other fields.
    Bytes bytes;
    uint64_t enqueued_ns;
    AffinityKey affinity;        // the task's key (Task::affinity)
  };
  static constexpr size_t kKeepBytesUpTo = 64 * 1024;

  // How long a function's tasks keep their thread busy: the synchronous
  // part of each run (what a task taken behind it waits for), as a moving
  // mean. Measured from the later of the take and the thread's previous
  // event (a task ending, going async, or a load ending), so a batch's
  // tasks are timed one by one and a load is not counted; a first run
  // (compiling) is not trusted. Tasks of a function that ran at least
  // twice, whose mean is below quick_task_ns_, are taken in batches:
  // 100 us by default, where one take per task costs the thread about 1%
  // and a batch of 8 holds a sibling's share back by under a millisecond.
  struct FnTiming {
    uint64_t mean_ns = 0;
    uint32_t samples = 0;
  };

  struct ThreadRecord {
    std::shared_ptr<Reactor> reactor;  // null until attached
    // Before it attaches: the reactor its blocking calls wait from (0:
    // none made yet). NoteStartingCaller; the pool's mu_.
    uint32_t starting_reactor = 0;
    std::unordered_map<double, Held> held;
    std::deque<Task> pinned;           // queued for this thread (affinity)
    bool waiting = false;              // in waiting_
    uint64_t waiting_since_ns = 0;     // its last Take() that found nothing
    bool retiring = false;
    bool budget_spent = false;         // BudgetSpent(): no new key binds to it
    bool gone = false;                 // its environment is gone (MarkGone)
    // Taken off waiting_ to take work (PopWaiterLocked), until its next
    // Take(): counted as about to take (FairShareLocked).
    bool woken = false;
    // Its tasks that went async (MarkStarted) and have not finished: they
    // cost it nothing at a take, but each may compute once its await ends.
    uint32_t in_flight = 0;
    // It finished every task it held and has not taken again: it is on its
    // way back to Take(), so a push counts it as coming (no thread is
    // started for work it is about to take: a caller that makes its next
    // blocking call as soon as it has the answer started a second thread).
    bool returning = false;
    uint64_t last_event_ns = 0;        // see FnTiming
    // Tasks whose buffers it asked for by port -> whether the owner
    // claimed the ask (WantBuffers).
    std::unordered_map<double, bool> wants;
    // The task whose buffers the owner sends ahead to this thread (it was
    // chosen as a push's `target`; 0: none), until this thread next takes,
    // or forgoes it (ForgoSentTaskLocked).
    double sent_task = 0;
    // Chosen asleep (taken off waiting_ unsignalled): the buffers sent
    // ahead wake it by their message, or WakeThread() does when the owner
    // keeps them (ThreadPool #submit). Cleared as it takes or forgoes the
    // task; one left set only makes a later WakeThread() wake it once more.
    bool wake_after_send = false;
    // Whether its idle spin pays (SpinPaysLocked): one bit per idle period
    // of its last 8, newest lowest, set when the task that ended the
    // period was pushed within the spin's paying window (Take's
    // pays_within_ns) of the period's start, so that the spin caught it or
    // would have. Pushes timed that way are
    // what a spin is for (a caller that sends its next task as soon as it
    // has a result); tasks that come from I/O, a timer or another machine
    // come later, and spinning for them only takes a core from the owner
    // or a busy sibling. Starts as all paid.
    uint8_t spin_paid = 0xFF;
    // When its current idle period began (0: not idle, or it was asked
    // not to spin then), and the spin it was asked for then.
    uint64_t idle_since_ns = 0;
    uint64_t idle_pays_within_ns = 0;
    // Calls it posted while results of its were held (HoldPost), oldest
    // first, each with its place among those results (from next_seq_, as
    // Held::finish_seq).
    struct HeldPost {
      uint64_t seq;
      uint32_t target;
      bool may_wait;
      Message message;
    };
    std::deque<HeldPost> held_posts;
  };

  // Require mu_.
  // Whether `rec`'s idle spin paid often enough lately to spin again: for
  // at least half of its last 8 idle periods (a missed spin costs its
  // whole length, a caught one saves a wake-up of about that much). Below
  // that it waits at once; a task pushed soon after still counts as paid,
  // so the spin resumes when pushes come back to back, with no probing.
  // (Partly: in a closed loop, a caller that waits for this thread's
  // answer pushes later when this thread did not spin, since it then
  // waits for this thread's wake-up; so a slow machine can hold the spin
  // off for a while.)
  // Tasks paced by I/O (one awaited every 1 ms, bench/idle-spin.mjs): 51
  // us of pool-thread CPU per task with a spin every time, 30-34 with
  // this; back-to-back round trips keep their spin.
  static bool SpinPaysLocked(const ThreadRecord& rec);
  // Ends `rec`'s idle period with `first`, the first task it took. (A
  // task re-queued from a thread that died keeps its first push time, and
  // counts as paid: rare, and it errs toward spinning, as before.)
  static void EndIdleLocked(ThreadRecord& rec, const Task& first);
  // Whether `rec` holds a task not finished yet (a finished one whose
  // result waits behind the thread's console output does not count).
  static bool HoldsUnfinishedLocked(const ThreadRecord& rec);
  // How many of `queued` shared tasks thread `thread_id` (`rec`) takes:
  // a fair share, queued / threads (at least one), so that one thread
  // does not hoard a burst while its siblings sit idle. Async tasks in
  // flight (ThreadRecord::in_flight) count as work their threads hold: a
  // thread with none takes a share of them too, and one with some takes
  // its share beside the siblings about to take (waiting or woken with
  // their loops polling, spinning for work, or on their way back), which
  // may be none (Take() then answers kLeft), but only while one of those
  // holds fewer in flight than it: *wake is then that sibling, when it
  // waits. Taking on while a sibling was about to take put 6 to 8 of 8
  // async tasks (5 ms of I/O, then 50 ms of CPU) on one of 2 threads
  // (helper-156). Without async tasks in flight, queued / threads, as
  // before.
  size_t FairShareLocked(uint32_t thread_id, const ThreadRecord& rec, size_t queued, uint32_t* wake) const;
  // Takes thread `thread_id` off waiting_, marked woken: its reactor, to
  // signal once mu_ is released (null when it does not wait).
  std::shared_ptr<Reactor> TakeWaiterLocked(uint32_t thread_id);
  // A held task that went async ends, or leaves its thread: out of in_flight.
  static void EndInFlightLocked(ThreadRecord& rec, const Held& h);
  // `rec`'s thread is no longer a taker a push may count on (it steps
  // away to its loop, or retires): it is on its way back no more, and if
  // a push counted on it for queued work, a waiting sibling is popped into
  // *heir for that work (null: none). Returns whether work was left so:
  // the caller then calls WakeOrDemand(*heir) with mu_ released.
  bool HandOnCountedWorkLocked(ThreadRecord& rec, std::shared_ptr<Reactor>* heir);
  // Which waiting threads PopWaiterLocked() may take, and which first.
  enum class Pick {
    kAny,
    kIdleFirst,  // one that holds no task first: one with async tasks
                 // in flight may be busy in a continuation
    kIdleOnly,   // only one that holds no task
  };
  // Takes a waiting thread off the waiting list, to wake after unlocking
  // (null: none); *tid (if asked): its thread id. First one whose loop
  // runs a wake-up soon (WakesSoonLocked), then (kIdleFirst) one that
  // holds nothing; the most recent among equals (its caches are warm, and
  // the others' idle timeouts can retire them).
  std::shared_ptr<Reactor> PopWaiterLocked(uint32_t* tid = nullptr, Pick pick = Pick::kAny);
  // Whether a wake-up reaches `rec`'s JavaScript soon: its loop is
  // blocked in its poll (Reactor::BusySinceNs, loop_watch.h), or has run
  // callbacks for under kBusyLoopNs, or it went back to waiting under
  // kBusyLoopNs ago (on its way to its poll after a task). Past that its
  // loop runs long callbacks (a task's timer that computes for 600 ms): a
  // call woken onto it would wait for them while a sibling sleeps.
  // *now: MonotonicNs(), read on first need (0: not yet).
  static bool WakesSoonLocked(const ThreadRecord& rec, uint64_t* now);
  // A thread that holds nothing and is about to take work without a
  // wake-up: the spinner, or one on its way back to Take() (returning);
  // 0: none.
  uint32_t IdleTakerLocked() const;
  // Whether `rec` holds nothing and is on its way back to Take() from its
  // last task (returning): it takes queued work without a wake-up. The
  // way back is the library's own code (the task's end, then the thread's
  // take loop), so it comes soon; that holds for a task cancelled while
  // its thread still loads its function too, since the thread stops
  // waiting for that load at once (src/thread/task-runner.ts,
  // #stopAwaiting). Flags aside: a thread that retires, parks or goes away
  // after a push counted on it wakes a sibling for what is queued
  // (ForgoSentTaskLocked, Recycle), and so does a push that pins a task to
  // it, which it takes first (PushPinned). Complete() takes such a thread
  // off the waiting list, so that it is counted once.
  static bool OnWayBackLocked(const ThreadRecord& rec);
  // Whether a push counted on `rec`, on its way back, for what it queued,
  // and woke no one: not a retiring thread (no push counts on one), nor
  // while a thread spins (it takes the work). Work that `rec` then leaves
  // needs a sibling woken (ForgoSentTaskLocked, StepAway, Recycle).
  bool CountedOnLocked(const ThreadRecord& rec) const;
  // How many threads are on their way back (OnWayBackLocked), retiring
  // and gone ones aside: Push() and PushBatch() wake no waiter for work
  // they will take.
  size_t ReturningTakersLocked() const;
  // `rec` will not take the task a push chose it for, nor the queued work
  // a push left for it on its way back (it retires, parks, or its
  // environment is gone): it is no longer counted on, and if work is
  // queued a waiting sibling is popped into *heir (null: none), for the
  // caller to wake with WakeOrDemand() once mu_ is released. Returns
  // whether one must be woken.
  bool ForgoSentTaskLocked(ThreadRecord& rec, std::shared_ptr<Reactor>* heir);
  // Without mu_: signals `wake` (null: none), or, its thread gone, the
  // next waiting thread, and so on; returns whether one was signalled.
  bool SignalOrNextWaiter(std::shared_ptr<Reactor> wake);
  // Without mu_: signals `wake` (null: none chosen: the next waiting
  // thread), or, its thread gone, the next waiting thread; with none, the
  // owner hears of the demand.
  void WakeOrDemand(std::shared_ptr<Reactor> wake);
  uint32_t LiveLocked() const;                  // threads neither retiring nor gone
  // `rec` retires (recycled, idle, surplus) and holds nothing unfinished:
  // it takes nothing more, so its keys are unbound and the calls pinned
  // to it by them go back to everyone, in push order, now rather than at
  // its exit, which its onThreadExit may put off for any time (or for
  // ever). Not once stop() without drain began: it takes back its own
  // then (Take's own_after_stop). Returns whether work went back, with a
  // waiting sibling popped into *heir for WakeOrDemand() once mu_ is
  // released.
  bool ReleaseRetiringLocked(uint32_t thread_id, ThreadRecord& rec, std::shared_ptr<Reactor>* heir);
  void StopWaitingLocked(uint32_t thread_id, ThreadRecord& rec);
  // A task holding `key` left the pool (completed, cancelled, cleared,
  // rejected, died): drops the key's binding with its last task.
  void ReleaseKeyLocked(const AffinityKey& key);
  // A task holding `key` entered (+1) or left (-1) the shared queue:
  // Binding::shared follows it.
  void CountSharedLocked(const AffinityKey& key, int delta);
  // Thread `thread_id` took from the shared queue a task holding `key`
  // (already counted out of it): if the key is bound to no thread, it is
  // bound to this one, and the key's other tasks move to this thread's
  // own queue, in order: those in the shared queue (returned ones, which
  // lead it: one pass over the part that holds them), then those waiting
  // on its Binding (a splice).
  void AdoptKeyLocked(uint32_t thread_id, ThreadRecord& rec, const std::string& key);
  struct Binding;
  // AdoptKeyLocked's pass over the shared queue: moves the key's tasks
  // there (b.shared of them) to `rec`'s own queue, in order.
  void GatherSharedLocked(ThreadRecord& rec, const std::string& key, Binding& b);
  // A task of `key` left the shared queue other than by a take (cancelled):
  // when it was the key's last one there, unbound, the first of the calls
  // waiting behind it (Binding::waiting) takes its place, at `at`.
  void PromoteWaitingLocked(const AffinityKey& key, std::deque<Task>::iterator at);
  // The task `task_id` where it waits on a key's Binding, if it does:
  // the Binding and its place there (else a null Binding).
  std::pair<Binding*, std::deque<Task>::iterator> FindWaitingLocked(double task_id);
  // The tasks waiting on keys' Bindings, with their keys' counts released:
  // ClearQueue() and Stop() report their ids.
  void DropWaitingLocked(std::vector<double>* ids);
  // Push()'s work under mu_ (room checked by the caller): queues `task` at
  // the back of the shared queue and chooses whom it wakes. Returns
  // Push()'s answer, or 0 with *wake set: the caller then signals it,
  // after releasing mu_ (SignalPushed).
  int64_t QueueSharedLocked(Task&& task, uint32_t* target, std::shared_ptr<Reactor>* wake);
  // Without mu_: signals the waiter a push chose (or, its thread gone, the
  // next one); returns Push()'s answer.
  int64_t SignalPushed(std::shared_ptr<Reactor> wake);
  // Puts a task a thread held back in the queue (handed back, re-run after
  // the thread died, or queued for a thread that died): ahead of every
  // task no thread took yet, as before, and among the tasks returned so,
  // by push order. Task ids grow with pushes (one owner pushes to a pool),
  // so tasks two threads hand back interleave in the order they were
  // made, not in the order the threads handed them back (each to the
  // front put the later thread's first).
  void ReturnToQueueLocked(Task&& task);
  // The synchronous part of `h`'s run ended now (see FnTiming).
  void RecordRunLocked(ThreadRecord& rec, const Held& h, uint64_t now);
  bool KnownQuickLocked(uint32_t fn_id) const;
  // Push()'s demand: queued tasks minus the threads about to take them.
  int64_t PushDemandLocked() const;

  const uint32_t id_;
  const std::shared_ptr<Reactor> owner_;  // the reactor results go to
  const uint64_t quick_task_ns_;
  // queue_.size(), written under mu_, read without it (Take()'s spin).
  std::atomic<uint32_t> queued_approx_{0};
  // The CPU the owner pushed its last task from (-1: none yet, or not
  // known): written by each push on the owner thread, read by the pool
  // threads without a lock (LeaveOwnerCpu). Relaxed: a stale value costs
  // at most one needless move.
  std::atomic<int> owner_cpu_{-1};
  // Bumped under mu_ by each PushPinned() that queues a task for a thread,
  // read without it: Take()'s spin ends when it changes, so a spinning
  // thread sees a task queued for it (affinity) at once.
  std::atomic<uint32_t> pinned_pushes_{0};

  SpinningMutex mu_;
  // Guarded by mu_, and so is everything they hold (Task, Held,
  // ThreadRecord, Binding):
  uint32_t min_;
  uint32_t max_;
  bool stopping_ = false;
  bool drain_on_stop_ = false;
  uint32_t next_thread_id_ = 1;
  std::deque<Task> queue_;
  std::unordered_map<uint32_t, ThreadRecord> threads_;
  std::vector<uint32_t> waiting_;  // LIFO: the most recently active first
  uint32_t spinning_ = 0;          // threads in Take()'s spin, about to take
  // The thread in Take()'s spin when it holds no task (0: none; one spins
  // at a time): a push with `target` chooses it, since it takes the task.
  uint32_t idle_spinner_ = 0;
  uint64_t next_seq_ = 0;
  // Affinity key -> the thread it is bound to, and how many tasks in the
  // pool (queued anywhere or held by a thread) carry the key. A key is
  // erased with its last task, so the map holds only keys in use.
  struct Binding {
    uint32_t thread;  // 0: none yet, or its thread was removed
    uint32_t tasks;
    // Of them, those in the shared queue (queue_): unbound ones wait
    // there for a thread to adopt the key (AdoptKeyLocked); a thread
    // parking hands its key's taken tasks back there too, for any thread.
    uint32_t shared;
    // Unbound, with a call of the key in the shared queue: the key's later
    // calls, in push order, which the adopting thread takes over whole.
    // (In the shared queue too, every adoption scanned it for them: 10,000
    // keys' calls queued before start() took 24 s to drain, not 0.4 s.)
    std::deque<Task> waiting;
  };
  std::unordered_map<std::string, Binding> affinity_;
  size_t waiting_on_keys_ = 0;  // every Binding::waiting's tasks
  size_t QueuedLocked() const;  // shared + pinned + waiting on keys
  // Descriptor bytes -> function id; functions_[id - 1] points at the key
  // (node-based map: its keys never move).
  std::unordered_map<std::string, uint32_t> function_ids_;
  std::vector<const std::string*> functions_;
  std::vector<FnTiming> fn_timing_;  // by function id - 1
  double submitted_ = 0, completed_ = 0, failed_ = 0;
  PoolTimes times_;
};

}  // namespace rt
