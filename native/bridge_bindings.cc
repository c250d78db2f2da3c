// Bindings of the reactor bridge (bridge.h, registry.h): a thread calls a
// function on another JS thread's reactor, without waiting (bridgePost:
// callFromThread) or parked until it answers (bridgeCall:
// blockingCallFromThread); the reactor answers (bridgeReply). Also the
// process-wide function interning and the pool-level views of parked
// calls. Each says which JS thread calls it (src/bridge/caller.ts,
// src/pool/threadpool.ts). Argument checks: bindings.h.
// Tests: test/blocking-call-from-thread.ts, test/bridge-*.ts,
// test/starvation*.ts.
#include <cstring>
#include <vector>

#include "batch.h"
#include "bindings.h"
#include "bridge.h"
#include "clock.h"
#include "registry.h"
#include "scratch.h"

namespace rt {
namespace {

// How long this thread spins for an answer before it parks; adapts per
// thread (bridge.h). Only BridgeCall on this thread touches it.
thread_local SpinBudget spin_budget;
// blockingCallInThread's waits spin this long, then park. Not measured as
// SpinBudget does: a task's round trip has a tail (its thread preempted,
// a GC), the budget's short exploring runs barely moved its means, and it
// kept parking (23 us a call here) for some 30,000 calls while spinning
// took 8 us. A task that answers later costs its caller at most this
// much CPU before it parks. REACTOR_THREADS_BRIDGE_SPIN_NS sets it too.
constexpr uint64_t kTaskSpinNs = 50 * 1000;
// How often a parked blockingCallInThread caller asks the pool whether
// its task can still run (Pool::Outlook). A thread that dies after it
// adopted the call wakes the caller at once; this bounds the other ends
// (a death before that, every thread gone, every thread waiting on the
// caller) at 10 ms, and a parked caller's wake-ups to 100 a second.
constexpr uint64_t kTaskSliceNs = 10 * 1000 * 1000;
// A caller about to spin for `target`'s answer, on the CPU `target`
// answered its last call on moments ago, moves to another CPU
// (MoveOffCpu), at most once per kLeaveCpuEveryNs. Why: the caller,
// parked, is woken by the answer onto the reactor's core when the other
// cores are busy (V8 compiling, on 2 cores), and preempts the reactor
// there; once another core is idle again, Linux keeps waking each of the
// two onto the core the other runs on, so the caller spins for an answer
// from a reactor that waits for that very core (perf sched, bench
// bridge.mjs (a): 3,000 of 10,000 calls preempted the main thread so,
// p50 18 us against 4 for the same calls once warm). An answer older than
// kRecentAnswerNs says nothing of where the reactor runs now (it sleeps
// in its poll between isolated calls, and is woken wherever is idle).
constexpr uint64_t kLeaveCpuEveryNs = 1000 * 1000;
constexpr uint64_t kRecentAnswerNs = 100 * 1000;
void LeaveCpuOfAnswerer(const Reactor& target, uint64_t now_ns) {
  thread_local MovePacer pacer(kLeaveCpuEveryNs);
  int cpu = target.AnsweredOnRecently(now_ns, kRecentAnswerNs);
  if (pacer.Due(cpu, now_ns) && MoveOffCpu(cpu, 2)) {
    Registry::Get().CountCpuMove(Registry::CpuMove::kBridgeCaller);
  }
}

uint64_t TaskSpinNs() {
  int64_t fixed = FixedSpinNs();
  return fixed >= 0 ? static_cast<uint64_t>(fixed) : kTaskSpinNs;
}

// mainReactor() -> the main thread's reactor id, 0 if the main thread
// never loaded the addon. Any JS thread.
Napi::Value MainReactor(const Napi::CallbackInfo& info) {
  Args args(info);
  return Napi::Number::New(args.env(), Registry::Get().MainReactor());
}

// internFunction(descriptor) -> id, the same on every thread. Any JS
// thread.
Napi::Value InternFunction(const Napi::CallbackInfo& info) {
  Args args(info);
  std::vector<uint8_t> descriptor = args.Bytes(0, "descriptor buffer");
  if (!args.ok()) return {};
  return Napi::Number::New(args.env(),
                           Registry::Get().InternFunction(descriptor));
}

// internedFunction(id) -> Buffer | undefined. Any JS thread.
Napi::Value InternedFunction(const Napi::CallbackInfo& info) {
  Args args(info);
  uint32_t id = args.U32(0, "function id");
  if (!args.ok()) return {};
  auto bytes = Registry::Get().InternedFunction(id);
  if (bytes.empty()) return args.env().Undefined();
  return Napi::Buffer<uint8_t>::Copy(args.env(), bytes.data(), bytes.size());
}

// bridgePost(target, refKind, ref, payload, transfers, mayWait) -> posted
// (false: the target reactor is gone; the moved buffers stay).
// callFromThread: queues the call and returns, at once unless `mayWait`
// and the target's inbox is full (AwaitRoom). `mayWait` is true only for
// a call to the reactor this thread serves (a pool thread to its owner, a
// Worker to the main thread): those waits point one way, up the tree of
// owners, and an owner never waits on a thread it serves, whose run
// timeout it may be the one to enforce. Any JS thread but the target's.
Napi::Value BridgePost(const Napi::CallbackInfo& info) {
  Args args(info);
  const auto& reactor = args.OwnReactor();
  uint32_t target_id = args.U32(0, "target reactor id");
  uint32_t ref_kind = args.U32(1, "ref kind");
  uint32_t ref = args.U32(2, "ref");
  bool may_wait = args.Flag(5);
  if (!args.ok()) return {};
  Frame frame;
  Moved moved;
  if (!ReadFrame(args, 3, 4, &frame, &moved)) return {};
  bool ok = PostCall(reactor->id(), target_id, may_wait,
                     Message{MessageKind::kCall, ref_kind, ref, 0, std::move(frame), reactor->id()},
                     [env = args.env()] { return CanRunJs(env); });
  if (ok) Detach(args.env(), moved);
  return Napi::Boolean::New(args.env(), ok);
}

Napi::Value ReplyToJs(Napi::Env env, CallStatus status, ReplySlot& slot,
                      const Scratch& scratch = {});

// The deadline of a wait of `timeout_ms` begun at `started` (0: none).
// Infinity, NaN and spans past a century mean none: converting them to
// nanoseconds overflowed uint64_t, which is undefined behaviour (a
// blocking call's `timeout: Infinity` reached it: helper-149).
uint64_t DeadlineAfter(uint64_t started, double timeout_ms) {
  constexpr double kCenturyMs = 100.0 * 365 * 24 * 3600 * 1000;
  if (!(timeout_ms > 0) || !(timeout_ms < kCenturyMs)) return 0;
  return started + static_cast<uint64_t>(timeout_ms * 1e6);
}

// bridgeCall(target, refKind, ref, payload, transfers, timeoutMs, poolId,
//            threadId, replyScratch?, onAttention?) -> [status, reply,
// replyTransfers?] when answered, else a bare status. poolId/threadId: the
// caller's, when it is a pool thread (0 otherwise). An answer that fits in
// replyScratch (a Uint8Array of the caller's) and moves no buffer is
// written there instead, and its status (Fulfilled or Rejected) comes bare
// (ReplyToJs). onAttention (a pool thread's): run on this thread, within
// the wait, each time its call is attended (bridgeAttend: its side port
// holds an ask it must answer even while it waits, src/pool/moved-buffers.ts);
// the wait then goes on, to the same deadline. Its exceptions are dropped.
// Any JS thread but the target's.
// blockingCallFromThread: posts the call, then waits for the answer. The
// status values are CallStatus (bridge.h). When the wait ended because
// this environment is terminating, every N-API call may fail, and
// node-addon-api would abort the process on a failed call: the
// unanswered outcomes are returned with raw N-API (QuietU32), ignoring
// failures, never thrown.
Napi::Value BridgeCall(const Napi::CallbackInfo& info) {
  Args args(info);
  const auto& reactor = args.OwnReactor();
  uint32_t target_id = args.U32(0, "target reactor id");
  uint32_t ref_kind = args.U32(1, "ref kind");
  uint32_t ref = args.U32(2, "ref");
  double timeout_ms = args.F64(5, "timeoutMs");
  uint32_t pool_id = args.U32(6, "pool id");
  uint32_t thread_id = args.U32(7, "thread id");
  if (!args.ok()) return {};
  Napi::Env env = args.env();
  auto bare = [&](CallStatus status) {
    return QuietU32(env, static_cast<uint32_t>(status));
  };
  // Every refusal below comes before Detach(): a refused call leaves the
  // caller's moved buffers whole.
  Frame frame;
  Moved moved;
  if (!ReadFrame(args, 3, 4, &frame, &moved)) return {};
  auto target = Registry::Get().FindReactor(target_id);
  if (!target) return bare(CallStatus::kReactorGone);
  bool deadlock = false;
  // The slot is shared: by this thread while it waits, by the Registry
  // while it is listed (until CloseCall), by whoever resolves it.
  auto slot =
      Registry::Get().OpenCall(reactor->id(), target_id, pool_id, &deadlock);
  if (!slot)
    return bare(deadlock ? CallStatus::kWouldDeadlock
                         : CallStatus::kReactorGone);
  if (pool_id) {
    // The slot is registered before the pool is checked, and Stop() sets
    // its flag before it wakes registered slots: whichever comes second
    // sees the other, so a call racing with stop() cannot park forever.
    auto pool = Registry::Get().FindPool(pool_id);
    if (!pool || pool->IsStopping()) {
      Registry::Get().CloseCall(slot);
      return bare(CallStatus::kPoolStopped);
    }
    pool->LeaveWaitingList(thread_id);
    pool->NoteStartingCaller(thread_id, reactor->id());
  }
  uint64_t started = MonotonicNs();
  if (!target->Post(Message{MessageKind::kCall,
                            ref_kind,
                            ref,
                            static_cast<double>(slot->id()),
                            std::move(frame),
                            reactor->id()})) {
    Registry::Get().CloseCall(slot);
    return bare(CallStatus::kReactorGone);
  }
  Detach(env, moved);  // sent: the reactor owns the bytes now
  uint64_t deadline = DeadlineAfter(started, timeout_ms);
  napi_env raw = env;
  uint64_t spin = spin_budget.Next();
  if (spin) LeaveCpuOfAnswerer(*target, started);
  napi_value on_attention = info.Length() > 9 && info[9].IsFunction() ? static_cast<napi_value>(info[9]) : nullptr;
  CallStatus status;
  for (;;) {
    status = slot->Wait(spin, deadline, 10 * 1000 * 1000, [raw] {
      return CanRunJs(raw);
    }, /* attend */ on_attention != nullptr);
    if (status != CallStatus::kAttention) break;
    spin = 0;
    // (A terminating thread runs no JS: its next slice ends the wait.)
    if (CanRunJs(raw)) CallDroppingErrors(raw, on_attention);
  }
  Registry::Get().CloseCall(slot);
  if (status != CallStatus::kFulfilled && status != CallStatus::kRejected)
    return bare(status);
  spin_budget.Record(MonotonicNs() - started);
  return ReplyToJs(env, status, *slot,
                   info.Length() > 8 ? ReadScratch(env, info[8]) : Scratch{});
}

// A call's answer. One that moves no buffer and fits in `scratch` after
// a 4-byte length (u32, little-endian as batches are) is copied there,
// and only its status (Fulfilled or Rejected) is returned: a small answer
// then costs no Buffer of its own (native/scratch.h says what one costs)
// and no array, which matters most to a caller that parks between its
// calls, where every allocation and every object touched is cold
// (bench/bridge.mjs, isolated calls: p50 24-27 us before, 18-20 after,
// on the machine of the 2026-12-05 bench). Else
// [status, reply, replyTransfers?]. Quiet sets: the caller's Worker may
// be terminating by now.
Napi::Value ReplyToJs(Napi::Env env, CallStatus status, ReplySlot& slot,
                      const Scratch& scratch) {
  Frame reply = slot.TakeReply();
  size_t size = reply.bytes.size();
  if (scratch.data != nullptr && reply.transfers.empty() && size + 4 <= scratch.size) {
    // (Host order, as native/batch.cc writes batches: little-endian on
    // every target.)
    uint32_t length = static_cast<uint32_t>(size);
    std::memcpy(scratch.data, &length, 4);
    if (size) std::memcpy(scratch.data + 4, reply.bytes.data(), size);
    return QuietU32(env, static_cast<uint32_t>(status));
  }
  Napi::Array r = Napi::Array::New(env, 3);
  QuietSet(env, r, 0, Napi::Number::New(env, static_cast<uint32_t>(status)));
  QuietSet(env, r, 1, Napi::Buffer<uint8_t>::Copy(env, reply.bytes.data(), size));
  if (!reply.transfers.empty()) {
    Napi::Array abs = Napi::Array::New(env, reply.transfers.size());
    for (uint32_t i = 0; i < reply.transfers.size(); ++i) {
      napi_value ab;
      if (ToArrayBuffer(env, reply.transfers[i], &ab)) QuietSet(env, abs, i, ab);
    }
    QuietSet(env, r, 2, abs);
  }
  return r;
}

// blockingCallInThread (src/api/blocking-in-thread.ts): the calling
// thread opens a reply slot with no target (bridgeOpenWait), queues a
// task that carries the slot's id, and parks on the slot
// (bridgeAwaitTask). The pool thread that runs the task becomes the
// slot's target (bridgeAdopt) and answers it (bridgeReply).

// bridgeOpenWait() -> the id of a new reply slot (0: the process is
// exiting). The calling JS thread, which then must bridgeAwaitTask it.
Napi::Value BridgeOpenWait(const Napi::CallbackInfo& info) {
  Args args(info);
  const auto& reactor = args.OwnReactor();
  if (!args.ok()) return {};
  bool deadlock = false;
  // (Listed until bridgeAwaitTask closes it; no target yet, so no cycle.)
  auto slot = Registry::Get().OpenCall(reactor->id(), 0, 0, &deadlock);
  return Napi::Number::New(args.env(), slot ? static_cast<double>(slot->id()) : 0);
}

// bridgeCloseWait(callId): closes a call opened by bridgeOpenWait whose
// task could not be queued. The thread that opened it.
Napi::Value BridgeCloseWait(const Napi::CallbackInfo& info) {
  Args args(info);
  double call_id = args.F64(0, "call id");
  if (!args.ok()) return {};
  if (auto slot = Registry::Get().FindCall(static_cast<uint64_t>(call_id)))
    Registry::Get().CloseCall(slot);
  return args.env().Undefined();
}

// bridgeAdopt(callId) -> whether the caller still waits. The pool thread
// that starts the call's task: its death now wakes the caller, and a
// blocking call of its to the caller is refused (kWouldDeadlock).
Napi::Value BridgeAdopt(const Napi::CallbackInfo& info) {
  Args args(info);
  const auto& reactor = args.OwnReactor();
  double call_id = args.F64(0, "call id");
  if (!args.ok()) return {};
  return Napi::Boolean::New(
      args.env(), Registry::Get().Retarget(static_cast<uint64_t>(call_id), reactor->id()));
}

// bridgeAwaitTask(callId, poolId, taskId, timeoutMs, ownPoolId,
// ownThreadId, replyScratch?) -> [status, reply, replyTransfers?] when
// answered (or the bare status of an answer written to replyScratch, as
// bridgeCall's), else a bare status (CallStatus). The thread that opened the call, after
// queueing task `taskId` on its pool `poolId`; ownPoolId/ownThreadId: the
// caller's own, when it is a pool thread (0 otherwise): it leaves that
// pool's waiting list first, as bridgeCall does, or a push would wake
// it, parked, instead of a sibling or a new thread. Spins, then parks;
// between slices it asks the pool whether anything can still run the task (Pool::Outlook): the thread that held
// it may be gone before it adopted the call, every thread may be gone
// while it waits in the queue, or every thread may wait on this one
// (kWouldDeadlock), and this thread, parked, would see none of it.
// Closes the call, but for kAttention: a thread of the pool posted to this
// thread's port (ReplySlot::Attend), which the caller reads before it
// calls again, with what is left of its timeout.
Napi::Value BridgeAwaitTask(const Napi::CallbackInfo& info) {
  Args args(info);
  double call_id = args.F64(0, "call id");
  auto pool = args.PoolArg(1);
  double task_id = args.F64(2, "task id");
  double timeout_ms = args.F64(3, "timeoutMs");
  uint32_t own_pool_id = args.U32(4, "own pool id");
  uint32_t own_thread_id = args.U32(5, "own thread id");
  if (!args.ok()) return {};
  Napi::Env env = args.env();
  auto slot = Registry::Get().FindCall(static_cast<uint64_t>(call_id));
  if (!slot) return QuietU32(env, static_cast<uint32_t>(CallStatus::kReactorGone));
  if (own_pool_id) {
    // Its own pool's stop() ends the wait, as it ends a bridgeCall's
    // (helper-76's review: a pool thread waiting on a 20 s task held its
    // pool's stop() for the 20 s). Marked, then the flag is checked: see
    // Registry::StopsWithPool.
    auto own = Registry::Get().FindPool(own_pool_id);
    if (!Registry::Get().StopsWithPool(slot->id(), own_pool_id)) {
      return QuietU32(env, static_cast<uint32_t>(CallStatus::kReactorGone));
    }
    // (Resolved, not returned: an answer that came first is kept, and the
    // wait below returns whichever outcome the slot holds, at once.)
    if (!own || own->IsStopping()) {
      slot->Resolve(CallStatus::kPoolStopped, Frame{});
    } else {
      own->LeaveWaitingList(own_thread_id);
    }
  }
  uint64_t started = MonotonicNs();
  uint64_t deadline = DeadlineAfter(started, timeout_ms);
  napi_env raw = env;
  ReplySlot* s = slot.get();
  uint32_t caller = slot->caller();
  auto check = [raw, s, &pool, task_id, caller] {
    switch (pool->Outlook(task_id)) {
      case TaskOutlook::kHolderGone:
        s->Resolve(CallStatus::kReactorGone, Frame{});
        break;
      case TaskOutlook::kNoThread:
        s->Resolve(CallStatus::kThreadsLost, Frame{});
        break;
      case TaskOutlook::kQueued:
        // Every thread of the pool waits on this caller (a blocking call
        // to it, directly or through others): none will take the task.
        if (Registry::Get().AllWaitOn(pool->LiveThreadReactors(), caller))
          s->Resolve(CallStatus::kWouldDeadlock, Frame{});
        break;
      case TaskOutlook::kServed:
        break;
    }
    return CanRunJs(raw);
  };
  CallStatus status = slot->Wait(TaskSpinNs(), deadline, kTaskSliceNs, check, /* attend */ true);
  if (status == CallStatus::kAttention) {
    // Before the caller reads its ports, what the slices look for: a
    // steady flow of posts could keep every wait shorter than a slice, and
    // a thread being terminated must not leave its call listed.
    if (!check()) s->Resolve(CallStatus::kTerminating, Frame{});
    status = slot->State();
    if (status == CallStatus::kPending)
      return QuietU32(env, static_cast<uint32_t>(CallStatus::kAttention));
  }
  Registry::Get().CloseCall(slot);
  if (status != CallStatus::kFulfilled && status != CallStatus::kRejected)
    return QuietU32(env, static_cast<uint32_t>(status));
  return ReplyToJs(env, status, *slot,
                   info.Length() > 6 ? ReadScratch(env, info[6]) : Scratch{});
}

// bridgeReply(callId, status, payload, transfers?) -> whether the caller
// still waited (false: it left, timed out or died; the reply is dropped
// and the moved buffers stay). The JS thread of the reactor that served
// the call.
Napi::Value BridgeReply(const Napi::CallbackInfo& info) {
  Args args(info);
  double call_id = args.F64(0, "call id");
  uint32_t status = args.U32(1, "status");
  if (!args.ok()) return {};
  auto slot = Registry::Get().FindCall(static_cast<uint64_t>(call_id));
  Frame frame;
  Moved moved;
  if (!ReadFrame(args, 2, 3, &frame, &moved)) return {};
  // Before the answer: the caller it wakes reads where this one is, and
  // may call this reactor at once.
  if (slot) {
    if (const auto& own = args.State()->reactor) own->NoteAnswered();
    Registry::Get().Answering(slot);
  }
  bool ok =
      slot && slot->Resolve(static_cast<CallStatus>(status), std::move(frame));
  if (ok) Detach(args.env(), moved);
  return Napi::Boolean::New(args.env(), ok);
}

// bridgeAttend(reactorId): something was posted to the side port of that
// reactor's thread that it must read even while it waits in a blocking
// call (a pool thread asked to send back buffers sent ahead to it, which
// a sibling waits for): its wait runs bridgeCall's onAttention, or
// bridgeAwaitTask returns kAttention (Registry::AttendCallsOf). A reactor
// that waits in no call reads its port in its loop. Any thread.
Napi::Value BridgeAttend(const Napi::CallbackInfo& info) {
  Args args(info);
  uint32_t reactor_id = args.U32(0, "reactor id");
  if (!args.ok()) return {};
  Registry::Get().AttendCallsOf(reactor_id);
  return args.env().Undefined();
}

// bridgeOpenCalls(ofThisThread?) -> how many blocking calls are listed in
// the Registry now: of any thread, or (ofThisThread true) those the
// calling thread opened (tests: none is left behind). Any JS thread.
Napi::Value BridgeOpenCalls(const Napi::CallbackInfo& info) {
  Args args(info);
  std::optional<uint32_t> caller;
  if (args.Flag(0)) {
    const auto& reactor = args.OwnReactor();
    if (!args.ok()) return {};
    caller = reactor->id();
  }
  return Napi::Number::New(args.env(), static_cast<double>(Registry::Get().OpenCalls(caller)));
}

// bridgeShutdown(): the process is exiting. Wakes every parked caller with
// kReactorGone, and refuses later calls (sticky). Main thread, 'exit'.
Napi::Value BridgeShutdown(const Napi::CallbackInfo& info) {
  Args args(info);
  Registry::Get().WakeAllCalls(CallStatus::kReactorGone);
  return args.env().Undefined();
}

// poolParkedThreads(id, forMs?) -> how many of its threads wait in
// blocking calls (with forMs: in one call begun at least forMs ago). The
// pool's owner thread; 0 for a pool that is gone.
Napi::Value PoolParkedThreads(const Napi::CallbackInfo& info) {
  Args args(info);
  uint32_t pool_id = args.U32(0, "pool id");
  std::optional<double> for_ms = args.OptF64(1);
  if (!args.ok()) return {};
  uint64_t since = 0;
  if (for_ms) {
    uint64_t now = MonotonicNs();
    uint64_t span = static_cast<uint64_t>(*for_ms * 1e6);
    since = now > span ? now - span : 1;
  }
  return Napi::Number::New(args.env(),
                           Registry::Get().CallsOfPool(pool_id, since));
}

// poolWakeParked(id, status): ends its threads' blocking calls with
// `status`. The pool's owner thread.
Napi::Value PoolWakeParked(const Napi::CallbackInfo& info) {
  Args args(info);
  uint32_t pool_id = args.U32(0, "pool id");
  uint32_t status = args.U32(1, "status");
  if (!args.ok()) return {};
  Registry::Get().WakeCallsOfPool(pool_id, static_cast<CallStatus>(status));
  return args.env().Undefined();
}

// cpuMoves() -> [pool threads' moves, blocking callers' moves] off the
// CPU of the thread they wait for, in this process (Registry::CpuMoves).
// Any JS thread; for tests.
Napi::Value CpuMoves(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Registry& registry = Registry::Get();
  Napi::Array r = Napi::Array::New(env, 2);
  r.Set(0u, Napi::Number::New(env, static_cast<double>(registry.CpuMoves(Registry::CpuMove::kPoolThread))));
  r.Set(1u, Napi::Number::New(env, static_cast<double>(registry.CpuMoves(Registry::CpuMove::kBridgeCaller))));
  return r;
}

constexpr BindingEntry kBridgeBindings[] = {
    {"poolParkedThreads", PoolParkedThreads},
    {"poolWakeParked", PoolWakeParked},
    {"mainReactor", MainReactor},
    {"internFunction", InternFunction},
    {"internedFunction", InternedFunction},
    {"bridgePost", BridgePost},
    {"bridgeCall", BridgeCall},
    {"bridgeReply", BridgeReply},
    {"bridgeOpenWait", BridgeOpenWait},
    {"bridgeAdopt", BridgeAdopt},
    {"bridgeCloseWait", BridgeCloseWait},
    {"bridgeAwaitTask", BridgeAwaitTask},
    {"bridgeShutdown", BridgeShutdown},
    {"bridgeOpenCalls", BridgeOpenCalls},
    {"bridgeAttend", BridgeAttend},
    {"cpuMoves", CpuMoves},
};

}  // namespace

void RegisterBridgeBindings(Napi::Env env, Napi::Object exports) {
  AddBindings(env, exports, kBridgeBindings);
}

}  // namespace rt
