// A mutex that spins briefly before it sleeps. Any thread.
#pragma once

#include <mutex>

#include "cpu.h"

namespace rt {

// std::mutex, whose lock() first retries for a moment when the mutex is
// held. The pool's lock is held for well under a microsecond at a time,
// yet a thread that finds it held sleeps in the kernel at once (glibc's
// default mutex does not spin), and its wake-up costs a futex call for
// the holder and, when its core went idle meanwhile, 50-200 µs on a VM.
// It happened on about half of all blockingCallInThread calls: the pool
// thread's spin (Pool::Take) saw the task the moment the owner's Push()
// stored it, still under the lock, and slept on the lock (perf: futex
// waits in PoolTake, woken from PoolPush). A bounded spin (about a
// microsecond) then sleeps as before, so a holder that is descheduled
// costs no more than that.
class SpinningMutex {
 public:
  void lock() {
    for (int i = 0; i < kTries; ++i) {
      if (mu_.try_lock()) return;
      CpuRelax();
    }
    mu_.lock();
  }
  bool try_lock() { return mu_.try_lock(); }
  void unlock() { mu_.unlock(); }

 private:
  static constexpr int kTries = 64;
  std::mutex mu_;
};

}  // namespace rt
