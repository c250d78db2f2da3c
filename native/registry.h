// The one home of process-wide native state: every Pool and every Reactor
// of every JavaScript environment that loaded the addon, by id. Shared by
// all isolates; each entry is owned by shared_ptr, so a thread that looked
// one up keeps it alive even if its environment goes away meanwhile.
//
// Reactors and pools are added and removed by the owning JS thread of
// the environment they belong to (init, poolCreate, poolDestroy,
// CleanupEnv). Calls (ReplySlots, bridge.h) are opened and closed by the
// calling thread (bridgeCall) and listed in between.
//
// Threads: every method, any thread. Locking: mu_ guards every member; it
// is a leaf, never held while calling into a Pool, Reactor or ReplySlot
// (the Wake* methods resolve slots after releasing it; lock order in
// reactor.h). Get() itself needs no lock (a function-local static).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "bridge.h"
#include "pool.h"
#include "reactor.h"
#include "spinning_mutex.h"

namespace rt {

class Registry {
 public:
  static Registry& Get();

  uint32_t NextReactorId();
  void AddReactor(std::shared_ptr<Reactor> r);
  void RemoveReactor(uint32_t id);
  std::shared_ptr<Reactor> FindReactor(uint32_t id);

  // The main thread's reactor (0 until the main thread loads the addon):
  // the reactor that Workers outside any pool serve. Where the main thread
  // holds several copies of the package (jest: one per test file), the
  // latest copy still listed; RemoveReactor unlists a main one too, so an
  // older copy that lives on serves again.
  void AddMainReactor(uint32_t id);
  uint32_t MainReactor();

  // Function descriptors shared by every thread, deduplicated by bytes, so
  // a bridge call names its function by a small id.
  uint32_t InternFunction(const std::vector<uint8_t>& descriptor);
  std::vector<uint8_t> InternedFunction(uint32_t id);

  // Blocking calls in progress. OpenCall refuses (returns null and sets
  // *deadlock) when `target` waits, directly or through others, on
  // `caller`: the wait graph would close a cycle. After the process began
  // to exit, OpenCall returns null with *deadlock false.
  std::shared_ptr<ReplySlot> OpenCall(uint32_t caller, uint32_t target,
                                      uint32_t pool, bool* deadlock);
  void CloseCall(const std::shared_ptr<ReplySlot>& slot);
  // The reactor serving `slot` answers it (before ReplySlot::Resolve): its
  // caller waits on no one from now on, though it is listed until it wakes
  // and closes the call. Without this, a call made in that window (the
  // thread that just answered the owner's blockingCallInThread calls its
  // owner) met the stale edge and was refused as a deadlock (helper-142).
  // Only while the call is listed: a caller that closed it may have opened
  // another since, whose edge stays.
  void Answering(const std::shared_ptr<ReplySlot>& slot);
  // blockingCallInThread: whether every one of `reactors` (a pool's
  // threads; false for none) waits, directly or through others, on
  // `caller`: then none of them will take a task that `caller` waits for.
  bool AllWaitOn(const std::vector<uint32_t>& reactors, uint32_t caller);
  // blockingCallInThread: the call `id`, opened with no target, is now
  // served by the reactor `target` (the pool thread that took its task).
  // False when the call is no longer listed (its caller left).
  bool Retarget(uint64_t id, uint32_t target);
  std::shared_ptr<ReplySlot> FindCall(uint64_t id);
  // How many calls are listed, all of them or those `caller` opened
  // (tests: none is left behind; a test counts its own thread's, since
  // ava runs other test files in other threads of the same process).
  size_t OpenCalls(std::optional<uint32_t> caller = std::nullopt);
  // Wake, with `status`, every caller that waits on `target` / that belongs
  // to `pool` / all of them (process exit; sticky: later calls fail too).
  void WakeCallsTo(uint32_t target, CallStatus status);
  // ReplySlot::Attend() on every call that `caller` waits in now.
  void AttendCallsOf(uint32_t caller);
  void WakeCallsOfPool(uint32_t pool, CallStatus status);
  // pool.stop(): the calls of `pool`'s threads end with kPoolStopped, as
  // WakeCallsOfPool does, and so do the blockingCallInThread waits of its
  // threads (StopsWithPool). The pool's stopping flag is set before.
  void WakeCallsOfStoppedPool(uint32_t pool);
  // blockingCallInThread, from a pool thread of `pool`: its call ends when
  // that pool stops. False when the call is no longer listed. The caller
  // checks the pool's stopping flag after this: of the mark and the
  // stop's wake, whichever comes second sees the other.
  bool StopsWithPool(uint64_t id, uint32_t pool);
  void WakeAllCalls(CallStatus status);
  // Backpressure waits (reactor.h): `sender` waits for room in `target`'s
  // inbox. BeginRoomWait refuses (returns false, and nothing is listed)
  // when the target cannot drain for now because it waits itself: parked
  // in a blocking call, or waiting for room in another inbox. Such a wait
  // may depend on the sender (through the user's code, or a chain of
  // full inboxes that closes a cycle), so the sender posts at once
  // instead. Checked under mu_ while listing the sender, so of two
  // threads that would wait on each other, the second one sees the first.
  // MayKeepWaitingForRoom is asked again while the sender waits (the
  // target may park meanwhile); EndRoomWait unlists the sender.
  bool BeginRoomWait(uint32_t sender, uint32_t target);
  bool MayKeepWaitingForRoom(uint32_t target);
  void EndRoomWait(uint32_t sender);
  // How many threads of `pool` have waited in one blocking call since at
  // least `since_ns` (0: how many wait now).
  uint32_t CallsOfPool(uint32_t pool, uint64_t since_ns);

  std::shared_ptr<Pool> CreatePool(std::shared_ptr<Reactor> owner, uint32_t min,
                                   uint32_t max, uint64_t quick_task_ns);
  void RemovePool(uint32_t id);
  std::shared_ptr<Pool> FindPool(uint32_t id);

  // Moves of a waiting thread off the CPU of the thread it waits for
  // (MoveOffCpu, cpu.h): a pool thread after answering a
  // blockingCallInThread (Pool::LeaveOwnerCpu), a blockingCallFromThread
  // caller before it spins (LeaveCpuOfAnswerer). Counted for tests, which
  // check that the JavaScript and native paths still reach them
  // (test/cpu-moves.ts). Any thread; atomics, not under mu_.
  enum class CpuMove { kPoolThread = 0, kBridgeCaller = 1 };
  void CountCpuMove(CpuMove kind) {
    cpu_moves_[static_cast<size_t>(kind)].fetch_add(1, std::memory_order_relaxed);
  }
  uint64_t CpuMoves(CpuMove kind) const {
    return cpu_moves_[static_cast<size_t>(kind)].load(std::memory_order_relaxed);
  }

 private:
  Registry() = default;
  SpinningMutex mu_;
  // Guarded by mu_:
  uint32_t next_reactor_id_ = 1;
  uint32_t next_pool_id_ = 1;
  std::unordered_map<uint32_t, std::shared_ptr<Reactor>> reactors_;
  std::unordered_map<uint32_t, std::shared_ptr<Pool>> pools_;
  std::vector<uint32_t> main_reactors_;  // oldest first
  std::vector<std::vector<uint8_t>> functions_;
  std::unordered_map<std::string, uint32_t> function_ids_;
  uint64_t next_call_id_ = 1;
  std::unordered_map<uint64_t, std::shared_ptr<ReplySlot>> calls_;
  std::unordered_map<uint32_t, uint32_t> waits_on_;  // caller -> target
  std::unordered_map<uint32_t, uint32_t> room_waits_;  // sender -> target
  bool exiting_ = false;
  // Not guarded: see CountCpuMove.
  std::array<std::atomic<uint64_t>, 2> cpu_moves_{};
};

}  // namespace rt
