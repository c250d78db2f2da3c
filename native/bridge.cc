#include "bridge.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "clock.h"
#include "reactor.h"
#include "registry.h"

namespace rt {

bool ReplySlot::Resolve(CallStatus status, Frame&& frame) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (state_.load(std::memory_order_relaxed) !=
        static_cast<uint32_t>(CallStatus::kPending))
      return false;
    reply_ = std::move(frame);
    resolved_ns_.store(MonotonicNs(), std::memory_order_relaxed);
    // Release: a spinner that sees the new state also sees reply_.
    state_.store(static_cast<uint32_t>(status), std::memory_order_release);
  }
  // Notified after unlocking, so the woken caller does not wake straight
  // into a held mutex and sleep again. The slot outlives this call: its
  // owner holds a shared_ptr until after Wait() returns, and so does ours.
  cv_.notify_one();
  return true;
}

void ReplySlot::Attend() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    attention_.store(true, std::memory_order_release);
  }
  cv_.notify_one();
}

CallStatus ReplySlot::Wait(uint64_t spin_ns, uint64_t deadline_ns,
                           uint64_t slice_ns,
                           const std::function<bool()>& alive, bool attend) {
  const uint32_t pending = static_cast<uint32_t>(CallStatus::kPending);
  auto attended = [&] {
    return attend && attention_.exchange(false, std::memory_order_acq_rel);
  };
  // (Attention is seen after the spin, and after the deadline: a steady
  // flow of posts must not postpone the timeout.)
  if (spin_ns) {
    uint32_t s = pending;
    if (SpinUntil(MonotonicNs() + spin_ns, [&] {
          s = state_.load(std::memory_order_acquire);
          return s != pending;
        }))
      return static_cast<CallStatus>(s);
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
    if (attended()) return CallStatus::kAttention;
    cv_.wait_for(lock, std::chrono::nanoseconds(wait));
    if (state_.load(std::memory_order_acquire) != pending) continue;
    if (attend && attention_.load(std::memory_order_relaxed)) continue;
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
// Exploring costs its calls the slower mode's round trip, so it stays well
// under 1% of the calls (0.4%, or 0.1% when one mode is twice as fast): at
// 3% (16 in 512) the explored calls were the p99 of back-to-back calls.
constexpr uint32_t kExploitRun = 2048;
constexpr uint32_t kLongExploitRun = 8192;  // when one mode is twice as fast
constexpr uint32_t kExploreRun = 8;
constexpr uint32_t kSettleCalls = 32;
constexpr double kMaxSampleOfMean = 4;
}  // namespace

int64_t FixedSpinNs() {
  static const int64_t fixed = [] {
    const char* v = std::getenv("REACTOR_THREADS_BRIDGE_SPIN_NS");
    return v ? std::atoll(v) : -1LL;
  }();
  return fixed;
}

bool SpinBudget::BestIsSpin() const {
  if (spin_rtt_ns_ == 0) return true;  // not measured yet: try it
  return spin_rtt_ns_ < 0.9 * park_rtt_ns_ && spin_rtt_ns_ < kMaxSpinNs;
}

uint64_t SpinBudget::Next() {
  if (FixedSpinNs() >= 0) return static_cast<uint64_t>(FixedSpinNs());
  if (left_ == 0) {
    exploring_ = !exploring_;
    spin_ = exploring_ ? !BestIsSpin() : BestIsSpin();
    bool clear = spin_rtt_ns_ > 0 && park_rtt_ns_ > 0 &&
                 (spin_rtt_ns_ > 2 * park_rtt_ns_ || park_rtt_ns_ > 2 * spin_rtt_ns_);
    run_ = left_ = exploring_ ? kExploreRun : clear ? kLongExploitRun : kExploitRun;
  }
  --left_;
  if (!spin_) return 0;
  // Long enough for a typical answer, never more than kMaxSpinNs.
  double budget = spin_rtt_ns_ == 0 ? 20000 : 2 * spin_rtt_ns_;
  return static_cast<uint64_t>(budget < kMaxSpinNs ? budget : kMaxSpinNs);
}

void SpinBudget::Record(uint64_t round_trip_ns) {
  if (FixedSpinNs() >= 0) return;
  // The first calls of a run settle the machine (half of a short run).
  if (run_ - left_ <= std::min(run_ / 2, kSettleCalls)) return;
  double& avg = spin_ ? spin_rtt_ns_ : park_rtt_ns_;
  double rtt = static_cast<double>(round_trip_ns);
  // A sample counts at most kMaxSampleOfMean times the mean: one call
  // preempted for a millisecond (a shared VM does that) must not switch
  // the mode below, while a lasting change moves the mean past the other
  // mode's in a few calls.
  avg = avg == 0 ? rtt : 0.9 * avg + 0.1 * std::min(rtt, kMaxSampleOfMean * avg);
  // The calls changed (back-to-back calls, then isolated ones): the mode
  // of this run is no longer the better one. A new run in the better mode
  // starts at the next call, not thousands of calls later.
  if (!exploring_ && spin_ != BestIsSpin()) {
    exploring_ = true;  // so that Next() starts an exploiting run
    left_ = 0;
  }
}

void AwaitRoom(uint32_t sender, Reactor& target,
               const std::function<bool()>& sender_alive) {
  Registry& registry = Registry::Get();
  if (!registry.BeginRoomWait(sender, target.id())) return;
  target.WaitForRoom(sender, 1000 * 1000, [&] {
    return registry.MayKeepWaitingForRoom(target.id()) && sender_alive();
  });
  registry.EndRoomWait(sender);
}

bool PostCall(uint32_t sender, uint32_t target_id, bool may_wait, Message&& call,
              const std::function<bool()>& sender_alive) {
  auto target = Registry::Get().FindReactor(target_id);
  if (!target) return false;
  if (may_wait && target_id != sender && target->Full(sender)) AwaitRoom(sender, *target, sender_alive);
  return target->Post(std::move(call));
}

}  // namespace rt
