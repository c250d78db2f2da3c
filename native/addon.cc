// The N-API boundary: turns JS calls into calls on the native core and back.
// Every function here runs on the JS thread that called it; the state it
// touches per environment lives in EnvState (freed by the cleanup hook), the
// process-wide state in the Registry. Only this file knows about napi_value.
// Tests: every test/*.ts exercises it through src/native.ts.
#include <napi.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <vector>

#include "clock.h"
#include "registry.h"

namespace rt {
namespace {

// Per-environment state: one per JS thread that loaded the addon.
// Main thread only (of its environment). Freed by Node with the instance data.
struct EnvState {
  std::shared_ptr<Reactor> reactor;  // set by init()
  std::vector<uint32_t> owned_pools;
  bool torn_down = false;
};

EnvState* State(Napi::Env env) { return env.GetInstanceData<EnvState>(); }

// The checks every binding opens with: the env is initialised, arguments
// have the types src/native.ts promises. A failure is a bug in our JS.
bool Check(const Napi::CallbackInfo& info, bool cond, const char* what) {
  if (cond) return true;
  Napi::TypeError::New(info.Env(), std::string("reactor-threads native: ") + what)
      .ThrowAsJavaScriptException();
  return false;
}

std::shared_ptr<Pool> PoolArg(const Napi::CallbackInfo& info, size_t i) {
  if (!Check(info, info.Length() > i && info[i].IsNumber(), "pool id expected"))
    return nullptr;
  auto pool = Registry::Get().FindPool(info[i].As<Napi::Number>().Uint32Value());
  Check(info, pool != nullptr, "unknown pool");
  return pool;
}

uint32_t U32(const Napi::CallbackInfo& info, size_t i) {
  return info[i].As<Napi::Number>().Uint32Value();
}

// The ArrayBuffers whose contents a Frame took (see ReadFrame). Handles
// of the current call: valid until the binding returns.
using Moved = std::vector<Napi::ArrayBuffer>;

// Copies a Buffer argument into a Frame, and the listed ArrayBuffers into
// its transfers: each is copied once into native memory and listed in
// *moved. Nothing is detached yet: the binding calls Detach(moved) once
// the core accepted the frame (queued or posted it), so that a call
// refused before that (a full queue, a stopped pool, a call that would
// deadlock, a reactor gone) leaves the sender's buffers whole.
bool ReadFrame(const Napi::CallbackInfo& info, size_t bytes_at,
               size_t transfers_at, Frame* frame, Moved* moved) {
  if (!Check(info, info.Length() > bytes_at && info[bytes_at].IsBuffer(),
             "payload buffer expected"))
    return false;
  auto buf = info[bytes_at].As<Napi::Buffer<uint8_t>>();
  frame->bytes.assign(buf.Data(), buf.Data() + buf.Length());
  if (info.Length() <= transfers_at || !info[transfers_at].IsArray()) return true;
  auto list = info[transfers_at].As<Napi::Array>();
  frame->transfers.reserve(list.Length());
  for (uint32_t i = 0; i < list.Length(); ++i) {
    Napi::Value v = list.Get(i);
    if (!Check(info, v.IsArrayBuffer(), "transfer list holds ArrayBuffers"))
      return false;
    auto ab = v.As<Napi::ArrayBuffer>();
    frame->transfers.emplace_back(ab.Data(), ab.ByteLength());
    moved->push_back(ab);
  }
  return true;
}

// The frame was accepted: the sender can no longer touch what the
// receiver now owns. A buffer that cannot be detached (WebAssembly
// memory, say) was copied and is left to its owner: moving is a request,
// not a promise.
void Detach(napi_env env, const Moved& moved) {
  for (auto& ab : moved) napi_detach_arraybuffer(env, ab);
}

void FreeBlock(napi_env, void* data, void*) { std::free(data); }

// Hands a moved block to JS as an ArrayBuffer without copying it again.
// Raw N-API, like everything on the wake-up path: false on failure (the
// environment is going away), never a throw, which node-addon-api would
// turn into an abort there.
bool ToArrayBuffer(napi_env env, OwnedBlock& block, napi_value* out) {
  size_t len = block.size();
  uint8_t* data = block.Release();
  if (napi_create_external_arraybuffer(env, data, len, FreeBlock, nullptr, out) == napi_ok)
    return true;
  // Runtimes that forbid external buffers: one more copy.
  void* copy = nullptr;
  bool ok = napi_create_arraybuffer(env, len, &copy, out) == napi_ok;
  if (ok && len) std::memcpy(copy, data, len);
  std::free(data);
  return ok;
}

void PutU32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }
void PutF64(uint8_t* p, double v) { std::memcpy(p, &v, 8); }

// Inbox batch layout, per message (little endian; src/wire.ts reads it):
//   f64 id | u32 kind | u32 status | u32 ref | u32 byte length |
//   u32 transfer count | u32 sender | payload bytes
constexpr size_t kMessageHeader = 32;
// Task batch layout, per task:
//   f64 task id | u32 function id | u32 byte length | u32 transfer count |
//   u32 reserved | payload bytes
constexpr size_t kTaskHeader = 24;

// A batch for JS: one Buffer of [header | payload] records, plus the moved
// ArrayBuffers of all records in order (undefined when there are none).
// `frame_of(item)` gives an item's Frame; `write_header(item, p)` writes
// its `header_size` bytes of header at p. Raw N-API: false on failure.
struct Batch {
  napi_value buffer;
  napi_value transfers;
};

template <typename Items, typename FrameOf, typename WriteHeader>
bool WriteBatch(napi_env env, Items& items, size_t header_size,
                FrameOf frame_of, WriteHeader write_header, Batch* out) {
  size_t total = 0, ntransfers = 0;
  for (auto& item : items) {
    Frame& f = frame_of(item);
    total += header_size + f.bytes.size();
    ntransfers += f.transfers.size();
  }
  void* data = nullptr;
  if (napi_create_buffer(env, total, &data, &out->buffer) != napi_ok) return false;
  if (napi_get_undefined(env, &out->transfers) != napi_ok) return false;
  if (ntransfers &&
      napi_create_array_with_length(env, ntransfers, &out->transfers) != napi_ok)
    return false;
  uint8_t* p = static_cast<uint8_t*>(data);
  uint32_t ai = 0;
  for (auto& item : items) {
    Frame& f = frame_of(item);
    write_header(item, p);
    p += header_size;
    if (!f.bytes.empty()) std::memcpy(p, f.bytes.data(), f.bytes.size());
    p += f.bytes.size();
    for (auto& block : f.transfers) {
      napi_value ab;
      if (!ToArrayBuffer(env, block, &ab) ||
          napi_set_element(env, out->transfers, ai++, ab) != napi_ok)
        return false;
    }
  }
  return true;
}

// Drains `reactor`'s inbox into one batch for JS: (buffer, transfers,
// work). False when N-API refuses (the messages are dropped then: nobody
// is left to deliver them to).
bool DrainBatch(napi_env env, Reactor* reactor, bool* work, Batch* out) {
  std::deque<Message> batch;
  reactor->Drain(&batch, work);
  if (napi_get_undefined(env, &out->buffer) != napi_ok) return false;
  out->transfers = out->buffer;
  if (!batch.empty()) {
    return WriteBatch(
        env, batch, kMessageHeader, [](Message& m) -> Frame& { return m.frame; },
        [](Message& m, uint8_t* p) {
          PutF64(p, m.id);
          PutU32(p + 8, static_cast<uint32_t>(m.kind));
          PutU32(p + 12, m.status);
          PutU32(p + 16, m.ref);
          PutU32(p + 20, static_cast<uint32_t>(m.frame.bytes.size()));
          PutU32(p + 24, static_cast<uint32_t>(m.frame.transfers.size()));
          PutU32(p + 28, m.sender);
        },
        out);
  }
  return true;
}

bool CanRunJs(napi_env env);

// TSFN callback, on the reactor's own thread: drain the inbox in one batch
// and hand it to the JS onWake(batch, transfers, workSignalled).
void CallJs(napi_env raw_env, napi_value js_cb, void* context, void*) {
  if (raw_env == nullptr || js_cb == nullptr) return;  // TSFN being torn down
  // A terminated Worker still dispatches pending wake-ups while Node cleans
  // it up; N-API then refuses, and node-addon-api would abort the process
  // on the refusal. Nothing can be delivered: drop what is queued.
  if (!CanRunJs(raw_env)) {
    std::deque<Message> dropped;
    bool work = false;
    static_cast<Reactor*>(context)->Drain(&dropped, &work);
    return;
  }
  napi_handle_scope scope;
  if (napi_open_handle_scope(raw_env, &scope) != napi_ok) return;
  bool work = false;
  Batch out;
  napi_value argv[3], recv;
  if (DrainBatch(raw_env, static_cast<Reactor*>(context), &work, &out) &&
      napi_get_boolean(raw_env, work, &argv[2]) == napi_ok &&
      napi_get_undefined(raw_env, &recv) == napi_ok) {
    argv[0] = out.buffer;
    argv[1] = out.transfers;
    // onWake catches everything it can; a throw that escapes is reported
    // by Node as an uncaught exception on this thread, as for any callback.
    napi_call_function(raw_env, recv, js_cb, 3, argv, nullptr);
  }
  napi_close_handle_scope(raw_env, scope);
}

void FinalizeTsfn(napi_env, void* data, void*) {
  auto* keep = static_cast<std::shared_ptr<Reactor>*>(data);
  (*keep)->MarkClosed();
  delete keep;
}

// Registered after the TSFN, so it runs before Node's own TSFN cleanup
// (cleanup hooks run last-in first-out) and closes our slot while the TSFN
// still exists.
void CleanupEnv(void* arg) {
  auto* state = static_cast<EnvState*>(arg);
  if (state->torn_down) return;
  state->torn_down = true;
  for (uint32_t id : state->owned_pools) {
    if (auto pool = Registry::Get().FindPool(id)) pool->Stop(false);
    Registry::Get().RemovePool(id);
  }
  if (state->reactor) {
    uint32_t id = state->reactor->id();
    Registry::Get().RemoveReactor(id);
    state->reactor->Close();
    // Nobody will answer the calls parked on this reactor now.
    Registry::Get().WakeCallsTo(id, CallStatus::kReactorGone);
    if (Registry::Get().MainReactor() == id)
      Registry::Get().WakeAllCalls(CallStatus::kReactorGone);
  }
}

// init(onWake, isMainThread) -> reactor id. Once per environment.
Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnvState* state = State(env);
  if (!Check(info, state->reactor == nullptr, "init() called twice")) return {};
  if (!Check(info, info.Length() > 0 && info[0].IsFunction(), "onWake expected"))
    return {};
  auto reactor = std::make_shared<Reactor>(Registry::Get().NextReactorId());
  auto* keep = new std::shared_ptr<Reactor>(reactor);
  napi_threadsafe_function tsfn;
  napi_status s = napi_create_threadsafe_function(
      env, info[0], nullptr, Napi::String::New(env, "reactor-threads.wake"),
      0 /* unbounded queue: a call never blocks */, 1, keep, FinalizeTsfn,
      reactor.get(), CallJs, &tsfn);
  if (s != napi_ok) {
    delete keep;
    Napi::Error::New(env, "reactor-threads: cannot create the reactor's waker")
        .ThrowAsJavaScriptException();
    return {};
  }
  // Idle by default: the loop is kept alive only while work is in flight.
  napi_unref_threadsafe_function(env, tsfn);
  reactor->Open(tsfn);
  state->reactor = reactor;
  Registry::Get().AddReactor(reactor);
  if (info.Length() > 1 && info[1].ToBoolean()) Registry::Get().SetMainReactor(reactor->id());
  napi_add_env_cleanup_hook(env, CleanupEnv, state);
  return Napi::Number::New(env, reactor->id());
}

// drain() -> [batch, transfers, work]: the inbox now, without waiting for
// the wake-up (a stopping pool collects results that are already here).
Napi::Value DrainNow(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bool work = false;
  Batch out;
  Napi::Array r = Napi::Array::New(env, 3);
  if (!DrainBatch(env, State(env)->reactor.get(), &work, &out)) return r;
  r.Set(0u, Napi::Value(env, out.buffer));
  r.Set(1u, Napi::Value(env, out.transfers));
  r.Set(2u, work);
  return r;
}

// awaitMessage(spinNs) -> whether a message arrived within the spin.
Napi::Value AwaitMessage(const Napi::CallbackInfo& info) {
  EnvState* state = State(info.Env());
  bool got = state->reactor &&
             state->reactor->AwaitMessage(static_cast<uint64_t>(info[0].As<Napi::Number>().DoubleValue()));
  return Napi::Boolean::New(info.Env(), got);
}

Napi::Value Ref(const Napi::CallbackInfo& info) {
  State(info.Env())->reactor->Ref(info.Env());
  return info.Env().Undefined();
}

Napi::Value Unref(const Napi::CallbackInfo& info) {
  State(info.Env())->reactor->Unref(info.Env());
  return info.Env().Undefined();
}

// poolCreate(min, max) -> pool id. The calling environment owns the pool.
Napi::Value PoolCreate(const Napi::CallbackInfo& info) {
  EnvState* state = State(info.Env());
  if (!Check(info, state->reactor != nullptr, "init() first")) return {};
  auto pool = Registry::Get().CreatePool(state->reactor, U32(info, 0), U32(info, 1));
  state->owned_pools.push_back(pool->id());
  return Napi::Number::New(info.Env(), pool->id());
}

// poolDestroy(id): the pool is stopped and every thread has exited.
Napi::Value PoolDestroy(const Napi::CallbackInfo& info) {
  EnvState* state = State(info.Env());
  uint32_t id = U32(info, 0);
  Registry::Get().RemovePool(id);
  auto& owned = state->owned_pools;
  owned.erase(std::remove(owned.begin(), owned.end(), id), owned.end());
  return info.Env().Undefined();
}

// poolDefine(id, descriptor) -> function id.
Napi::Value PoolDefine(const Napi::CallbackInfo& info) {
  auto pool = PoolArg(info, 0);
  if (!pool || !Check(info, info[1].IsBuffer(), "descriptor buffer")) return {};
  auto b = info[1].As<Napi::Buffer<uint8_t>>();
  return Napi::Number::New(
      info.Env(),
      pool->DefineFunction(std::vector<uint8_t>(b.Data(), b.Data() + b.Length())));
}

// poolGetFunction(id, fnId) -> Buffer | undefined.
Napi::Value PoolGetFunction(const Napi::CallbackInfo& info) {
  auto pool = PoolArg(info, 0);
  if (!pool) return {};
  auto bytes = pool->GetFunction(U32(info, 1));
  if (bytes.empty()) return info.Env().Undefined();
  return Napi::Buffer<uint8_t>::Copy(info.Env(), bytes.data(), bytes.size());
}

// poolPush(id, taskId, fnId, payload, transfers, maxQueue, affinity?) -> -1 when a
// waiting thread was woken, -2 when the queue is full (not queued), else
// the unmet demand (see Pool::Push).
Napi::Value PoolPush(const Napi::CallbackInfo& info) {
  auto pool = PoolArg(info, 0);
  if (!pool) return {};
  Task task{info[1].As<Napi::Number>().DoubleValue(), U32(info, 2), Frame{},
            MonotonicNs()};
  Moved moved;
  if (!ReadFrame(info, 3, 4, &task.frame, &moved)) return {};
  uint32_t max_queue = info.Length() > 5 && info[5].IsNumber()
      ? info[5].As<Napi::Number>().Uint32Value() : UINT32_MAX;
  int64_t r = info.Length() > 6 && info[6].IsString()
      ? pool->PushPinned(std::move(task), info[6].As<Napi::String>().Utf8Value(), max_queue)
      : pool->Push(std::move(task), max_queue);
  if (r != -2) Detach(info.Env(), moved);  // -2: refused, nothing was queued
  return Napi::Number::New(info.Env(), static_cast<double>(r));
}

// poolCancel(id, taskId, queuedOnly?) -> 1 when the task was still queued (now
// removed), threadId + 1 when a thread holds it (told to abort it), 0 when
// neither (it completed, or the pool is gone).
Napi::Value PoolCancel(const Napi::CallbackInfo& info) {
  auto pool = Registry::Get().FindPool(U32(info, 0));
  if (!pool) return Napi::Number::New(info.Env(), 0);
  return Napi::Number::New(info.Env(),
                           pool->Cancel(info[1].As<Napi::Number>().DoubleValue(),
                                        info.Length() > 2 && info[2].ToBoolean()));
}

// poolTakenAt(id, taskId) -> ms (monotonic) when a thread took the task;
// 0 while it is queued or once it completed.
Napi::Value PoolTakenAt(const Napi::CallbackInfo& info) {
  auto pool = Registry::Get().FindPool(U32(info, 0));
  uint64_t ns = pool ? pool->TakenAt(info[1].As<Napi::Number>().DoubleValue()) : 0;
  return Napi::Number::New(info.Env(), static_cast<double>(ns) / 1e6);
}

// now() -> ms on the same monotonic clock as poolTakenAt.
Napi::Value NowMs(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(MonotonicNs()) / 1e6);
}

Napi::Value PoolAddThread(const Napi::CallbackInfo& info) {
  auto pool = PoolArg(info, 0);
  if (!pool) return {};
  return Napi::Number::New(info.Env(), pool->AddThread());
}

Napi::Array IdArray(Napi::Env env, const std::vector<double>& ids) {
  Napi::Array out = Napi::Array::New(env, ids.size());
  for (uint32_t i = 0; i < ids.size(); ++i) out.Set(i, Napi::Number::New(env, ids[i]));
  return out;
}

// poolRemoveThread(id, threadId) -> { died: ids of the tasks that died
// with the thread, requeued: how many it had not started (back in the
// queue), attached: whether it ever attached (false: died while starting) }.
Napi::Value PoolRemoveThread(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto pool = Registry::Get().FindPool(U32(info, 0));
  bool attached = false;
  uint32_t requeued = 0;
  std::vector<double> died;
  if (pool) died = pool->RemoveThread(U32(info, 1), &attached, &requeued);
  Napi::Object out = Napi::Object::New(env);
  out.Set("died", IdArray(env, died));
  out.Set("requeued", requeued);
  out.Set("attached", attached);
  return out;
}

// poolTaskStarted(id, threadId, taskId): the task went async in its thread.
Napi::Value PoolTaskStarted(const Napi::CallbackInfo& info) {
  if (auto pool = Registry::Get().FindPool(U32(info, 0)))
    pool->MarkStarted(U32(info, 1), info[2].As<Napi::Number>().DoubleValue());
  return info.Env().Undefined();
}

// poolTaskLoading(id, threadId, taskId, loading): the task this thread
// starts next waits for its function to load (or no longer does).
Napi::Value PoolTaskLoading(const Napi::CallbackInfo& info) {
  if (auto pool = Registry::Get().FindPool(U32(info, 0)))
    pool->MarkLoading(U32(info, 1), info[2].As<Napi::Number>().DoubleValue(),
                      info[3].ToBoolean().Value());
  return info.Env().Undefined();
}

// poolClearQueue(id) -> ids of the queued tasks, now removed.
Napi::Value PoolClearQueue(const Napi::CallbackInfo& info) {
  auto pool = PoolArg(info, 0);
  if (!pool) return {};
  return IdArray(info.Env(), pool->ClearQueue());
}

// poolAttach(id, threadId): called by the pool thread itself.
Napi::Value PoolAttach(const Napi::CallbackInfo& info) {
  auto pool = PoolArg(info, 0);
  EnvState* state = State(info.Env());
  if (!pool || !Check(info, state->reactor != nullptr, "init() first")) return {};
  pool->AttachThread(U32(info, 1), state->reactor);
  return info.Env().Undefined();
}

// poolTake(id, threadId, max, spinNs) -> Buffer | [Buffer, ArrayBuffer[]]
// when tasks were taken, 0 when none (the thread is now waiting), 1 when
// the pool is stopping and nothing is left for this thread, 2 when this
// thread is surplus to the pool's max and must exit.
Napi::Value PoolTake(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto pool = Registry::Get().FindPool(U32(info, 0));
  if (!pool) return Napi::Number::New(env, 1);
  std::vector<Task> tasks;
  TakeResult r = pool->Take(U32(info, 1), U32(info, 2),
                            static_cast<uint64_t>(info[3].As<Napi::Number>().DoubleValue()),
                            &tasks);
  if (r == TakeResult::kNone) return Napi::Number::New(env, 0);
  if (r == TakeResult::kStopping) return Napi::Number::New(env, 1);
  if (r == TakeResult::kRetire) return Napi::Number::New(env, 2);
  Batch out;
  bool any_transfers = false;
  for (auto& t : tasks) any_transfers = any_transfers || !t.frame.transfers.empty();
  if (!WriteBatch(
          env, tasks, kTaskHeader, [](Task& t) -> Frame& { return t.frame; },
          [](Task& t, uint8_t* p) {
            PutF64(p, t.id);
            PutU32(p + 8, t.fn_id);
            PutU32(p + 12, static_cast<uint32_t>(t.frame.bytes.size()));
            PutU32(p + 16, static_cast<uint32_t>(t.frame.transfers.size()));
            PutU32(p + 20, 0);
          },
          &out)) {
    // N-API refused: this thread is going away. "Stopping" makes it exit;
    // the tasks it just took were not started, so the pool re-queues them.
    napi_value stop;
    napi_create_uint32(env, 1, &stop);
    return Napi::Value(env, stop);
  }
  if (!any_transfers) return Napi::Value(env, out.buffer);
  Napi::Array pair = Napi::Array::New(env, 2);
  pair.Set(0u, Napi::Value(env, out.buffer));
  pair.Set(1u, Napi::Value(env, out.transfers));
  return pair;
}

// poolComplete(id, threadId, taskId, status, payload, transfers?) -> posted.
Napi::Value PoolComplete(const Napi::CallbackInfo& info) {
  auto pool = Registry::Get().FindPool(U32(info, 0));
  if (!pool) return Napi::Boolean::New(info.Env(), false);
  Frame frame;
  Moved moved;
  if (!ReadFrame(info, 4, 5, &frame, &moved)) return {};
  bool ok = pool->Complete(U32(info, 1), info[2].As<Napi::Number>().DoubleValue(),
                           U32(info, 3), std::move(frame));
  if (ok) Detach(info.Env(), moved);
  return Napi::Boolean::New(info.Env(), ok);
}

// poolRequeue(id, threadId, taskId, fnId, payload, transfers?): hands back
// a task this thread took but has not started.
Napi::Value PoolRequeue(const Napi::CallbackInfo& info) {
  auto pool = Registry::Get().FindPool(U32(info, 0));
  if (!pool) return info.Env().Undefined();
  Task task{info[2].As<Napi::Number>().DoubleValue(), U32(info, 3), Frame{},
            MonotonicNs()};
  Moved moved;
  if (!ReadFrame(info, 4, 5, &task.frame, &moved)) return {};
  pool->Requeue(U32(info, 1), std::move(task));
  Detach(info.Env(), moved);
  return info.Env().Undefined();
}

Napi::Value PoolRecycle(const Napi::CallbackInfo& info) {
  if (auto pool = Registry::Get().FindPool(U32(info, 0))) pool->Recycle(U32(info, 1));
  return info.Env().Undefined();
}

Napi::Value PoolTryRetire(const Napi::CallbackInfo& info) {
  auto pool = Registry::Get().FindPool(U32(info, 0));
  if (!pool) return Napi::Boolean::New(info.Env(), true);
  return Napi::Boolean::New(info.Env(), pool->TryRetire(U32(info, 1)));
}

// poolStop(id, drain) -> ids of the queued tasks removed (none when draining).
Napi::Value PoolStop(const Napi::CallbackInfo& info) {
  auto pool = PoolArg(info, 0);
  if (!pool) return {};
  auto removed = pool->Stop(info[1].ToBoolean());
  // Its threads' blocking calls end now, with a typed error.
  Registry::Get().WakeCallsOfPool(pool->id(), CallStatus::kPoolStopped);
  return IdArray(info.Env(), removed);
}

Napi::Value PoolSetBounds(const Napi::CallbackInfo& info) {
  auto pool = PoolArg(info, 0);
  if (pool) pool->SetBounds(U32(info, 1), U32(info, 2));
  return info.Env().Undefined();
}

// poolCounts(id) -> the live counts, as a fresh object.
Napi::Value PoolCountsJs(const Napi::CallbackInfo& info) {
  auto pool = PoolArg(info, 0);
  if (!pool) return {};
  PoolCounts c = pool->Counts();
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
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

// poolTimes(id) -> { queueWait, run }: each { count, min, mean, p50, p99, max } in ms.
Napi::Value PoolTimesJs(const Napi::CallbackInfo& info) {
  auto pool = PoolArg(info, 0);
  if (!pool) return {};
  PoolTimes t = pool->Times();
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("queueWait", HistogramObject(info.Env(), t.queue_wait));
  o.Set("run", HistogramObject(info.Env(), t.run));
  return o;
}


// ---- the bridge ----

Napi::Value MainReactor(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), Registry::Get().MainReactor());
}

// internFunction(descriptor) -> id, the same on every thread.
Napi::Value InternFunction(const Napi::CallbackInfo& info) {
  if (!Check(info, info.Length() > 0 && info[0].IsBuffer(), "descriptor buffer")) return {};
  auto b = info[0].As<Napi::Buffer<uint8_t>>();
  return Napi::Number::New(
      info.Env(),
      Registry::Get().InternFunction(std::vector<uint8_t>(b.Data(), b.Data() + b.Length())));
}

Napi::Value InternedFunction(const Napi::CallbackInfo& info) {
  auto bytes = Registry::Get().InternedFunction(U32(info, 0));
  if (bytes.empty()) return info.Env().Undefined();
  return Napi::Buffer<uint8_t>::Copy(info.Env(), bytes.data(), bytes.size());
}

// bridgePost(target, refKind, ref, payload, transfers?) -> posted.
// callFromThread: queues the call and returns at once.
Napi::Value BridgePost(const Napi::CallbackInfo& info) {
  EnvState* state = State(info.Env());
  if (!Check(info, state->reactor != nullptr, "init() first")) return {};
  auto target = Registry::Get().FindReactor(U32(info, 0));
  Frame frame;
  Moved moved;
  if (!ReadFrame(info, 3, 4, &frame, &moved)) return {};
  bool ok = target && target->Post(Message{MessageKind::kCall, U32(info, 1),
                                           U32(info, 2), 0, std::move(frame),
                                           state->reactor->id()});
  if (ok) Detach(info.Env(), moved);
  return Napi::Boolean::New(info.Env(), ok);
}

// Whether this (Worker) environment can still run JS. Once the Worker is
// being terminated, N-API refuses calls that would run JS with
// napi_pending_exception: that is how a parked caller learns that its own
// thread is going away, since its cleanup hooks run only after it returns.
bool CanRunJs(napi_env env) {
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return false;
  napi_value global, value;
  bool ok = napi_get_global(env, &global) == napi_ok &&
            napi_get_named_property(env, global, "undefined", &value) == napi_ok;
  napi_close_handle_scope(env, scope);
  return ok;
}

thread_local SpinBudget spin_budget;

// bridgeCall(target, refKind, ref, payload, transfers, timeoutMs, poolId,
//            threadId) -> [status, reply, replyTransfers?] when answered,
// else a bare status. poolId/threadId: the caller's, when it is a pool
// thread (0 otherwise).
// blockingCallFromThread: posts the call, then waits for the answer. The
// status values are CallStatus (native/bridge.h). When the wait ended
// because this environment is terminating, every N-API call may fail, and
// node-addon-api would abort the process on a failed call: the unanswered
// outcomes are returned with raw N-API, ignoring failures, never thrown.
Napi::Value BridgeCall(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnvState* state = State(env);
  if (!Check(info, state->reactor != nullptr, "init() first")) return {};
  uint32_t target_id = U32(info, 0);
  double timeout_ms = info[5].As<Napi::Number>().DoubleValue();
  uint32_t pool_id = U32(info, 6);
  uint32_t thread_id = U32(info, 7);
  auto bare = [&](CallStatus status) -> Napi::Value {
    napi_value v = nullptr;
    if (napi_create_uint32(env, static_cast<uint32_t>(status), &v) != napi_ok) return Napi::Value();
    return Napi::Value(env, v);
  };
  // Every refusal below comes before Detach(): a refused call leaves the
  // caller's moved buffers whole.
  Frame frame;
  Moved moved;
  if (!ReadFrame(info, 3, 4, &frame, &moved)) return {};
  auto target = Registry::Get().FindReactor(target_id);
  if (!target) return bare(CallStatus::kReactorGone);
  bool deadlock = false;
  auto slot = Registry::Get().OpenCall(state->reactor->id(), target_id, pool_id, &deadlock);
  if (!slot) return bare(deadlock ? CallStatus::kWouldDeadlock : CallStatus::kReactorGone);
  if (pool_id) {
    // The slot is registered before the pool is checked, and Stop() sets
    // its flag before it wakes registered slots: whichever comes second
    // sees the other, so a call racing with stop() cannot park forever.
    auto pool = Registry::Get().FindPool(pool_id);
    if (!pool || pool->IsStopping()) {
      Registry::Get().CloseCall(slot);
      return bare(CallStatus::kPoolStopped);
    }
    pool->Park(thread_id);
  }
  uint64_t started = MonotonicNs();
  if (!target->Post(Message{MessageKind::kCall, U32(info, 1), U32(info, 2),
                            static_cast<double>(slot->id()), std::move(frame),
                            state->reactor->id()})) {
    Registry::Get().CloseCall(slot);
    return bare(CallStatus::kReactorGone);
  }
  Detach(env, moved);  // sent: the reactor owns the bytes now
  uint64_t deadline = timeout_ms > 0
      ? started + static_cast<uint64_t>(timeout_ms * 1e6) : 0;
  napi_env raw = env;
  CallStatus status = slot->Wait(spin_budget.Next(), deadline, 10 * 1000 * 1000,
                                 [raw] { return CanRunJs(raw); });
  Registry::Get().CloseCall(slot);
  if (status != CallStatus::kFulfilled && status != CallStatus::kRejected) return bare(status);
  spin_budget.Record(MonotonicNs() - started);
  Frame reply = slot->TakeReply();
  Napi::Array r = Napi::Array::New(env, 3);
  r.Set(0u, static_cast<uint32_t>(status));
  r.Set(1u, Napi::Buffer<uint8_t>::Copy(env, reply.bytes.data(), reply.bytes.size()));
  if (!reply.transfers.empty()) {
    Napi::Array abs = Napi::Array::New(env, reply.transfers.size());
    for (uint32_t i = 0; i < reply.transfers.size(); ++i) {
      napi_value ab;
      if (ToArrayBuffer(env, reply.transfers[i], &ab)) abs.Set(i, Napi::Value(env, ab));
    }
    r.Set(2u, abs);
  }
  return r;
}

// bridgeReply(callId, status, payload, transfers?) -> whether the caller
// still waited (false: it left, timed out or died; the reply is dropped).
Napi::Value BridgeReply(const Napi::CallbackInfo& info) {
  auto slot = Registry::Get().FindCall(static_cast<uint64_t>(info[0].As<Napi::Number>().DoubleValue()));
  Frame frame;
  Moved moved;
  if (!ReadFrame(info, 2, 3, &frame, &moved)) return {};
  bool ok = slot && slot->Resolve(static_cast<CallStatus>(U32(info, 1)), std::move(frame));
  if (ok) Detach(info.Env(), moved);
  return Napi::Boolean::New(info.Env(), ok);
}

// bridgeShutdown(): the process is exiting. Wakes every parked caller with
// kReactorGone, and refuses later calls (sticky). Main thread, 'exit'.
Napi::Value BridgeShutdown(const Napi::CallbackInfo& info) {
  Registry::Get().WakeAllCalls(CallStatus::kReactorGone);
  return info.Env().Undefined();
}

// poolParkedThreads(id, forMs?) -> how many of its threads wait in
// blocking calls (with forMs: in one call begun at least forMs ago).
Napi::Value PoolParkedThreads(const Napi::CallbackInfo& info) {
  uint64_t since = 0;
  if (info.Length() > 1 && info[1].IsNumber()) {
    uint64_t now = MonotonicNs();
    uint64_t span = static_cast<uint64_t>(info[1].As<Napi::Number>().DoubleValue() * 1e6);
    since = now > span ? now - span : 1;
  }
  return Napi::Number::New(info.Env(), Registry::Get().CallsOfPool(U32(info, 0), since));
}

// poolWakeParked(id, status): ends its threads' blocking calls with `status`.
Napi::Value PoolWakeParked(const Napi::CallbackInfo& info) {
  Registry::Get().WakeCallsOfPool(U32(info, 0), static_cast<CallStatus>(U32(info, 1)));
  return info.Env().Undefined();
}

}  // namespace

Napi::Object Initialize(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData<EnvState>(new EnvState());
  auto fn = [&](const char* name, Napi::Function::Callback cb) {
    exports.Set(name, Napi::Function::New(env, cb, name));
  };
  fn("init", Init);
  fn("ref", Ref);
  fn("drain", DrainNow);
  fn("awaitMessage", AwaitMessage);
  fn("unref", Unref);
  fn("poolCreate", PoolCreate);
  fn("poolDestroy", PoolDestroy);
  fn("poolDefine", PoolDefine);
  fn("poolGetFunction", PoolGetFunction);
  fn("poolPush", PoolPush);
  fn("poolCancel", PoolCancel);
  fn("poolClearQueue", PoolClearQueue);
  fn("poolTakenAt", PoolTakenAt);
  fn("now", NowMs);
  fn("poolAddThread", PoolAddThread);
  fn("poolRemoveThread", PoolRemoveThread);
  fn("poolAttach", PoolAttach);
  fn("poolTake", PoolTake);
  fn("poolComplete", PoolComplete);
  fn("poolTryRetire", PoolTryRetire);
  fn("poolRecycle", PoolRecycle);
  fn("poolRequeue", PoolRequeue);
  fn("poolTaskStarted", PoolTaskStarted);
  fn("poolTaskLoading", PoolTaskLoading);
  fn("poolStop", PoolStop);
  fn("poolSetBounds", PoolSetBounds);
  fn("poolCounts", PoolCountsJs);
  fn("poolTimes", PoolTimesJs);
  fn("poolParkedThreads", PoolParkedThreads);
  fn("poolWakeParked", PoolWakeParked);
  fn("mainReactor", MainReactor);
  fn("internFunction", InternFunction);
  fn("internedFunction", InternedFunction);
  fn("bridgePost", BridgePost);
  fn("bridgeCall", BridgeCall);
  fn("bridgeReply", BridgeReply);
  fn("bridgeShutdown", BridgeShutdown);
  return exports;
}

}  // namespace rt

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  return rt::Initialize(env, exports);
}

NODE_API_MODULE(reactor_threads, InitModule)
