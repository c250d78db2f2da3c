// Test-only stand-ins for the few N-API thread-safe-function calls that
// native/reactor.cc makes, so pool/reactor/registry/bridge link without
// Node. A napi_threadsafe_function handed to Reactor::Open() in these tests
// is really a FakeTsfn*: each call counts and wakes whoever waits on it
// (the "event loop" of the thread that owns the reactor).
#pragma once

#include <node_api.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace stub {

struct FakeTsfn {
  std::mutex mu;
  std::condition_variable cv;
  uint64_t calls = 0;                 // guarded by mu
  std::atomic<bool> closing{false};   // napi_call_* returns napi_closing
  std::atomic<int> refs{0}, unrefs{0}, releases{0};

  napi_threadsafe_function handle() { return reinterpret_cast<napi_threadsafe_function>(this); }
  uint64_t Calls() { std::lock_guard<std::mutex> l(mu); return calls; }
  // Waits until calls > *seen (then updates *seen) or the timeout passes.
  bool WaitFor(uint64_t* seen, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> l(mu);
    bool woke = cv.wait_for(l, timeout, [&] { return calls > *seen; });
    *seen = calls;
    return woke;
  }
};

// Process-wide totals over every tsfn.
extern std::atomic<uint64_t> g_call_tsfn;
extern std::atomic<uint64_t> g_ref_tsfn;
extern std::atomic<uint64_t> g_unref_tsfn;
extern std::atomic<uint64_t> g_release_tsfn;

}  // namespace stub
