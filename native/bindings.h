// What every N-API binding shares: one way to check its arguments and to
// reach its environment's state, and the registration of each file's
// bindings (addon.cc calls them). Only the binding files (*_bindings.cc),
// batch.cc and env_state.cc know about napi_value; the core below them
// (pool, reactor, registry, bridge) returns status values, never throws.
//
// Threads: every binding runs on the JS thread that called it (its
// environment's owning JS thread); each says which JS thread the JS side
// calls it from: "main thread or any Worker" (any JS thread that loaded
// the addon), "the pool's owner thread" (the JS thread whose reactor
// created the pool), or "a pool thread" (a Worker of that pool, about
// itself). The state a binding reaches is either its own environment's
// (EnvState, owning JS thread only) or the process-wide core (any thread,
// locked inside; lock order in reactor.h).
//
// Every binding opens the same way (like better-sqlite3's REQUIRE_*
// macros), so that a wrong call from our JS is a TypeError naming what was
// wrong, never a crash:
//
//   Napi::Value PoolThing(const Napi::CallbackInfo& info) {
//     Args args(info);
//     auto pool = args.PoolArg(0);           // 1. state: pool / reactor
//     uint32_t thread_id = args.U32(1, "thread id");   // 2. scalars
//     if (!args.ok()) return {};             // a TypeError is pending
//     Frame frame;                           // 3. a payload, last: it copies
//     Moved moved;
//     if (!ReadFrame(args, 2, 3, &frame, &moved)) return {};
//     ...
//
// A check that fails throws one TypeError ("reactor-threads native: ...")
// and makes every later read return a zero value, so a binding reads all
// its arguments and tests ok() once. Bindings that may be reached after
// the pool they name is gone (a pool thread outliving its pool's destroy)
// use PoolIfAny() instead of PoolArg() and return their documented "gone"
// value quietly. The few paths that may run while the environment is
// terminating (after a binding waited or spun: bridgeCall, poolTake) use
// raw N-API through QuietU32() and never throw: node-addon-api aborts the
// process when a throw fails there.
#pragma once

#include <napi.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "env_state.h"
#include "pool.h"
#include "reactor.h"

namespace rt {

// The arguments and state of one binding call. Owning JS thread only;
// lives on the binding's stack (its CallbackInfo is valid for the call).
class Args {
 public:
  explicit Args(const Napi::CallbackInfo& info) : info_(info) {}
  Args(const Args&) = delete;
  Args& operator=(const Args&) = delete;

  Napi::Env env() const { return info_.Env(); }
  const Napi::CallbackInfo& info() const { return info_; }
  size_t Length() const { return info_.Length(); }
  Napi::Value operator[](size_t i) const { return info_[i]; }

  // False once a check failed: a TypeError is pending and the binding
  // must return {} without calling into the core.
  bool ok() const { return ok_; }
  // Throws TypeError("reactor-threads native: " + what) unless `cond`
  // (only the first failure of a call throws). Returns cond && ok().
  bool Check(bool cond, const char* what);
  // N-API refused a call (the calling Worker is terminating): the binding
  // returns {} with no error of its own. Returns false.
  bool Abandon() {
    ok_ = false;
    return false;
  }

  // The typed reads below throw "<what> expected" on a wrong type.
  // Argument i, which must be a number: as uint32 (ToUint32) / as double.
  uint32_t U32(size_t i, const char* what);
  double F64(size_t i, const char* what);
  // Argument i when it is a number / a string, else nullopt (absent or
  // undefined: an optional argument).
  std::optional<uint32_t> OptU32(size_t i);
  std::optional<double> OptF64(size_t i);
  std::optional<std::string> OptString(size_t i);
  // Argument i as a boolean (ToBoolean): false when absent.
  bool Flag(size_t i);
  // Argument i, which must be a Buffer: a copy of its bytes.
  std::vector<uint8_t> Bytes(size_t i, const char* what);
  // Argument i, which must be a function.
  napi_value Function(size_t i, const char* what);

  // This environment's state; never null.
  EnvState* State();
  // This environment's reactor: init() must have run ("init() first").
  // EnvState's own pointer: valid for the whole call.
  const std::shared_ptr<Reactor>& OwnReactor();
  // The pool whose id is argument i: it must exist ("unknown pool").
  std::shared_ptr<Pool> PoolArg(size_t i);
  // The pool whose id is argument i, or null, quietly, once it is gone.
  std::shared_ptr<Pool> PoolIfAny(size_t i);

 private:
  // Check(), with the message what + suffix built only on failure.
  bool Require(bool cond, const char* what, const char* suffix);

  const Napi::CallbackInfo& info_;
  bool ok_ = true;
};

// Raw N-API, for paths that may run while the environment terminates:
// the number `v`, or an empty value if N-API refuses. Never throws.
Napi::Value QuietU32(napi_env env, uint32_t v);
// `array[i] = v`, raw. node-addon-api's Set() throws when N-API refuses
// (napi_set_element may run JS, which a terminating Worker refuses), and
// building that error can end the process; the value is for a thread that
// is going away, so a refusal is ignored.
void QuietSet(napi_env env, napi_value array, uint32_t i, napi_value v);

// Calls `f()` with raw N-API from a native call on its JS thread, as a
// callback that must not end that call: a failure, or an exception it
// throws (then cleared), is ignored.
void CallDroppingErrors(napi_env env, napi_value f);

// Adds each file's bindings to `exports`, by their JS names (the types the
// JS side relies on are in src/reactor/native.ts). Owning JS thread, at module
// load.
void RegisterReactorBindings(Napi::Env env, Napi::Object exports);
void RegisterPoolBindings(Napi::Env env, Napi::Object exports);
void RegisterBridgeBindings(Napi::Env env, Napi::Object exports);

// One binding: its JS name and its function. Each *_bindings.cc lists its
// own in a table and registers them with AddBindings().
struct BindingEntry {
  const char* name;
  Napi::Function::Callback fn;
};

template <size_t N>
void AddBindings(Napi::Env env,
                 Napi::Object exports,
                 const BindingEntry (&table)[N]) {
  for (const BindingEntry& b : table) {
    exports.Set(b.name, Napi::Function::New(env, b.fn, b.name));
  }
}

}  // namespace rt
