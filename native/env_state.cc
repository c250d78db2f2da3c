#include "env_state.h"

#include <deque>

#include "batch.h"
#include "bridge.h"
#include "registry.h"

namespace rt {

void CreateEnvState(Napi::Env env) {
  env.SetInstanceData<EnvState>(new EnvState());
}

EnvState* State(Napi::Env env) {
  return env.GetInstanceData<EnvState>();
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

// The TSFN's call_js, on the owning JS thread: drains the inbox in one
// batch and hands it to the JS onWake(batch, transfers, workSignalled).
// `context` is the environment's Reactor (see env_state.h for why it is
// alive whenever raw_env is not null); data is always null.
void CallJs(napi_env raw_env, napi_value js_cb, void* context, void*) {
  // TSFN being torn down: the context may dangle, touch nothing.
  if (raw_env == nullptr || js_cb == nullptr) return;
  auto* reactor = static_cast<Reactor*>(context);
  // A terminated Worker still dispatches pending wake-ups while Node cleans
  // it up; N-API then refuses, and node-addon-api would abort the process
  // on the refusal. Nothing can be delivered: drop what is queued.
  if (!CanRunJs(raw_env)) {
    std::deque<Message> dropped;
    bool work = false;
    reactor->Drain(&dropped, &work);
    return;
  }
  napi_handle_scope scope;
  if (napi_open_handle_scope(raw_env, &scope) != napi_ok) return;
  bool work = false;
  Batch out;
  napi_value argv[3], recv;
  if (DrainBatch(raw_env, reactor, &work, &out) &&
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

// The TSFN's finalizer, on the owning JS thread once Node has released the
// TSFN: `data` is the shared_ptr<Reactor> that kept the context alive.
void FinalizeTsfn(napi_env, void* data, void*) {
  auto* keep = static_cast<std::shared_ptr<Reactor>*>(data);
  (*keep)->MarkClosed();
  delete keep;
}

// Cleanup hook, on the owning JS thread at environment teardown.
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

}  // namespace

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
          on_wake,
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
  // Idle by default: the loop is kept alive only while work is in flight.
  napi_unref_threadsafe_function(env, tsfn);
  reactor->Open(tsfn);
  state->reactor = reactor;
  Registry::Get().AddReactor(reactor);
  if (is_main) Registry::Get().SetMainReactor(reactor->id());
  napi_add_env_cleanup_hook(env, CleanupEnv, state);
  return reactor;
}

}  // namespace rt
