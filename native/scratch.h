// A Uint8Array of JavaScript's that native writes batches into (a pool
// thread's tasks, a reactor's inbox), instead of making a new Buffer for
// each: native/batch.h WriteTaskBatch and DrainBatch.
//
// Why: every new ArrayBuffer with memory of its own costs its thread more
// than its bytes. Node's Buffer gets its prototype set, and V8 sweeps a
// dead one's memory on a background thread after the scavenge that finds
// it, which wakes a V8 platform thread: on 2 cores, a core taken from a
// pool thread (bench/workload.mjs cpu: ~1,500 platform wake-ups per 2,000
// tasks before, ~270 after the pool threads' takes and the reactors' drains
// used one).
//
// Threads: the owning JS thread only, in the call that passed or looked up
// the array (napi_values are that call's). Ownership: JavaScript's; a
// batch written there is a view of its first bytes, valid until the next
// batch is written there (who may write next is the user's rule: see
// src/thread/worker.ts takeScratch and EnvState::inbox_scratch_busy).
#pragma once

#include <node_api.h>

#include <cstddef>
#include <cstdint>

namespace rt {

struct Scratch {
  napi_value arraybuffer = nullptr;
  size_t offset = 0;
  uint8_t* data = nullptr;
  size_t size = 0;
};

// `v` as a Scratch when it is a Uint8Array; else (null, undefined, another
// type) an empty one, and batches get buffers of their own. Raw N-API,
// never throws.
inline Scratch ReadScratch(napi_env env, napi_value v) {
  bool is_typed = false;
  if (v == nullptr || napi_is_typedarray(env, v, &is_typed) != napi_ok || !is_typed) return {};
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  napi_value ab = nullptr;
  size_t offset = 0;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, &ab, &offset) != napi_ok ||
      type != napi_uint8_array || data == nullptr)
    return {};
  return Scratch{ab, offset, static_cast<uint8_t*>(data), length};
}

}  // namespace rt
