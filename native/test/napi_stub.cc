// Stub definitions of the napi_* functions that native/reactor.cc calls
// (see napi_stub.h). Compiled with -I/usr/include/node and NAPI_VERSION=8,
// so the signatures are checked against the real declarations.
#include "napi_stub.h"

namespace stub {
std::atomic<uint64_t> g_call_tsfn{0};
std::atomic<uint64_t> g_ref_tsfn{0};
std::atomic<uint64_t> g_unref_tsfn{0};
std::atomic<uint64_t> g_release_tsfn{0};
}  // namespace stub

using stub::FakeTsfn;

extern "C" {

napi_status NAPI_CDECL napi_call_threadsafe_function(
    napi_threadsafe_function func, void* data, napi_threadsafe_function_call_mode is_blocking) {
  (void)data;
  (void)is_blocking;
  stub::g_call_tsfn.fetch_add(1, std::memory_order_relaxed);
  if (func == nullptr) return napi_ok;
  auto* f = reinterpret_cast<FakeTsfn*>(func);
  if (f->closing.load(std::memory_order_acquire)) return napi_closing;
  {
    std::lock_guard<std::mutex> l(f->mu);
    ++f->calls;
  }
  f->cv.notify_all();
  return napi_ok;
}

napi_status NAPI_CDECL napi_ref_threadsafe_function(napi_env env, napi_threadsafe_function func) {
  (void)env;
  stub::g_ref_tsfn.fetch_add(1, std::memory_order_relaxed);
  if (func) reinterpret_cast<FakeTsfn*>(func)->refs.fetch_add(1);
  return napi_ok;
}

napi_status NAPI_CDECL napi_unref_threadsafe_function(napi_env env, napi_threadsafe_function func) {
  (void)env;
  stub::g_unref_tsfn.fetch_add(1, std::memory_order_relaxed);
  if (func) reinterpret_cast<FakeTsfn*>(func)->unrefs.fetch_add(1);
  return napi_ok;
}

napi_status NAPI_CDECL napi_release_threadsafe_function(
    napi_threadsafe_function func, napi_threadsafe_function_release_mode mode) {
  (void)mode;
  stub::g_release_tsfn.fetch_add(1, std::memory_order_relaxed);
  if (func) reinterpret_cast<FakeTsfn*>(func)->releases.fetch_add(1);
  return napi_ok;
}

}  // extern "C"
