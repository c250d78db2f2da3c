// Bindings of the native thread pool (pool.h): the owner's side
// (src/pool/threadpool.ts: create, push, cancel, stop, counts...) and the pool
// threads' side (src/thread/worker.ts: attach, take, complete, requeue...). Each
// says which JS thread calls it. Argument checks: bindings.h. A binding a
// pool thread calls may outlive the pool (destroyed by its owner while the
// thread finishes): those look the pool up with PoolIfAny() and return
// their "gone" value quietly. Tests: test/threadpool-*.ts,
// test/thread-death.ts, test/cancellation.ts, test/affinity*.ts.
#include <algorithm>
#include <cstring>
#include <vector>

#include "batch.h"
#include "bindings.h"
#include "bridge.h"
#include "clock.h"
#include "env_state.h"
#include "loop_watch.h"
#include "registry.h"

namespace rt {
namespace {

Napi::Array IdArray(Napi::Env env, const std::vector<double>& ids) {
  Napi::Array out = Napi::Array::New(env, ids.size());
  for (uint32_t i = 0; i < ids.size(); ++i)
    out.Set(i, Napi::Number::New(env, ids[i]));
  return out;
}

Napi::Object HistogramObject(Napi::Env env, const Histogram& h) {
  Napi::Object o = Napi::Object::New(env);
  auto ms = [](double ns) { return ns / 1e6; };
  o.Set("count", static_cast<double>(h.count()));
  o.Set("min", ms(static_cast<double>(h.min())));
  o.Set("mean", ms(h.mean()));
  o.Set("p50", ms(static_cast<double>(h.Quantile(0.5))));
  o.Set("p99", ms(static_cast<double>(h.Quantile(0.99))));
  o.Set("max", ms(static_cast<double>(h.max())));
  return o;
}

// ---- the owner's side: the JS thread that created the pool ----

// poolCreate(min, max, quickTaskMs?) -> pool id. The calling environment
// owns the pool (CleanupEnv stops and removes it if poolDestroy never
// comes). quickTaskMs (tests only, through the pool's collaborators):
// below this mean run time a function's tasks are taken in batches;
// absent: Pool::kQuickTaskNs.
Napi::Value PoolCreate(const Napi::CallbackInfo& info) {
  Args args(info);
  EnvState* state = args.State();
  const auto& reactor = args.OwnReactor();
  uint32_t min = args.U32(0, "min");
  uint32_t max = args.U32(1, "max");
  std::optional<double> quick_ms = args.OptF64(2);
  args.Check(quick_ms || args.Length() < 3 || args[2].IsUndefined(),
             "quickTaskMs must be a number");
  // (NaN fails the comparison too.)
  args.Check(!quick_ms || (*quick_ms >= 0 && *quick_ms <= 1e9),
             "quickTaskMs out of range");
  if (!args.ok()) return {};
  uint64_t quick_ns =
      quick_ms ? static_cast<uint64_t>(*quick_ms * 1e6) : Pool::kQuickTaskNs;
  auto pool = Registry::Get().CreatePool(reactor, min, max, quick_ns);
  state->owned_pools.push_back(pool->id());
  return Napi::Number::New(args.env(), pool->id());
}

// poolDestroy(id): owner thread, once the pool is stopped and every
// thread has exited. Quiet if the pool is already gone.
Napi::Value PoolDestroy(const Napi::CallbackInfo& info) {
  Args args(info);
  EnvState* state = args.State();
  uint32_t id = args.U32(0, "pool id");
  if (!args.ok()) return {};
  Registry::Get().RemovePool(id);
  auto& owned = state->owned_pools;
  owned.erase(std::remove(owned.begin(), owned.end(), id), owned.end());
  return args.env().Undefined();
}

// poolDefine(id, descriptor) -> function id. Owner thread.
Napi::Value PoolDefine(const Napi::CallbackInfo& info) {
  Args args(info);
  auto pool = args.PoolArg(0);
  std::vector<uint8_t> descriptor = args.Bytes(1, "descriptor buffer");
  if (!args.ok()) return {};
  return Napi::Number::New(args.env(),
                           pool->DefineFunction(std::move(descriptor)));
}

// poolPush(id, taskId, fnId, payload, transfers, maxQueue, affinity?,
// target?) -> -1 when a waiting thread was woken, -2 when the queue is full
// (not queued), else the unmet demand (see Pool::Push). `target`, a
// Uint32Array, marks a task whose buffers move by port (Task::moves_by_port);
// target[0] gets the thread chosen for it (0: none), where the owner sends
// them ahead: their message wakes a thread chosen asleep, which then takes
// (src/thread/moved-buffers.ts). When the owner keeps them instead, it
// calls poolWake, which wakes that thread only if it was chosen asleep
// (one about to take needs no wake-up). Owner thread.
Napi::Value PoolPush(const Napi::CallbackInfo& info) {
  Args args(info);
  auto pool = args.PoolArg(0);
  double task_id = args.F64(1, "task id");
  uint32_t fn_id = args.U32(2, "function id");
  uint32_t max_queue = args.OptU32(5).value_or(UINT32_MAX);
  std::optional<std::string> affinity = args.OptString(6);
  Napi::Uint32Array target_out;
  if (args.Length() > 7 && !args[7].IsUndefined()) {
    if (!args.Check(args[7].IsTypedArray() &&
                        args[7].As<Napi::TypedArray>().TypedArrayType() == napi_uint32_array &&
                        args[7].As<Napi::TypedArray>().ElementLength() >= 1,
                    "target Uint32Array expected"))
      return {};
    target_out = args[7].As<Napi::Uint32Array>();
  }
  if (!args.ok()) return {};
  Task task{task_id, fn_id, 0, false, false, false, Frame{}, MonotonicNs()};
  task.moves_by_port = !target_out.IsEmpty();
  Moved moved;
  if (!ReadFrame(args, 3, 4, &task.frame, &moved)) return {};
  uint32_t target = 0;
  uint32_t* want = task.moves_by_port ? &target : nullptr;
  // The pool takes the task unless it returns -2; a refused task is freed
  // here, with its copies of the moved buffers.
  int64_t r = affinity ? pool->PushPinned(std::move(task), *affinity, max_queue, want)
                       : pool->Push(std::move(task), max_queue, want);
  if (want) target_out[0] = target;
  if (r != -2) Detach(args.env(), moved);  // -2: refused, nothing was queued
  return Napi::Number::New(args.env(), static_cast<double>(r));
}

// poolPushBatch(id, batch, count, maxQueue, accepted) -> the demand when
// positive, else -1 when a waiting thread was woken, else 0
// (Pool::PushBatch). `batch` holds
// `count` tasks, each: f64 task id | u32 function id | u32 byte length |
// payload (src/pool/staging.ts writes it); accepted[0] (a Uint32Array)
// gets how many were queued, in order: the rest were refused (queue full)
// and are freed here. Owner thread.
Napi::Value PoolPushBatch(const Napi::CallbackInfo& info) {
  Args args(info);
  auto pool = args.PoolArg(0);
  uint32_t count = args.U32(2, "count");
  uint32_t max_queue = args.U32(3, "maxQueue");
  if (!args.Check(args.Length() > 1 && args[1].IsBuffer(), "batch buffer expected") ||
      !args.Check(args.Length() > 4 && args[4].IsTypedArray() &&
                      args[4].As<Napi::TypedArray>().TypedArrayType() == napi_uint32_array &&
                      args[4].As<Napi::TypedArray>().ElementLength() >= 1,
                  "accepted Uint32Array expected"))
    return {};
  if (!args.ok()) return {};
  auto batch = args[1].As<Napi::Buffer<uint8_t>>();
  const uint8_t* p = batch.Data();
  const uint8_t* end = p + batch.Length();
  std::vector<Task> tasks;
  tasks.reserve(count);
  uint64_t now = MonotonicNs();
  for (uint32_t i = 0; i < count; ++i) {
    if (!args.Check(end - p >= 16, "batch shorter than its count")) return {};
    double id;
    uint32_t fn_id, len;
    std::memcpy(&id, p, 8);
    std::memcpy(&fn_id, p + 8, 4);
    std::memcpy(&len, p + 12, 4);
    p += 16;
    if (!args.Check(static_cast<size_t>(end - p) >= len, "batch shorter than its lengths")) return {};
    Task& t = tasks.emplace_back(Task{id, fn_id, 0, false, false, false, Frame{}, now});
    t.frame.bytes.assign(p, p + len);
    p += len;
  }
  uint32_t accepted = 0;
  int64_t r = pool->PushBatch(tasks, max_queue, &accepted);
  args[4].As<Napi::Uint32Array>()[0] = accepted;
  return Napi::Number::New(args.env(), static_cast<double>(r));
}

// poolWant(id, threadId, taskId, op) -> bool: the hand-over of buffers a
// thread asked for by port (Pool::WantBuffers). op 0: the pool thread
// asks (false); 1: the owner claims the ask before it sends them (false:
// no longer wanted); 2: the pool thread ends its ask (true: they were
// claimed, so they are on their way); 3: the pool thread posted to the
// owner's port (an ask, or buffers going back), so an owner parked in
// blockingCallInThread reads it (Registry::AttendCallsOf; false). Quiet
// once the pool is gone.
Napi::Value PoolWant(const Napi::CallbackInfo& info) {
  Args args(info);
  auto pool = args.PoolIfAny(0);
  uint32_t thread_id = args.U32(1, "thread id");
  double task_id = args.F64(2, "task id");
  uint32_t op = args.U32(3, "op");
  if (!args.ok()) return {};
  bool r = false;
  if (pool) {
    if (op == 0) pool->WantBuffers(thread_id, task_id);
    else if (op == 3) Registry::Get().AttendCallsOf(pool->OwnerReactor());
    else if (op == 1) r = pool->ClaimWant(thread_id, task_id);
    else r = pool->DropWant(thread_id, task_id);
  }
  return Napi::Boolean::New(args.env(), r);
}

// poolWake(id, threadId): signals the thread a poolPush with a target
// chose, if it was chosen asleep (Pool::WakeThread; else it takes the task
// without one); one gone meanwhile: the next waiter, or the owner's
// demand. Owner thread.
Napi::Value PoolWake(const Napi::CallbackInfo& info) {
  Args args(info);
  auto pool = args.PoolArg(0);
  uint32_t thread_id = args.U32(1, "thread id");
  if (!args.ok()) return {};
  pool->WakeThread(thread_id);
  return args.env().Undefined();
}

// poolCancel(id, taskId, queuedOnly?) -> 1 when the task was still queued
// (now removed), threadId + 1 when a thread holds it (told to abort it), 0
// when neither (it completed, or the pool is gone). Owner thread.
Napi::Value PoolCancel(const Napi::CallbackInfo& info) {
  Args args(info);
  auto pool = args.PoolIfAny(0);
  double task_id = args.F64(1, "task id");
  bool queued_only = args.Flag(2);
  if (!args.ok()) return {};
  if (!pool) return Napi::Number::New(args.env(), 0);
  return Napi::Number::New(args.env(), pool->Cancel(task_id, queued_only));
}

// poolTakenAt(id, taskId) -> ms (monotonic) when a thread took the task;
// 0 while it is queued, once it completed, or once the pool is gone.
// Owner thread.
Napi::Value PoolTakenAt(const Napi::CallbackInfo& info) {
  Args args(info);
  auto pool = args.PoolIfAny(0);
  double task_id = args.F64(1, "task id");
  if (!args.ok()) return {};
  uint64_t ns = pool ? pool->TakenAt(task_id) : 0;
  return Napi::Number::New(args.env(), static_cast<double>(ns) / 1e6);
}

// now() -> ms on the same monotonic clock as poolTakenAt. Any JS thread.
Napi::Value NowMs(const Napi::CallbackInfo& info) {
  Args args(info);
  return Napi::Number::New(args.env(),
                           static_cast<double>(MonotonicNs()) / 1e6);
}

// poolAddThread(id) -> the id of a thread about to be started. Owner
// thread.
Napi::Value PoolAddThread(const Napi::CallbackInfo& info) {
  Args args(info);
  auto pool = args.PoolArg(0);
  if (!args.ok()) return {};
  return Napi::Number::New(args.env(), pool->AddThread());
}

// poolRemoveThread(id, threadId) -> { died: ids of the tasks that died
// with the thread, requeued: how many it had not started (back in the
// queue), attached: whether it ever attached (false: died while
// starting), reactor: its reactor's id, the sender of its messages (0 if
// it never attached) }. Owner thread, once the thread has exited (its
// OS thread joined: the Worker's 'exit' event; pool.h says why); an
// empty result once the pool is gone.
Napi::Value PoolRemoveThread(const Napi::CallbackInfo& info) {
  Args args(info);
  auto pool = args.PoolIfAny(0);
  uint32_t thread_id = args.U32(1, "thread id");
  if (!args.ok()) return {};
  Napi::Env env = args.env();
  bool attached = false;
  uint32_t requeued = 0;
  uint32_t reactor = 0;
  std::vector<double> died;
  if (pool) died = pool->RemoveThread(thread_id, &attached, &requeued, &reactor);
  Napi::Object out = Napi::Object::New(env);
  out.Set("died", IdArray(env, died));
  out.Set("requeued", requeued);
  out.Set("attached", attached);
  out.Set("reactor", reactor);
  return out;
}

// poolClearQueue(id) -> ids of the queued tasks, now removed. Owner
// thread.
Napi::Value PoolClearQueue(const Napi::CallbackInfo& info) {
  Args args(info);
  auto pool = args.PoolArg(0);
  if (!args.ok()) return {};
  return IdArray(args.env(), pool->ClearQueue());
}

// poolStop(id, drain) -> ids of the queued tasks removed (none when
// draining). Owner thread.
Napi::Value PoolStop(const Napi::CallbackInfo& info) {
  Args args(info);
  auto pool = args.PoolArg(0);
  bool drain = args.Flag(1);
  if (!args.ok()) return {};
  auto removed = pool->Stop(drain);
  // Its threads' blocking calls end now, with a typed error.
  Registry::Get().WakeCallsOfStoppedPool(pool->id());
  return IdArray(args.env(), removed);
}

// poolSetBounds(id, min, max). Owner thread.
Napi::Value PoolSetBounds(const Napi::CallbackInfo& info) {
  Args args(info);
  auto pool = args.PoolArg(0);
  uint32_t min = args.U32(1, "min");
  uint32_t max = args.U32(2, "max");
  if (!args.ok()) return {};
  pool->SetBounds(min, max);
  return args.env().Undefined();
}

// poolCounts(id) -> the live counts, as a fresh object. Owner thread.
Napi::Value PoolCountsJs(const Napi::CallbackInfo& info) {
  Args args(info);
  auto pool = args.PoolArg(0);
  if (!args.ok()) return {};
  PoolCounts c = pool->Counts();
  Napi::Object o = Napi::Object::New(args.env());
  o.Set("threads", c.threads);
  o.Set("busy", c.busy);
  o.Set("idle", c.idle);
  o.Set("queued", c.queued);
  o.Set("submitted", c.submitted);
  o.Set("completed", c.completed);
  o.Set("failed", c.failed);
  o.Set("functions", c.functions);
  o.Set("affinityKeys", c.affinity_keys);
  return o;
}

// poolTimes(id) -> { queueWait, run }: each { count, min, mean, p50, p99,
// max } in ms. Owner thread.
Napi::Value PoolTimesJs(const Napi::CallbackInfo& info) {
  Args args(info);
  auto pool = args.PoolArg(0);
  if (!args.ok()) return {};
  PoolTimes t = pool->Times();
  Napi::Object o = Napi::Object::New(args.env());
  o.Set("queueWait", HistogramObject(args.env(), t.queue_wait));
  o.Set("run", HistogramObject(args.env(), t.run));
  return o;
}

// ---- the pool threads' side: a Worker of the pool, about itself ----

// poolGetFunction(id, fnId) -> Buffer | undefined. A pool thread.
Napi::Value PoolGetFunction(const Napi::CallbackInfo& info) {
  Args args(info);
  auto pool = args.PoolArg(0);
  uint32_t fn_id = args.U32(1, "function id");
  if (!args.ok()) return {};
  auto bytes = pool->GetFunction(fn_id);
  if (bytes.empty()) return args.env().Undefined();
  return Napi::Buffer<uint8_t>::Copy(args.env(), bytes.data(), bytes.size());
}

// poolAttach(id, threadId): the pool thread binds its own reactor, and its
// loop is watched from now on (loop_watch.h), before it first waits.
Napi::Value PoolAttach(const Napi::CallbackInfo& info) {
  Args args(info);
  auto pool = args.PoolArg(0);
  const auto& reactor = args.OwnReactor();
  uint32_t thread_id = args.U32(1, "thread id");
  if (!args.ok()) return {};
  EnvState* state = State(args.env());
  if (!state->loop_watched) state->loop_watched = LoopWatch::Start(args.env(), reactor);
  pool->AttachThread(thread_id, reactor);
  return args.env().Undefined();
}

// poolThreadStarting(id, threadId): this environment is that pool
// thread; its teardown marks it gone (MarkPoolThread). The pool thread,
// first thing: src/thread/starting.ts, before the preloads of its
// execArgv, and its entry, before the pool's preloads.
Napi::Value PoolThreadStarting(const Napi::CallbackInfo& info) {
  Args args(info);
  uint32_t pool_id = args.U32(0, "pool id");
  uint32_t thread_id = args.U32(1, "thread id");
  if (!args.ok()) return {};
  MarkPoolThread(args.env(), State(args.env()), pool_id, thread_id);
  return args.env().Undefined();
}

// poolGoneThreads(id) -> how many of its threads are gone, their exits
// not seen yet (Pool::GoneCount). Owner thread; 0 for a pool that is gone.
Napi::Value PoolGoneThreads(const Napi::CallbackInfo& info) {
  Args args(info);
  auto pool = args.PoolIfAny(0);
  if (!args.ok()) return {};
  return Napi::Number::New(args.env(), pool ? pool->GoneCount() : 0);
}

// poolThreadAttached(id, threadId) -> whether the thread attached (false
// while it starts: its preloads and onThreadStart run). Owner thread.
Napi::Value PoolThreadAttached(const Napi::CallbackInfo& info) {
  Args args(info);
  auto pool = args.PoolIfAny(0);
  uint32_t thread_id = args.U32(1, "thread id");
  if (!args.ok()) return {};
  return Napi::Boolean::New(args.env(), pool && pool->IsAttached(thread_id));
}

// poolThreadGone(id, threadId) -> whether the thread's environment is gone
// or it was removed (Pool::IsGone): everything it posted has arrived. True
// once the pool is gone. Owner thread (parked in blockingCallInThread,
// which cannot see the thread's exit: src/pool/moved-buffers.ts).
Napi::Value PoolThreadGone(const Napi::CallbackInfo& info) {
  Args args(info);
  auto pool = args.PoolIfAny(0);
  uint32_t thread_id = args.U32(1, "thread id");
  if (!args.ok()) return {};
  return Napi::Boolean::New(args.env(), !pool || pool->IsGone(thread_id));
}

// poolTake(id, threadId, max, spinNs, paysWithinNs, answeredBlocking?,
// scratch?) -> Uint8Array | [Uint8Array, ArrayBuffer[]] when tasks were
// taken (a view of `scratch`, a Uint8Array of the thread's, when they fit
// in it: WriteTaskBatch), 0 when none (the thread is now waiting), 1 when
// the pool is stopping (or gone) and nothing is left for this thread, 2
// when this thread is surplus to the pool's max and must exit, 3 when it
// took none and left queued work to a sibling about to take (it waits as
// for 0, and should look again soon: TakeResult::kLeft). A pool
// thread. It may spin (up to spinNs, while spinning has paid for this
// thread lately, counting pushes within paysWithinNs of its start:
// Pool::Take); answeredBlocking: its last task answered a
// blockingCallInThread (Pool::LeaveOwnerCpu first). Its Worker may be
// terminating when it writes.
Napi::Value PoolTake(const Napi::CallbackInfo& info) {
  Args args(info);
  auto pool = args.PoolIfAny(0);
  uint32_t thread_id = args.U32(1, "thread id");
  uint32_t max = args.U32(2, "max");
  double spin_ns = args.F64(3, "spinNs");
  double pays_within_ns = args.F64(4, "paysWithinNs");
  bool answered_blocking = args.Flag(5);
  if (!args.ok()) return {};
  Napi::Env env = args.env();
  Scratch scratch = args.Length() > 6 ? ReadScratch(env, args[6]) : Scratch{};
  if (!pool) return Napi::Number::New(env, 1);
  if (answered_blocking && spin_ns > 0 && pool->LeaveOwnerCpu(thread_id)) {
    Registry::Get().CountCpuMove(Registry::CpuMove::kPoolThread);
  }
  // The taken tasks are this thread's now (Task in pool.h); they are
  // freed when this vector goes, once written to JS.
  std::vector<Task> tasks;
  TakeResult r =
      pool->Take(thread_id, max, static_cast<uint64_t>(spin_ns),
                 static_cast<uint64_t>(pays_within_ns), &tasks);
  if (r == TakeResult::kNone) return Napi::Number::New(env, 0);
  if (r == TakeResult::kStopping) return Napi::Number::New(env, 1);
  if (r == TakeResult::kRetire) return Napi::Number::New(env, 2);
  if (r == TakeResult::kLeft) return Napi::Number::New(env, 3);
  Batch out;
  bool any_transfers = false;
  for (auto& t : tasks)
    any_transfers = any_transfers || !t.frame.transfers.empty();
  if (!WriteTaskBatch(env, tasks, scratch, &out)) {
    // N-API refused: this thread is going away. "Stopping" makes it exit.
    // The tasks it just took never started; the owner's poolRemoveThread
    // settles them once the thread has exited (Pool::RemoveThread: as the
    // oldest unmarked task, the first of them counts as running and dies
    // with the thread; the others are re-queued if they can re-run).
    return QuietU32(env, 1);
  }
  if (!any_transfers) return Napi::Value(env, out.buffer);
  Napi::Array pair = Napi::Array::New(env, 2);
  QuietSet(env, pair, 0, out.buffer);
  QuietSet(env, pair, 1, out.transfers);
  return pair;
}

// poolTaskStarted(id, threadId, taskId): the task went async in its
// thread. A pool thread; quiet once the pool is gone.
Napi::Value PoolTaskStarted(const Napi::CallbackInfo& info) {
  Args args(info);
  auto pool = args.PoolIfAny(0);
  uint32_t thread_id = args.U32(1, "thread id");
  double task_id = args.F64(2, "task id");
  if (!args.ok()) return {};
  if (pool) pool->MarkStarted(thread_id, task_id);
  return args.env().Undefined();
}

// poolTaskLoading(id, threadId, taskId, loading): the task this thread
// starts next waits for its function to load (or no longer does). A pool
// thread; quiet once the pool is gone.
Napi::Value PoolTaskLoading(const Napi::CallbackInfo& info) {
  Args args(info);
  auto pool = args.PoolIfAny(0);
  uint32_t thread_id = args.U32(1, "thread id");
  double task_id = args.F64(2, "task id");
  bool loading = args.Flag(3);
  if (!args.ok()) return {};
  if (pool) pool->MarkLoading(thread_id, task_id, loading);
  return args.env().Undefined();
}

// poolComplete(id, threadId, taskId, status, payload, transfers?,
// holdResult?, quiet?) -> accepted (false: the owner's reactor or the pool is
// gone; the result is dropped and the moved buffers stay). With
// holdResult the pool keeps the result until poolReleaseResult (the
// thread holds it behind its console output). With quiet it does not wake
// the owner (the thread does, by port). A pool thread.
Napi::Value PoolComplete(const Napi::CallbackInfo& info) {
  Args args(info);
  auto pool = args.PoolIfAny(0);
  uint32_t thread_id = args.U32(1, "thread id");
  double task_id = args.F64(2, "task id");
  uint32_t status = args.U32(3, "status");
  bool hold_result = args.Flag(6);
  bool quiet = args.Flag(7);
  if (!args.ok()) return {};
  if (!pool) return Napi::Boolean::New(args.env(), false);
  Frame frame;
  Moved moved;
  if (!ReadFrame(args, 4, 5, &frame, &moved)) return {};
  bool ok = pool->Complete(thread_id, task_id, status, std::move(frame), hold_result, quiet);
  if (ok) Detach(args.env(), moved);
  return Napi::Boolean::New(args.env(), ok);
}

// poolAnswer(id, threadId, taskId, status, callId, replyStatus, payload,
// transfers?, holdResult?) -> whether the caller took the reply (false: it
// left, a timeout; the moved buffers stay). A blockingCallInThread task
// ended: its end (`status`, no bytes) goes to the pool as poolComplete's
// does, held with holdResult, and then its outcome to the caller's reply
// slot `callId`. One call, so a thread terminated in between cannot leave
// a completed task unanswered, and the pool counts this thread as coming
// back for more (ThreadRecord::returning) before the woken caller queues
// its next call. A pool thread; the reply goes even when the pool is gone.
Napi::Value PoolAnswer(const Napi::CallbackInfo& info) {
  Args args(info);
  auto pool = args.PoolIfAny(0);
  uint32_t thread_id = args.U32(1, "thread id");
  double task_id = args.F64(2, "task id");
  uint32_t status = args.U32(3, "status");
  double call_id = args.F64(4, "call id");
  uint32_t reply_status = args.U32(5, "reply status");
  bool hold_result = args.Flag(8);
  if (!args.ok()) return {};
  Frame reply;
  Moved moved;
  if (!ReadFrame(args, 6, 7, &reply, &moved)) return {};
  if (pool) pool->Complete(thread_id, task_id, status, Frame{}, hold_result, false);
  auto slot = Registry::Get().FindCall(static_cast<uint64_t>(call_id));
  // (Before the answer: its caller waits on this thread no more, and this
  // thread may call it at once: Registry::Answering.)
  if (slot) Registry::Get().Answering(slot);
  bool ok = slot && slot->Resolve(static_cast<CallStatus>(reply_status), std::move(reply));
  if (ok) Detach(args.env(), moved);
  return Napi::Boolean::New(args.env(), ok);
}

// poolReleaseResult(id, threadId, taskId) -> posted: a result that
// poolComplete held goes to the owner. A pool thread; quiet once the pool
// is gone.
Napi::Value PoolReleaseResult(const Napi::CallbackInfo& info) {
  Args args(info);
  auto pool = args.PoolIfAny(0);
  uint32_t thread_id = args.U32(1, "thread id");
  double task_id = args.F64(2, "task id");
  if (!args.ok()) return {};
  return Napi::Boolean::New(args.env(), pool && pool->ReleaseResult(thread_id, task_id));
}

// poolHoldPost(id, threadId, target, refKind, ref, payload, transfers?,
// mayWait?) -> held: a call this pool thread posts (callFromThread, as
// bridgePost's arguments) while results of its are held behind its
// console output is kept by the pool, in order with them
// (Pool::HoldPost): posted by poolReleasePost, or with them if the thread
// is terminated first. Its moved buffers are detached now, as a post's.
// False when the pool or the thread's record is gone: nothing was kept,
// and the caller posts it now. A pool thread.
Napi::Value PoolHoldPost(const Napi::CallbackInfo& info) {
  Args args(info);
  const auto& reactor = args.OwnReactor();
  auto pool = args.PoolIfAny(0);
  uint32_t thread_id = args.U32(1, "thread id");
  uint32_t target = args.U32(2, "target reactor id");
  uint32_t ref_kind = args.U32(3, "ref kind");
  uint32_t ref = args.U32(4, "ref");
  bool may_wait = args.Flag(7);
  if (!args.ok()) return {};
  if (!pool) return Napi::Boolean::New(args.env(), false);
  Frame frame;
  Moved moved;
  if (!ReadFrame(args, 5, 6, &frame, &moved)) return {};
  bool held = pool->HoldPost(thread_id, target, may_wait,
                             Message{MessageKind::kCall, ref_kind, ref, 0, std::move(frame), reactor->id()});
  if (held) Detach(args.env(), moved);
  return Napi::Boolean::New(args.env(), held);
}

// poolReleasePost(id, threadId) -> posted: the oldest call poolHoldPost
// kept goes to its reactor now, waiting for room as bridgePost does
// (false: none was held, or its reactor is gone). A pool thread.
Napi::Value PoolReleasePost(const Napi::CallbackInfo& info) {
  Args args(info);
  const auto& reactor = args.OwnReactor();
  auto pool = args.PoolIfAny(0);
  uint32_t thread_id = args.U32(1, "thread id");
  if (!args.ok()) return {};
  uint32_t target_id = 0;
  bool may_wait = false;
  Message message{};
  if (!pool || !pool->ReleasePost(thread_id, &target_id, &may_wait, &message))
    return Napi::Boolean::New(args.env(), false);
  return Napi::Boolean::New(args.env(), PostCall(reactor->id(), target_id, may_wait, std::move(message),
                                                 [env = args.env()] { return CanRunJs(env); }));
}

// poolRequeue(id, threadId, tasks, parking): a pool thread hands back the
// tasks it took but has not started, in take order, about to park in a
// blocking call or not (the pool owns them again, Pool::Requeue). Each is
// [taskId, fnId, payload, transfers?, movesByPort?]. Quiet once the pool
// is gone.
Napi::Value PoolRequeue(const Napi::CallbackInfo& info) {
  Args args(info);
  auto pool = args.PoolIfAny(0);
  uint32_t thread_id = args.U32(1, "thread id");
  if (!args.Check(args.Length() > 2 && args[2].IsArray(), "tasks array expected")) return {};
  bool parking = args.Flag(3);
  if (!args.ok()) return {};
  if (!pool) return args.env().Undefined();
  auto list = args[2].As<Napi::Array>();
  std::vector<Task> tasks;
  tasks.reserve(list.Length());
  Moved moved;
  uint64_t now = MonotonicNs();
  for (uint32_t i = 0; i < list.Length(); ++i) {
    // Raw, as in ReadFrame: a terminating Worker refuses to run JS, and
    // the hand-back is dropped with the thread (its death requeues them).
    napi_value raw = nullptr;
    if (napi_get_element(args.env(), list, i, &raw) != napi_ok) return {};
    Napi::Value item(args.env(), raw);
    if (!args.Check(item.IsArray(), "[taskId, fnId, payload, transfers?, movesByPort?] expected")) return {};
    napi_value fields[5] = {};
    for (uint32_t f = 0; f < 5; ++f) {
      if (napi_get_element(args.env(), item, f, &fields[f]) != napi_ok) return {};
    }
    Napi::Value task_id(args.env(), fields[0]), fn_id(args.env(), fields[1]);
    if (!args.Check(task_id.IsNumber() && fn_id.IsNumber(), "task id and function id expected")) return {};
    Task& task = tasks.emplace_back(Task{task_id.As<Napi::Number>().DoubleValue(),
                                         fn_id.As<Napi::Number>().Uint32Value(), 0, false, false, false, Frame{}, now});
    Napi::Value moves_by_port(args.env(), fields[4]);
    // (Not coerced: napi_coerce_to_bool is refused in a terminating Worker; see Args::Flag.)
    task.moves_by_port = moves_by_port.IsBoolean() && moves_by_port.As<Napi::Boolean>().Value();
    if (!ReadFrameFrom(args, Napi::Value(args.env(), fields[2]), Napi::Value(args.env(), fields[3]),
                       &task.frame, &moved))
      return {};
  }
  pool->Requeue(thread_id, std::move(tasks), parking);
  Detach(args.env(), moved);
  return args.env().Undefined();
}

// A pool thread's notice about itself, poolX(id, threadId), calling
// Pool::X; quiet once the pool is gone:
// - poolRecycle: it exits once its tasks in flight are done; it takes no
//   more (Pool::Recycle);
// - poolBudgetSpent: it took the last task its maxTasksPerThread allows;
//   no new affinity key binds to it (Pool::BudgetSpent);
// - poolStepAway: it goes back to its event loop before taking more
//   (Pool::StepAway).
template <void (Pool::*Notice)(uint32_t)>
Napi::Value PoolThreadNotice(const Napi::CallbackInfo& info) {
  Args args(info);
  auto pool = args.PoolIfAny(0);
  uint32_t thread_id = args.U32(1, "thread id");
  if (!args.ok()) return {};
  if (pool) ((*pool).*Notice)(thread_id);
  return args.env().Undefined();
}

// poolTryRetire(id, threadId) -> whether this idle pool thread may exit
// (true once the pool is gone).
Napi::Value PoolTryRetire(const Napi::CallbackInfo& info) {
  Args args(info);
  auto pool = args.PoolIfAny(0);
  uint32_t thread_id = args.U32(1, "thread id");
  if (!args.ok()) return {};
  if (!pool) return Napi::Boolean::New(args.env(), true);
  return Napi::Boolean::New(args.env(), pool->TryRetire(thread_id));
}

// poolMayHandBack(id, threadId) -> whether this pool thread may hand back
// the unstarted rest of a batch that runs long, and to whom: 0 no, 1 to
// its siblings, 2 to itself (Pool::MayHandBack; 0 once the pool is gone).
Napi::Value PoolMayHandBack(const Napi::CallbackInfo& info) {
  Args args(info);
  auto pool = args.PoolIfAny(0);
  uint32_t thread_id = args.U32(1, "thread id");
  if (!args.ok()) return {};
  auto answer = pool ? pool->MayHandBack(thread_id) : Pool::HandBack::kNo;
  return Napi::Number::New(args.env(), static_cast<uint32_t>(answer));
}

constexpr BindingEntry kPoolBindings[] = {
    {"poolCreate", PoolCreate},
    {"poolDestroy", PoolDestroy},
    {"poolDefine", PoolDefine},
    {"poolGetFunction", PoolGetFunction},
    {"poolPush", PoolPush},
    {"poolWake", PoolWake},
    {"poolPushBatch", PoolPushBatch},
    {"poolWant", PoolWant},
    {"poolCancel", PoolCancel},
    {"poolClearQueue", PoolClearQueue},
    {"poolTakenAt", PoolTakenAt},
    {"now", NowMs},
    {"poolAddThread", PoolAddThread},
    {"poolRemoveThread", PoolRemoveThread},
    {"poolThreadAttached", PoolThreadAttached},
    {"poolThreadGone", PoolThreadGone},
    {"poolAttach", PoolAttach},
    {"poolThreadStarting", PoolThreadStarting},
    {"poolGoneThreads", PoolGoneThreads},
    {"poolTake", PoolTake},
    {"poolComplete", PoolComplete},
    {"poolAnswer", PoolAnswer},
    {"poolReleaseResult", PoolReleaseResult},
    {"poolHoldPost", PoolHoldPost},
    {"poolReleasePost", PoolReleasePost},
    {"poolTryRetire", PoolTryRetire},
    {"poolRecycle", PoolThreadNotice<&Pool::Recycle>},
    {"poolBudgetSpent", PoolThreadNotice<&Pool::BudgetSpent>},
    {"poolStepAway", PoolThreadNotice<&Pool::StepAway>},
    {"poolRequeue", PoolRequeue},
    {"poolMayHandBack", PoolMayHandBack},
    {"poolTaskStarted", PoolTaskStarted},
    {"poolTaskLoading", PoolTaskLoading},
    {"poolStop", PoolStop},
    {"poolSetBounds", PoolSetBounds},
    {"poolCounts", PoolCountsJs},
    {"poolTimes", PoolTimesJs},
};

}  // namespace

void RegisterPoolBindings(Napi::Env env, Napi::Object exports) {
  AddBindings(env, exports, kPoolBindings);
}

}  // namespace rt
