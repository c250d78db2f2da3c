#include "env_state.h"

#include <deque>

#include <uv.h>

#include "batch.h"
#include "bridge.h"
#include "clock.h"
#include "registry.h"

namespace rt {

void CreateEnvState(Napi::Env env) {
  env.SetInstanceData<EnvState>(new EnvState());
}

EnvState* State(Napi::Env env) {
  return env.GetInstanceData<EnvState>();
}

Scratch InboxScratch(napi_env env, EnvState* state) {
  if (state->inbox_scratch == nullptr || state->inbox_scratch_busy) return {};
  napi_value v = nullptr;
  if (napi_get_reference_value(env, state->inbox_scratch, &v) != napi_ok) return {};
  return ReadScratch(env, v);
}

bool CanRunJs(napi_env env) {
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return false;
  napi_value global, value;
  bool ok =
      napi_get_global(env, &global) == napi_ok &&
      napi_get_named_property(env, global, "undefined", &value) == napi_ok;
  napi_close_handle_scope(env, scope);
  return ok;
}

namespace {

// What a call into JS threw, raised as this thread's uncaught exception
// (napi_fatal_exception: 'uncaughtException', else the thread's end).
// Nothing when it threw nothing, or when the thread can no longer run JS
// (a terminating Worker: its call was refused, not thrown through).
void RaiseEscaped(napi_env env) {
  bool pending = false;
  napi_value error = nullptr;
  if (napi_is_exception_pending(env, &pending) != napi_ok || !pending) return;
  if (napi_get_and_clear_last_exception(env, &error) != napi_ok || error == nullptr) return;
  if (CanRunJs(env)) napi_fatal_exception(env, error);
}

// A pool thread's environment is gone (its JS thread, at teardown): the
// pool stops counting on it, and an owner parked in a blockingCallInThread
// looks again at what it held (its wait is attended: the owner cannot see
// the thread's exit until its loop runs, and a sibling may wait for
// buffers that were sent ahead to this thread: src/pool/moved-buffers.ts).
void MarkThreadGone(Pool& pool, uint32_t thread_id) {
  pool.MarkGone(thread_id);
  Registry::Get().AttendCallsOf(pool.OwnerReactor());
}

// Owning JS thread, in CallJs: whether this wake-up comes past the budget
// of the run of wake-ups within this iteration of the loop (env_state.h
// wake_loop_ms). Then it drains nothing: the copy drains from an
// Immediate, after which the loop's timers and I/O run before the next
// wake-up's batch, and until then the wake-up stays pending (senders queue
// no further call). The next run starts afresh.
bool PastWakeBudget(napi_env env, EnvState* state) {
  constexpr uint64_t kWakeBudgetNs = 2'000'000;
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) return false;
  uint64_t loop_ms = uv_now(loop);
  uint64_t now = MonotonicNs();
  if (loop_ms != state->wake_loop_ms) {
    state->wake_loop_ms = loop_ms;
    state->wake_run_started_ns = now;
    return false;
  }
  if (now - state->wake_run_started_ns <= kWakeBudgetNs) return false;
  state->wake_loop_ms = UINT64_MAX;
  return true;
}

// The TSFN's call_js, on the owning JS thread: drains the inbox in one
// batch and hands it to the copy's onWake(batch, transfers, workSignalled).
// `context` is the environment's Reactor (see env_state.h for why it is
// alive whenever raw_env is not null); data is always null. The TSFN has
// no function of its own: js_cb is always null.
void CallJs(napi_env raw_env, napi_value, void* context, void*) {
  // TSFN being torn down: the context may dangle, touch nothing.
  if (raw_env == nullptr) return;
  auto* reactor = static_cast<Reactor*>(context);
  // JavaScript runs now, inside the poll phase: until the loop polls again,
  // a wake-up waits (loop_watch.h).
  reactor->SetPolling(false);
  // When the copy's onWake was collected, nobody is left to take what is
  // queued: it is dropped, and CopyGone retires the reactor (and wakes its
  // parked callers) soon. A terminated Worker still dispatches pending
  // wake-ups while Node cleans it up: then the calls below that could run
  // JavaScript (napi_set_element, napi_call_function) refuse, and the
  // batch, drained, is dropped all the same. Only raw N-API here, whose
  // refusals are statuses (node-addon-api's would abort the process).
  // (Not asked first with CanRunJs: a property lookup on the global, which
  // each wake-up of an idle reactor paid cold.)
  void* data = nullptr;
  napi_value on_wake = nullptr;
  if (napi_get_instance_data(raw_env, &data) != napi_ok ||
      napi_get_reference_value(
          raw_env, static_cast<EnvState*>(data)->on_wake, &on_wake) !=
          napi_ok ||
      on_wake == nullptr) {
    std::deque<Message> dropped;
    bool work = false;
    reactor->Drain(&dropped, &work);
    reactor->EndBatch();
    return;
  }
  napi_handle_scope scope;
  if (napi_open_handle_scope(raw_env, &scope) != napi_ok) return;
  auto* state = static_cast<EnvState*>(data);
  // Past the budget of this turn's wake-ups, the copy drains from an
  // Immediate instead: onWake(undefined, undefined, false, true).
  if (PastWakeBudget(raw_env, state)) {
    napi_value argv[4];
    if (napi_get_undefined(raw_env, &argv[0]) == napi_ok &&
        napi_get_boolean(raw_env, false, &argv[2]) == napi_ok &&
        napi_get_boolean(raw_env, true, &argv[3]) == napi_ok) {
      argv[1] = argv[0];
      if (napi_call_function(raw_env, argv[0], on_wake, 4, argv, nullptr) != napi_ok) RaiseEscaped(raw_env);
      napi_close_handle_scope(raw_env, scope);
      return;
    }
  }
  bool work = false;
  Batch out;
  napi_value argv[3], recv;
  if (DrainBatch(raw_env, reactor, InboxScratch(raw_env, state), &work, &out) &&
      napi_get_boolean(raw_env, work, &argv[2]) == napi_ok &&
      napi_get_undefined(raw_env, &recv) == napi_ok) {
    argv[0] = out.buffer;
    argv[1] = out.transfers;
    // (A drain() inside this delivery gets a buffer of its own.)
    if (out.in_scratch) state->inbox_scratch_busy = true;
    // onWake catches everything users' code can throw; what escapes it is
    // a fault of this library's. It is raised as this thread's uncaught
    // exception: a pool thread dies (its tasks fail with ThreadDiedError
    // and it is replaced), the main thread's process reports it and
    // exits. Left to Node, N-API's legacy policy for callbacks drops it
    // with a DEP0168 warning, and the thread lives on with its work half
    // done: its tasks never settled (an addon older than the package's
    // code threw a TypeError on every take).
    if (napi_call_function(raw_env, recv, on_wake, 3, argv, nullptr) != napi_ok) RaiseEscaped(raw_env);
  }
  // onWake handled the batch, and reported what it holds back (or it is
  // lost): its calls no longer count toward their senders' marks, and
  // what it kept of the batch it copied (src/base/wire.ts ownPayload).
  reactor->EndBatch();
  if (out.in_scratch) state->inbox_scratch_busy = false;
  napi_close_handle_scope(raw_env, scope);
}

// The TSFN's finalizer, on the owning JS thread once Node has released the
// TSFN: `data` is the shared_ptr<Reactor> that kept the context alive.
void FinalizeTsfn(napi_env, void* data, void*) {
  auto* keep = static_cast<std::shared_ptr<Reactor>*>(data);
  (*keep)->MarkClosed();
  delete keep;
}

// Owning JS thread, once: the copy is gone, or its environment (env_state.h,
// step 4). `exiting`: the environment is being torn down, which for the
// main thread's means the process exits.
void Retire(EnvState* state, bool exiting) {
  if (state->torn_down) return;
  state->torn_down = true;
  if (state->pool_of_thread) {
    if (auto pool = Registry::Get().FindPool(state->pool_of_thread))
      MarkThreadGone(*pool, state->thread_id);
  }
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
    if (exiting && state->is_main)
      Registry::Get().WakeAllCalls(CallStatus::kReactorGone);
  }
}

// Cleanup hook, on the owning JS thread at environment teardown.
// Registered after the TSFN, so it runs before Node's own TSFN cleanup
// (cleanup hooks run last-in first-out) and closes our slot while the TSFN
// still exists.
void CleanupEnv(void* arg) {
  Retire(static_cast<EnvState*>(arg), true);
}

// The finalizer of the copy's onWake, on the owning JS thread after the
// garbage collector took it (env_state.h, step 3). Node runs it before it
// frees the EnvState, at environment teardown too, where CleanupEnv has
// already retired the copy and Node frees the weak reference itself.
void CopyGone(napi_env env, void* data, void*) {
  auto* state = static_cast<EnvState*>(data);
  if (state->torn_down) return;
  Retire(state, false);
  napi_delete_reference(env, state->on_wake);
  state->on_wake = nullptr;
  if (state->inbox_scratch) napi_delete_reference(env, state->inbox_scratch);
  state->inbox_scratch = nullptr;
}

// Cleanup hook of a pool thread's environment (MarkPoolThread), on its
// JS thread at teardown. The EnvState is Node's instance data, freed after
// every cleanup hook ran.
void PoolThreadGone(void* arg) {
  auto* state = static_cast<EnvState*>(arg);
  if (auto pool = Registry::Get().FindPool(state->pool_of_thread))
    MarkThreadGone(*pool, state->thread_id);
}

}  // namespace

void MarkPoolThread(napi_env env, EnvState* state, uint32_t pool_id,
                    uint32_t thread_id) {
  // (Node refuses a hook registered twice with the same argument.)
  if (state->pool_of_thread == 0)
    napi_add_env_cleanup_hook(env, PoolThreadGone, state);
  state->pool_of_thread = pool_id;
  state->thread_id = thread_id;
}

std::shared_ptr<Reactor> OpenReactor(napi_env env,
                                     EnvState* state,
                                     napi_value on_wake,
                                     bool is_main) {
  auto reactor = std::make_shared<Reactor>(Registry::Get().NextReactorId());
  auto* keep = new std::shared_ptr<Reactor>(reactor);
  napi_value name;
  napi_threadsafe_function tsfn;
  if (napi_create_string_utf8(
          env, "reactor-threads.wake", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_threadsafe_function(
          env,
          nullptr /* CallJs calls the weakly held onWake */,
          nullptr,
          name,
          0 /* unbounded queue: a call never blocks */,
          1,
          keep,
          FinalizeTsfn,
          reactor.get(),
          CallJs,
          &tsfn) != napi_ok) {
    delete keep;
    return nullptr;
  }
  if (napi_create_reference(env, on_wake, 0, &state->on_wake) != napi_ok ||
      napi_add_finalizer(env, on_wake, state, CopyGone, nullptr, nullptr) !=
          napi_ok) {
    // Without them the copy would never be woken: nothing is kept.
    if (state->on_wake) napi_delete_reference(env, state->on_wake);
    state->on_wake = nullptr;
    napi_release_threadsafe_function(tsfn, napi_tsfn_abort);
    return nullptr;
  }
  // Idle by default: the loop is kept alive only while work is in flight.
  napi_unref_threadsafe_function(env, tsfn);
  reactor->Open(tsfn);
  state->reactor = reactor;
  Registry::Get().AddReactor(reactor);
  state->is_main = is_main;
  if (is_main) Registry::Get().AddMainReactor(reactor->id());
  napi_add_env_cleanup_hook(env, CleanupEnv, state);
  return reactor;
}

}  // namespace rt
