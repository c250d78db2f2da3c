// The N-API boundary's entry point: runs once per environment (the main
// thread and each Worker that loads the addon), on that environment's JS
// thread. It gives the environment its EnvState and registers the
// bindings, which live by concern:
//   reactor_bindings.cc  init, drain, awaitMessage, ref, unref
//   pool_bindings.cc     pool* (the owner's side and the threads' side), now
//   bridge_bindings.cc   bridge*, internFunction, internedFunction,
//                        mainReactor, poolParkedThreads, poolWakeParked
// with what they share: bindings.h (how every binding checks its
// arguments), batch.h (frames in and out of JS, the batch layouts),
// env_state.h (per-environment state, the reactor's TSFN, teardown).
// The core below them: pool.h, reactor.h (with the lock order),
// registry.h, bridge.h. The JS side's view of the bindings: src/reactor/native.ts.
// Tests: every test/*.ts exercises it through src/reactor/native.ts.
#include <napi.h>

#include "bindings.h"
#include "env_state.h"

namespace rt {

Napi::Object Initialize(Napi::Env env, Napi::Object exports) {
  CreateEnvState(env);
  RegisterReactorBindings(env, exports);
  RegisterPoolBindings(env, exports);
  RegisterBridgeBindings(env, exports);
  return exports;
}

}  // namespace rt

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  return rt::Initialize(env, exports);
}

NODE_API_MODULE(reactor_threads, InitModule)
