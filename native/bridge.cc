#include "bridge.h"

#include <algorithm>
#include <chrono>

#include "clock.h"

namespace rt {

bool ReplySlot::Resolve(CallStatus status, Frame&& frame) {
  std::lock_guard<std::mutex> lock(mu_);
  if (state_.load(std::memory_order_relaxed) !=
      static_cast<uint32_t>(CallStatus::kPending))
    return false;
  reply_ = std::move(frame);
  resolved_ns_.store(MonotonicNs(), std::memory_order_relaxed);
  // Release: a spinner that sees the new state also sees reply_.
  state_.store(static_cast<uint32_t>(status), std::memory_order_release);
  cv_.notify_one();
  return true;
}

CallStatus ReplySlot::Wait(uint64_t spin_ns, uint64_t deadline_ns,
                           uint64_t slice_ns,
                           const std::function<bool()>& alive) {
  const uint32_t pending = static_cast<uint32_t>(CallStatus::kPending);
  if (spin_ns) {
    uint64_t until = MonotonicNs() + spin_ns;
    do {
      for (int i = 0; i < 16; ++i) CpuRelax();
      uint32_t s = state_.load(std::memory_order_acquire);
      if (s != pending) return static_cast<CallStatus>(s);
    } while (MonotonicNs() < until);
  }
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    uint32_t s = state_.load(std::memory_order_acquire);
    if (s != pending) return static_cast<CallStatus>(s);
    uint64_t now = MonotonicNs();
    uint64_t wait = slice_ns;
    if (deadline_ns) {
      if (now >= deadline_ns) {
        state_.store(static_cast<uint32_t>(CallStatus::kTimedOut),
                     std::memory_order_release);
        return CallStatus::kTimedOut;
      }
      wait = std::min(wait, deadline_ns - now);
    }
    cv_.wait_for(lock, std::chrono::nanoseconds(wait));
    if (state_.load(std::memory_order_acquire) != pending) continue;
    lock.unlock();
    bool ok = alive();
    lock.lock();
    if (!ok && state_.load(std::memory_order_acquire) == pending) {
      state_.store(static_cast<uint32_t>(CallStatus::kTerminating),
                   std::memory_order_release);
    }
  }
}

Frame ReplySlot::TakeReply() {
  std::lock_guard<std::mutex> lock(mu_);
  return std::move(reply_);
}

namespace {
constexpr double kMaxSpinNs = 50000;
constexpr double kProbeNs = 2000;
}  // namespace

uint64_t SpinBudget::Next() const {
  // Spin when replies usually come within the budget; else only a short
  // probe, which costs nothing measurable when the caller parks anyway.
  if (fast_rate_ < 0.25) return static_cast<uint64_t>(kProbeNs);
  return static_cast<uint64_t>(std::min(kMaxSpinNs, 2 * mean_reply_ns_ + kProbeNs));
}

void SpinBudget::Record(uint64_t reply_ns) {
  mean_reply_ns_ = 0.8 * mean_reply_ns_ + 0.2 * static_cast<double>(reply_ns);
  fast_rate_ = 0.9 * fast_rate_ + (reply_ns <= kMaxSpinNs ? 0.1 : 0.0);
}

}  // namespace rt
