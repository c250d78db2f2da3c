// The core's two compiler intrinsics, for GCC and Clang (Linux, macOS,
// MinGW: what builds the prebuilds) and MSVC (a user's source build on
// Windows, where no prebuild serves), and where a thread runs (Linux
// only). Any thread; no state.
#pragma once

#include <algorithm>
#include <cstdint>

#if defined(_MSC_VER)
#include <intrin.h>
#endif
#if defined(__linux__)
#include <sched.h>
#include <unistd.h>
#endif

namespace rt {

// A pause hint for spin loops: cheap, and it lets the sibling hyperthread
// run. On a CPU we have no hint for, a no-op: the loop still works.
inline void CpuRelax() {
#if defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86))
  _mm_pause();
#elif defined(_MSC_VER) && defined(_M_ARM64)
  __yield();
#elif defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

// floor(log2(v)) for v > 0: the index of the highest set bit.
inline int FloorLog2(uint64_t v) {
#if defined(_MSC_VER) && (defined(_M_X64) || defined(_M_ARM64))
  unsigned long index;
  _BitScanReverse64(&index, v);
  return static_cast<int>(index);
#elif defined(_MSC_VER)
  // 32-bit MSVC has no 64-bit scan: scan the high word, then the low one.
  unsigned long index;
  if (_BitScanReverse(&index, static_cast<unsigned long>(v >> 32))) {
    return static_cast<int>(index) + 32;
  }
  _BitScanReverse(&index, static_cast<unsigned long>(v));
  return static_cast<int>(index);
#else
  return 63 - __builtin_clzll(v);
#endif
}

// The CPU the calling thread runs on now; -1 where the system does not
// say (anything but Linux).
inline int CurrentCpu() {
#if defined(__linux__)
  return sched_getcpu();
#else
  return -1;
#endif
}

// Moves the calling thread off `cpu`, now, to another CPU it may run on,
// and gives it back the CPUs it had: the scheduler chooses where it runs
// next as before. Only when it may run on at least `min_cpus` CPUs, `cpu`
// among them; returns whether it moved (false on anything but Linux). It
// costs two system calls and a migration: 45-65 us on this 2-vCPU VM
// (helper-74's review), and up to a few ms when the other CPUs are busy,
// so callers pace it (MovePacer) and keep it to where it pays.
// Linux 6.2 on keeps the last mask a thread set as its own, and clamps
// later cpuset changes to it: a thread that had every online CPU gets
// "every CPU" back, so a cpuset widened later reaches it as before. One
// with fewer (pinned by its user, or by a container's cpuset) gets its
// own mask back: a cpuset widened later does not reach it (as for any
// thread its user pinned). A concurrent change of the thread's affinity
// by someone else, mid-move, is undone.
inline bool MoveOffCpu(int cpu, int min_cpus) {
#if defined(__linux__)
  cpu_set_t allowed;
  if (cpu < 0 || cpu >= CPU_SETSIZE) return false;
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return false;
  if (!CPU_ISSET(cpu, &allowed) || CPU_COUNT(&allowed) < std::max(min_cpus, 2)) return false;
  cpu_set_t restore = allowed;
  long online = sysconf(_SC_NPROCESSORS_ONLN);
  if (online > 0 && CPU_COUNT(&allowed) >= online) {
    for (int i = 0; i < CPU_SETSIZE; ++i) CPU_SET(i, &restore);
  }
  cpu_set_t elsewhere = allowed;
  CPU_CLR(cpu, &elsewhere);
  // The kernel moves the thread before the first call returns.
  if (sched_setaffinity(0, sizeof elsewhere, &elsewhere) != 0) return false;
  // (Should the mask not go back, "every CPU" is tried: a thread must not
  // lose a CPU for good.)
  if (sched_setaffinity(0, sizeof restore, &restore) != 0) {
    for (int i = 0; i < CPU_SETSIZE; ++i) CPU_SET(i, &restore);
    sched_setaffinity(0, sizeof restore, &restore);
  }
  return true;
#else
  (void)cpu;
  (void)min_cpus;
  return false;
#endif
}

// Paces one thread's moves off a CPU it shares with a thread it waits
// for (MoveOffCpu): Due() says whether the thread runs on `cpu` now and
// has not moved within `every_ns` before `now_ns`, and if so counts a
// move at `now_ns`. One per thread (thread_local); no lock.
class MovePacer {
 public:
  explicit constexpr MovePacer(uint64_t every_ns) : every_ns_(every_ns) {}
  bool Due(int cpu, uint64_t now_ns) {
    if (cpu < 0 || CurrentCpu() != cpu) return false;
    if (last_ns_ != 0 && now_ns - last_ns_ < every_ns_) return false;
    last_ns_ = now_ns;
    return true;
  }

 private:
  const uint64_t every_ns_;
  uint64_t last_ns_ = 0;  // 0: never moved
};

}  // namespace rt
