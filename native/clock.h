// Monotonic time, and the one spin loop of the core (SpinUntil). Any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <thread>

namespace rt {

inline uint64_t MonotonicNs() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

// A pause hint for spin loops: cheap, and it lets the sibling hyperthread run.
inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

// Spins until ready() or until `until_ns` (MonotonicNs); returns ready()'s
// last answer. Every spin loop of the core uses it (a caller waiting for a
// reply, a pool thread for work, a reactor for a message), so that they
// share one policy: pause hints between polls, and after the first
// kYieldAfterNs a yield of the core between polls. A yield costs a
// syscall when nothing else wants the core, and hands the core over when
// something does. Without it, on two cores, a spinning caller and a
// spinning pool thread left a third runnable thread (V8's concurrent
// compiler, early in a process; the very thread the caller waits on, when
// they share a core) only the end of a spin or a preemption: bench/sync.mjs
// measured blockingCallInThread's p99 at 131 us without the yield and 101
// us with it (synckit: 106 and 127 us in the same runs). The first
// microseconds poll without it, as an answer usually comes within them:
// yielding from the start cost bench/core.mjs's seq and window workloads
// up to 5% and changed sync's p99 no further.
constexpr uint64_t kYieldAfterNs = 5000;

template <typename Ready>
inline bool SpinUntil(uint64_t until_ns, Ready&& ready) {
  const uint64_t yield_from = MonotonicNs() + kYieldAfterNs;
  for (;;) {
    if (ready()) return true;
    uint64_t now = MonotonicNs();
    if (now >= until_ns) return ready();
    for (int i = 0; i < 16; ++i) CpuRelax();
    if (now >= yield_from) std::this_thread::yield();
  }
}

}  // namespace rt
