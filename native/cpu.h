// The core's two compiler intrinsics, for GCC and Clang (Linux, macOS,
// MinGW: what builds the prebuilds) and MSVC (a user's source build on
// Windows, where no prebuild serves). Any thread; no state.
#pragma once

#include <cstdint>

#if defined(_MSC_VER)
#include <intrin.h>
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

}  // namespace rt
