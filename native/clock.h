// Monotonic time, and the one spin loop of the core (SpinUntil). Any thread.
#pragma once

#include <chrono>
#include <cstdint>

#include "cpu.h"

namespace rt {

inline uint64_t MonotonicNs() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

// Spins until ready() or until `until_ns` (MonotonicNs); returns ready()'s
// last answer. Every spin loop of the core uses it (a caller waiting for a
// reply, a pool thread for work, a reactor for a message), so that they
// share one policy: pause hints between polls, and never a yield of the
// core. A thread that yields stays runnable: when its answer comes, it is
// not woken (a parked thread would be, at once, preempting a busy one); it
// waits for the scheduler to hand the core back, and when the core went
// to a thread that runs until it is preempted (another process's busy
// loop) that is the next tick, 4 ms here. Yielding after the first 5 us
// of each spin took blockingCallInThread's p99 on an idle machine from
// 131 to 101 us (bench/sync.mjs), but with two busy processes on two
// cores 10% to 90% of its round trips then took a tick, and their mean
// went from about 150 us to 0.5-3.8 ms (found by a cold review). The
// spins are bounded instead (50 us for a caller, 20 us for an idle pool
// thread, 250 us for one that just answered a blockingCallInThread, see
// src/thread/worker.ts), then the thread parks.
template <typename Ready>
inline bool SpinUntil(uint64_t until_ns, Ready&& ready) {
  for (;;) {
    if (ready()) return true;
    if (MonotonicNs() >= until_ns) return ready();
    for (int i = 0; i < 16; ++i) CpuRelax();
  }
}

}  // namespace rt
